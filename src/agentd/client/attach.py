"""`agent attach`: the user's terminal, in raw mode, connected straight to the session
worker's socket. The daemon is asked only where the session is; it is not in the byte path.

On attach the worker sends a snapshot that repaints the session's current screen, then the
live output. Ctrl-] (config `detach_key`) detaches. On the way out the terminal's modes are
put back: mouse reporting, bracketed paste, focus events, keypad and cursor-key modes off,
cursor visible, main screen, colours reset.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import termios
import tty
from collections.abc import Iterator

from agentd.client import daemonctl
from agentd.errors import AgentdError, Conflict, DaemonError
from agentd.protocol.connection import Connection
from agentd.protocol.messages import Failure, Output, Push, Reply, Request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RESTORE = (b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l"
           b"\x1b[?1004l\x1b[?2004l\x1b[?1l\x1b>\x1b[?25h\x1b[m\x1b[?1049l")


def detach_byte() -> bytes:
    """The detach key from config (default C-]). Read here, off the `agent ls` path."""
    from agentd.keys import key_bytes

    path = os.path.join(os.path.dirname(daemonctl.socket_path()), "config.toml")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        text = ""
    if "detach_key" not in text:  # the usual case: no TOML parser to import (≈ 6 ms)
        return key_bytes("C-]")
    import tomllib

    try:
        name = tomllib.loads(text).get("detach_key", "C-]")
    except tomllib.TOMLDecodeError:
        name = "C-]"
    return key_bytes(str(name))


def window_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
        return size.columns, size.lines
    except OSError:
        return 80, 24


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, saved)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[n:]


def locate(name: str) -> dict[str, Any]:
    with daemonctl.connect() as conn:
        info: dict[str, Any] = conn.request("attach_session", {"name": name})
    return info


def attach(name: str, read_only: bool, force: bool) -> int:
    info = locate(name)
    if info["session_ended"]:
        raise Conflict(f"task {info['name']} has ended ({info['status']}, exit code "
                       f"{info['session_exit_code']}); its output is in "
                       f"'agent logs {info['name']}'")
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    cols, rows = window_size(out_fd)
    try:
        conn = Connection.open(info["socket"])
    except OSError as e:
        raise DaemonError(f"cannot reach the session of {info['name']} at {info['socket']}: "
                          f"{e.strerror or e}; see 'agent logs {info['name']}'") from None
    mode = "read-only" if read_only else "interactive"
    with conn:
        conn.request("attach", {"mode": mode, "force": force, "cols": cols, "rows": rows})
        session = Session(conn, info["name"], in_fd, out_fd, read_only)
        try:
            code = session.run()
        finally:
            session.close_events(info["session"])
        return code


class Session:
    def __init__(self, conn: Connection, name: str, in_fd: int, out_fd: int,
                 read_only: bool) -> None:
        self.conn = conn
        self.events: Connection | None = None
        self.events_tried = False
        self.reason = "detached"
        self.name = name
        self.in_fd, self.out_fd = in_fd, out_fd
        self.read_only = read_only
        self.detach_key = detach_byte()
        self.winch_r, self.winch_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def run(self) -> int:
        old = signal.signal(signal.SIGWINCH, lambda *_: os.write(self.winch_w, b"w"))
        try:
            with raw_terminal(self.in_fd):
                outcome = self.loop()
        finally:
            signal.signal(signal.SIGWINCH, old)
            write_all(self.out_fd, RESTORE)
        return self.report(outcome)

    def loop(self) -> Push | None:
        sock = self.conn.sock.fileno()
        poller = select.poll()  # registered once: no fd lists rebuilt per keystroke
        for fd in (sock, self.winch_r, self.in_fd):
            poller.register(fd, select.POLLIN)
        while True:
            # Messages already decoded come first; consecutive output is written at once.
            while self.conn.inbox:
                done = self.on_messages()
                if done is not None:
                    return done
            if not self.events_tried:
                self.open_events(poller)  # after the first paint: it must not delay it
            for fd, _ in poller.poll():
                if fd == sock:
                    data = self.conn.sock.recv(262144)
                    if not data:
                        return Push("lost", {"reason": "the session worker closed the "
                                                       "connection"})
                    self.conn.inbox.extend(self.conn.decoder.feed(data))  # type: ignore[arg-type]
                elif fd == self.in_fd:
                    data = os.read(self.in_fd, 4096)
                    if not data:
                        poller.unregister(self.in_fd)
                    elif self.on_keys(data):
                        return None
                elif fd == self.winch_r:
                    os.read(self.winch_r, 64)
                    if not self.read_only:
                        cols, rows = window_size(self.out_fd)
                        self.send_request("resize", {"cols": cols, "rows": rows})
                elif (self.events is not None and fd == self.events.sock.fileno()
                      and not self.on_events()):
                    poller.unregister(fd)

    def on_messages(self) -> Push | None:
        inbox = self.conn.inbox
        if isinstance(inbox[0], Output):
            chunks: list[bytes] = []
            while inbox and isinstance(inbox[0], Output):
                out = inbox.popleft()
                assert isinstance(out, Output)
                chunks.append(out.data)
            write_all(self.out_fd, b"".join(chunks))
            return None
        return self.on_message(inbox.popleft())

    def open_events(self, poller: Any) -> None:
        """Tasks that need the user ring the bell here too, whichever task this is."""
        self.events_tried = True
        try:
            self.events = daemonctl.connect(start=False, timeout=10)
            self.events.request("stream_events", {"follow": True, "attention": "action",
                                                  "from_now": True})
        except (OSError, AgentdError):
            self.events = None  # no daemon right now: attach goes on without the bell
            return
        poller.register(self.events.sock.fileno(), select.POLLIN)

    def close_events(self, session: str) -> None:
        try:
            conn = self.events or daemonctl.connect(start=False, timeout=5)
            with conn:
                conn.request("client_detached", {"name": self.name, "session": session,
                                                 "reason": self.reason})
        except (OSError, AgentdError):
            pass  # the daemon may be restarting; the session is what matters

    def on_events(self) -> bool:
        """A task needs the user: bell, plus OSC 9 and OSC 777 desktop notifications.
        False when the daemon went away (attach goes on without it)."""
        assert self.events is not None
        try:
            data = self.events.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.events.close()
            self.events = None
            return False
        for msg in self.events.decoder.feed(data):
            if isinstance(msg, Push) and msg.name == "event":
                text = f"{msg.data.get('task')}: {msg.data.get('summary')}"
                text = "".join(ch for ch in text if ch.isprintable())[:200]
                write_all(self.out_fd, f"\a\x1b]9;agentd: {text}\x07"
                                       f"\x1b]777;notify;agentd;{text}\x07".encode())
        return True

    def send_request(self, name: str, params: dict[str, Any]) -> None:
        self.conn.send(Request(self.conn.next_id, name, params))
        self.conn.next_id += 1

    def on_keys(self, data: bytes) -> bool:
        """Forward keystrokes; True when the detach key was pressed."""
        cut = data.find(self.detach_key)
        keys = data if cut < 0 else data[:cut]
        if keys and not self.read_only:
            self.conn.send_input(keys)
        if cut >= 0:
            self.send_request("detach", {"reason": "detached by the user"})
            return True
        return False

    def on_message(self, msg: Any) -> Push | None:
        if isinstance(msg, Output):
            write_all(self.out_fd, msg.data)
        elif isinstance(msg, Push) and msg.name in ("exited", "detached"):
            return msg
        elif isinstance(msg, Failure):
            raise AgentdError(msg.message)
        elif not isinstance(msg, Push | Reply):
            raise AgentdError(f"unexpected message from the session: {msg!r}")
        return None

    def report(self, outcome: Push | None) -> int:
        if outcome is not None:
            self.reason = str(outcome.data.get("reason", outcome.name))
        if outcome is None or outcome.name == "detached":
            reason = outcome.data.get("reason", "detached") if outcome else "detached"
            sys.stderr.write(f"\r\n[{reason}: {self.name}]\r\n")
            return 0
        if outcome.name == "exited":
            code = int(outcome.data.get("exit_code") or 0)
            sys.stderr.write(f"\r\n[{self.name} {outcome.data.get('reason', 'exited')}]\r\n")
            return code
        sys.stderr.write(f"\r\n[{self.name}: {outcome.data.get('reason')}]\r\n")
        return 1
