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

from agentd.attention import ACTION
from agentd.errors import AgentdError, Conflict, DaemonError
from agentd.keys import key_bytes
from agentd.protocol.messages import Failure, Output, Push, Reply

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentd.client.api import AgentdClient
    from agentd.protocol.connection import Connection

DEFAULT_DETACH_KEY = "C-]"  # until every daemon names it in the attach_session reply

RESTORE = (b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l"
           b"\x1b[?1004l\x1b[?2004l\x1b[?1l\x1b>\x1b[?25h\x1b[m\x1b[?1049l")


def window_size(fd: int) -> tuple[int, int]:
    """The terminal's size, within what a session takes (1 to 1000 each way; a terminal
    may report 0x0 while it is being resized)."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return 80, 24
    return min(max(size.columns, 1), 1000), min(max(size.lines, 1), 1000)


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


def attach(api: AgentdClient, name: str, read_only: bool, force: bool) -> int:
    task, session = api.attach_info(name, read_only)
    if session.ended:
        raise Conflict(f"task {task.name} has ended ({task.status}, exit code "
                       f"{session.exit_code}); its output is in 'agent logs {task.name}'")
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    cols, rows = window_size(out_fd)
    try:
        conn = api.open_session(session)
    except OSError as e:
        raise DaemonError(f"cannot reach the session of {task.name} at {session.socket}: "
                          f"{e.strerror or e}; see 'agent logs {task.name}'") from None
    mode = "read-only" if read_only else "interactive"
    with conn:
        conn.request("attach", {"mode": mode, "force": force, "cols": cols, "rows": rows})
        terminal = AttachedTerminal(api, conn, task.name, in_fd, out_fd, read_only,
                                    key_bytes(session.detach_key or DEFAULT_DETACH_KEY))
        try:
            code = terminal.run()
        finally:
            terminal.close_events(session.id)
        return code


class AttachedTerminal:
    """The user's terminal bridged to a session worker's socket."""

    def __init__(self, api: AgentdClient, conn: Connection, name: str, in_fd: int,
                 out_fd: int, read_only: bool, detach_key: bytes) -> None:
        self.api = api
        self.conn = conn
        self.events: Connection | None = None
        self.events_tried = False
        self.reason = "detached"
        self.name = name
        self.in_fd, self.out_fd = in_fd, out_fd
        self.read_only = read_only
        self.detach_key = detach_key
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
        sock = self.conn.fileno()
        poller = select.poll()  # registered once: no fd lists rebuilt per keystroke
        for fd in (sock, self.winch_r, self.in_fd):
            poller.register(fd, select.POLLIN)
        while True:
            # Messages already decoded come first; consecutive output is written at once.
            while self.conn.pending():
                done = self.on_messages()
                if done is not None:
                    return done
            if not self.events_tried:
                self.open_events(poller)  # after the first paint: it must not delay it
            for fd, _ in poller.poll():
                if fd == sock:
                    if not self.conn.pump():
                        return Push("lost", {"reason": "the session worker closed the "
                                                       "connection"})
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
                        self.conn.send_request("resize", {"cols": cols, "rows": rows})
                elif (self.events is not None and fd == self.events.fileno()
                      and not self.on_events()):
                    poller.unregister(fd)

    def on_messages(self) -> Push | None:
        conn = self.conn
        if isinstance(conn.peek(), Output):
            chunks: list[bytes] = []
            while isinstance(conn.peek(), Output):
                out = conn.recv()
                assert isinstance(out, Output)
                chunks.append(out.data)
            write_all(self.out_fd, b"".join(chunks))
            return None
        return self.on_message(conn.recv())

    def open_events(self, poller: Any) -> None:
        """Tasks that need the user ring the bell here too, whichever task this is."""
        self.events_tried = True
        try:
            self.events = self.api.event_stream(attention=ACTION, from_now=True, start=False,
                                                timeout=10)
        except (OSError, AgentdError):
            self.events = None  # no daemon right now: attach goes on without the bell
            return
        poller.register(self.events.fileno(), select.POLLIN)

    def close_events(self, session: str) -> None:
        try:
            self.api.client_detached(self.name, session, self.reason, via=self.events)
        except (OSError, AgentdError):
            pass  # the daemon may be restarting; the session is what matters

    def on_events(self) -> bool:
        """A task needs the user: bell, plus OSC 9 and OSC 777 desktop notifications.
        False when the daemon went away (attach goes on without it)."""
        assert self.events is not None
        try:
            open_ = self.events.pump()
        except (OSError, AgentdError):
            open_ = False
        if not open_:
            self.events.close()
            self.events = None
            return False
        while self.events.pending():
            msg = self.events.recv()
            if isinstance(msg, Push) and msg.name == "event":
                text = f"{msg.data.get('task')}: {msg.data.get('summary')}"
                text = "".join(ch for ch in text if ch.isprintable())[:200]
                write_all(self.out_fd, f"\a\x1b]9;agentd: {text}\x07"
                                       f"\x1b]777;notify;agentd;{text}\x07".encode())
        return True

    def on_keys(self, data: bytes) -> bool:
        """Forward keystrokes; True when the detach key was pressed."""
        cut = data.find(self.detach_key)
        keys = data if cut < 0 else data[:cut]
        if keys and not self.read_only:
            self.conn.send_input(keys)
        if cut >= 0:
            self.conn.send_request("detach", {"reason": "detached by the user"})
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
