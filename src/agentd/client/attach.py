"""`agent attach`: the user's terminal, in raw mode, connected straight to the session
worker. The daemon is asked only where the session is; it is not in the byte path.

Two paths (docs/performance.md, "The direct path"):
- **direct** (an interactive attach from a local terminal): the client hands a freshly opened
  descriptor of its terminal to the worker with the `attach` request (SCM_RIGHTS), and the
  worker reads the keystrokes and writes the output itself. The client keeps the terminal's
  modes, SIGWINCH, the bell and the end of the attach.
- **relay** (read-only watchers, stdin or stdout not a terminal, `AGENTD_ATTACH=relay`): the
  client reads the keys and sends them as INPUT frames, and writes the OUTPUT frames.

On attach the worker sends a snapshot that repaints the session's current screen, then the
live output. Ctrl-] (config `detach_key`) detaches. On the way out, however the attach ends
(detach, the agent's exit, the worker's death, SIGTERM or SIGHUP), the terminal's modes are
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
import time
import tty
from collections.abc import Iterator

from agentd.attention import ACTION
from agentd.errors import AgentdError, Conflict, DaemonError, UsageError
from agentd.keys import key_bytes
from agentd.protocol.messages import Failure, Output, Push, Reply

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentd.client.api import AgentdClient
    from agentd.protocol.connection import Connection

DEFAULT_DETACH_KEY = "C-]"  # until every daemon names it in the attach_session reply

# CAN first: it ends an escape sequence the agent's output may have left cut short.
RESTORE = (b"\x18\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l"
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


def attach_path(read_only: bool, in_fd: int, out_fd: int) -> str:
    """"direct" or "relay": AGENTD_ATTACH (auto, direct, relay; default auto) and whether
    stdin and stdout are one local terminal."""
    want = os.environ.get("AGENTD_ATTACH", "auto") or "auto"
    if want not in ("auto", "direct", "relay"):
        raise UsageError(f"AGENTD_ATTACH must be auto, direct or relay, not {want!r}")
    if want == "relay" or read_only:
        return "relay"
    try:
        local = os.isatty(in_fd) and os.ttyname(in_fd) == os.ttyname(out_fd)
    except OSError:
        local = False
    if not local and want == "direct":
        raise UsageError("AGENTD_ATTACH=direct needs stdin and stdout on one terminal; "
                         "unset it to attach through the relay")
    return "direct" if local else "relay"


def open_own_tty(out_fd: int) -> int:
    """A new descriptor of our terminal, for the worker: flags it sets on it (O_NONBLOCK)
    live in a new open file description, never in the shell's."""
    return os.open(os.ttyname(out_fd), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)


def attach(api: AgentdClient, name: str, read_only: bool, force: bool) -> int:
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    path = attach_path(read_only, in_fd, out_fd)
    task, session = api.attach_info(name, read_only)
    if session.ended:
        raise Conflict(f"task {task.name} has ended ({task.status}, exit code "
                       f"{session.exit_code}); its output is in 'agent logs {task.name}'")
    cols, rows = window_size(out_fd)
    try:
        conn = api.open_session(session)
    except OSError as e:
        raise DaemonError(f"cannot reach the session of {task.name} at {session.socket}: "
                          f"{e.strerror or e}; see 'agent logs {task.name}'") from None
    mode = "read-only" if read_only else "interactive"
    key_name = session.detach_key or DEFAULT_DETACH_KEY
    params = {"mode": mode, "force": force, "cols": cols, "rows": rows}
    with conn:
        terminal = AttachedTerminal(api, conn, task.name, in_fd, out_fd, read_only,
                                    key_bytes(key_name))
        if path == "direct":
            params.update(tty=True, detach_key=key_name)
        try:
            code = terminal.run(params, path == "direct")
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
        self.direct = False  # the worker has our terminal: it reads keys and writes output
        self.ending: int = 0  # the signal that ends the attach, once one came
        self.sig_r, self.sig_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def run(self, params: dict[str, Any], direct: bool) -> int:
        """Attach with `params` (with the terminal handed over if `direct`), then bridge
        until the attach ends; the exit status."""
        sigs = (signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP)
        old = {s: signal.signal(s, self.on_signal) for s in sigs}
        attached = False
        try:
            # Raw before the worker may read the terminal: no line editing, no echo.
            with raw_terminal(self.in_fd):
                if direct:
                    tty = open_own_tty(self.out_fd)
                    try:
                        info = self.conn.request("attach", params, fds=[tty])
                    finally:
                        os.close(tty)  # the worker has its own now
                    # A worker from before the direct path ignores 'tty': relay then.
                    self.direct = bool(info.get("tty"))
                else:
                    self.conn.request("attach", params)
                attached = True
                outcome = self.loop()
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
            if attached:  # the worker no longer writes to the terminal: it is ours again
                write_all(self.out_fd, RESTORE)
        return self.report(outcome)

    def on_signal(self, signum: int, frame: Any) -> None:
        os.write(self.sig_w, bytes([signum]))

    def loop(self) -> Push | None:
        sock = self.conn.fileno()
        poller = select.poll()  # registered once: no fd lists rebuilt per keystroke
        for fd in (sock, self.sig_r) if self.direct else (sock, self.sig_r, self.in_fd):
            poller.register(fd, select.POLLIN)
        until = None
        while True:
            # Messages already decoded come first; consecutive output is written at once.
            while self.conn.pending():
                done = self.on_messages()
                if done is not None:
                    return done
            if not self.events_tried:
                self.open_events(poller)  # after the first paint: it must not delay it
            if until is None and self.ending:
                until = time.monotonic() + 2.0
            ready = poller.poll(None if until is None
                                else max(0, int((until - time.monotonic()) * 1000)))
            if until is not None and not ready and time.monotonic() >= until:
                return Push("detached", {"reason": "the worker did not answer in time"})
            for fd, _ in ready:
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
                elif fd == self.sig_r:
                    self.on_signals(os.read(self.sig_r, 64))
                elif (self.events is not None and fd == self.events.fileno()
                      and not self.on_events()):
                    poller.unregister(fd)

    def on_signals(self, sigs: bytes) -> None:
        try:
            self._on_signals(sigs)
        except OSError:
            pass  # the worker is gone: the loop sees its socket close and says so

    def _on_signals(self, sigs: bytes) -> None:
        if signal.SIGWINCH in sigs and not self.read_only:
            cols, rows = window_size(self.out_fd)
            self.conn.send_request("resize", {"cols": cols, "rows": rows})
        for s in (signal.SIGTERM, signal.SIGHUP):
            if s in sigs and not self.ending:
                # End the attach the way a detach does: the worker lets go of the terminal
                # and says so, then the terminal is restored.
                self.ending = s
                self.conn.send_request("detach", {"reason": f"the client got "
                                                            f"{signal.Signals(s).name}"})

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
                if self.direct:
                    # The worker writes to the terminal: it puts the bell where its output is
                    # between escape sequences (a write from here could land inside one).
                    try:
                        self.conn.send_request("notify", {"text": text})
                    except OSError:
                        pass  # the worker is gone: its last pushes say how the attach ends
                    continue
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
        elif isinstance(msg, Push) and msg.name == "sync":
            # The output before it (spilled by the worker while the terminal was behind) is
            # written: the worker may write to the terminal itself again.
            try:
                self.conn.send_request("synced", {"n": msg.data.get("n")})
            except OSError:
                pass  # the worker is gone (its session ended): what it sent says how
        elif isinstance(msg, Failure):
            raise AgentdError(msg.message)
        elif not isinstance(msg, Push | Reply):
            raise AgentdError(f"unexpected message from the session: {msg!r}")
        return None

    def report(self, outcome: Push | None) -> int:
        if outcome is not None:
            self.reason = str(outcome.data.get("reason", outcome.name))
        if self.ending and (outcome is None or outcome.name != "exited"):
            sys.stderr.write(f"\r\n[{self.name}: {self.reason}]\r\n")
            return 128 + self.ending
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
