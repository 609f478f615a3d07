"""Clients of a session worker: who is connected, the one interactive seat, and the fan-out
of output with bounded queues, back-pressure and resync.

Output is queued per client as whole frames. A client whose queue passes LIMIT bytes is
behind: its queued frames are dropped (except one already half-sent, so framing stays
intact) and, once its socket drains, it gets a fresh snapshot instead of the lost bytes.
A slow client therefore never stalls the agent or the other clients.

A direct attacher (docs/protocol.md §8) hands the worker its terminal: the worker writes the
output to that descriptor itself (`Tty`), inline while the terminal keeps up and through a
writer thread (worker/ttywriter.py) while it does not, and reads the keystrokes from it; the
socket stays the control channel. Where the terminal cannot be opened again for the thread,
output that the terminal does not take at once is spilled over the socket instead.
"""

from __future__ import annotations

import os
import selectors
import socket
import time
from collections import deque
from collections.abc import Callable

from agentd.protocol import codec
from agentd.protocol.messages import Message, Output, Push
from agentd.unix import same_user
from agentd.worker.ttywriter import TtyWriter, interruptible, reopen

LIMIT = 4 * 1024 * 1024
NOTE_WAIT = 1.0  # a notification waits at most this long for the output to be between sequences

INTERACTIVE, READ_ONLY, CONTROL = "interactive", "read-only", "control"


class Client:
    __slots__ = ("sock", "decoder", "frames", "offset", "queued", "mode", "resync", "closing",
                 "fd", "want_write", "tty", "fds", "paused")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.decoder = codec.Decoder()
        self.frames: deque[bytes] = deque()
        self.offset = 0  # bytes of frames[0] already sent
        self.queued = 0
        self.mode = CONTROL
        self.resync = False
        self.closing = False  # close once the queue is flushed
        self.want_write = False  # registered for EVENT_WRITE
        self.tty: Tty | None = None  # a direct attacher's terminal
        self.fds: list[int] = []  # descriptors received (SCM_RIGHTS), not yet used
        self.paused = False  # not read from until the agent takes the input held for it

    @property
    def attached(self) -> bool:
        return self.mode != CONTROL

    def send(self, msg: Message) -> None:
        self.queue(codec.encode(msg))

    def queue(self, frame: bytes) -> None:
        if self.resync and frame[0] != codec.JSON:
            return  # output is replaced by the snapshot; replies and pushes still go
        self.frames.append(frame)
        self.queued += len(frame)
        if self.queued - self.offset > LIMIT:
            self._fall_behind()

    def _fall_behind(self) -> None:
        """Drop queued output; keep a frame already half-sent, and replies and pushes."""
        head = self.frames[0] if self.offset else None
        kept = [f for i, f in enumerate(self.frames)
                if (i == 0 and head is not None) or f[0] == codec.JSON]
        self.frames = deque(kept)
        self.queued = sum(len(f) for f in kept)
        if head is None:
            self.offset = 0
        self.resync = True

    def flush(self) -> bool:
        """Send what the socket takes now. True when the queue is empty."""
        while self.frames:
            if len(self.frames) > 1 and len(self.frames[0]) < 65536:
                # Coalesce small frames into one send.
                head = b"".join(self.frames)
                self.frames.clear()
                self.frames.append(head)
            head = self.frames[0]
            try:
                n = self.sock.send(memoryview(head)[self.offset:])
            except (BlockingIOError, InterruptedError):
                return False
            self.offset += n
            if self.offset < len(head):
                return False
            self.frames.popleft()
            self.queued -= len(head)
            self.offset = 0
        return True

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()
        try:
            self.sock.close()
        except OSError:
            pass


def ends_clean(data: bytes) -> bool:
    """Whether a terminal that was sent `data` is between escape sequences and characters, so
    that bytes written now cannot land inside one. Looks at the last escape sequence and the
    last UTF-8 character only (a string sequence longer than the tail is not seen)."""
    tail = data[-512:]
    i = tail.rfind(b"\x1b")
    if i >= 0:
        seq = tail[i + 1:]
        if not seq:
            return False
        kind = seq[0]
        if kind == 0x5B:  # CSI: parameters and intermediates, then a final byte
            if not any(0x40 <= b <= 0x7E for b in seq[1:]):
                return False
        elif kind in (0x5D, 0x50, 0x58, 0x5E, 0x5F):  # OSC, DCS, SOS, PM, APC: a string
            if 0x07 not in seq:
                return False  # no BEL yet (an ESC \\ ending it would be the last ESC)
        elif 0x20 <= kind <= 0x2F and not any(0x30 <= b <= 0x7E for b in seq[1:]):
            return False  # ESC ( B and the like: intermediates, then a final byte
    last = tail[-4:]
    for back in range(1, len(last) + 1):  # an unfinished UTF-8 character
        b = last[-back]
        if b < 0x80:
            return True
        if b >= 0xC0:
            need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            return back >= need
    return True


class Tty:
    """A direct attacher's terminal, written by the worker. Output is written straight to it
    while it takes it. When a write is cut short (the terminal is slower than the agent),
    the rest and what follows go to a writer thread (`TtyWriter`) until it has caught up:
    blocking writes there, while the loop goes on reading the agent. Its queue is bounded
    like a socket's: past LIMIT it is replaced by a repaint.

    Without a writer (the terminal could not be opened again), the output is *spilled*
    instead: it goes on as OUTPUT frames over the client's socket, with that socket's
    bounded queue and resync, and the client writes it. A `sync` push marks the end of what
    was spilled; once the client has written everything before it (`synced`) and nothing
    was spilled since, the worker writes to the terminal again. Notifications (`note`) are
    written only where the output is between escape sequences."""

    __slots__ = ("fd", "client", "detach_key", "last", "prev", "notes", "note_since",
                 "spilled", "marker", "marks", "since_mark", "on_due", "writer", "threadless")

    def __init__(self, fd: int, client: Client, detach_key: bytes,
                 on_due: Callable[[Tty], None] | None = None) -> None:
        self.fd = fd
        self.on_due = on_due  # a notification has waited long enough
        self.client = client
        self.detach_key = detach_key
        self.last = b""  # the latest output (its tail says if a note may follow)
        self.prev = b""  # and the one before it, for a sequence begun there
        self.notes: list[bytes] = []
        self.note_since = 0.0
        self.spilled = False  # output goes over the socket until the client has caught up
        self.marker = 0  # the `sync` push the client has not answered yet, or 0
        self.marks = 0
        self.since_mark = False  # output spilled after the outstanding marker
        self.writer: TtyWriter | None = None  # started the first time the terminal is behind
        self.threadless = False  # no writer: spill instead

    def seen(self, data: bytes) -> None:
        if self.notes:  # waiting for the end of a sequence: keep its beginning in view
            self.last = self.last[-512:] + data
        else:
            self.prev, self.last = self.last, data

    def write(self, data: bytes) -> int:
        """Write what the terminal takes now; how much it took (OSError: it is gone)."""
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            return 0

    def clean(self) -> bool:
        if len(self.last) < 512:
            self.last = self.prev[-512:] + self.last
        return ends_clean(self.last)

    def deadline(self) -> float | None:
        return self.note_since + NOTE_WAIT if self.notes else None

    def fire(self, now: float) -> None:
        if self.notes and self.on_due is not None:
            self.on_due(self)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.stop()  # first: nothing it holds reaches the terminal after this
        try:
            os.close(self.fd)
        except OSError:
            pass
        self.fd = -1


class Clients:
    """Everyone connected to the session's socket, registered on the worker's selector with
    their `Client` as the key's data."""

    def __init__(self, sel: selectors.BaseSelector, snapshot: Callable[[], bytes],
                 arm: Callable[[Tty], None] | None = None) -> None:
        self.sel = sel
        self.snapshot = snapshot  # bytes that repaint the screen, for a client resynced
        self.arm = arm  # a terminal holding a notification wants its deadline kept
        self.by_fd: dict[int, Client] = {}
        self.interactive: Client | None = None
        self.threaded = True  # a terminal that is behind gets a writer thread (else: spill)
        interruptible()

    @property
    def watchers(self) -> int:
        return sum(1 for c in self.by_fd.values() if c.mode == READ_ONLY)

    def accept(self, server: socket.socket) -> None:
        try:
            sock, _ = server.accept()
        except BlockingIOError:
            return
        if not same_user(sock):
            sock.close()
            return
        sock.setblocking(False)
        c = Client(sock)
        self.by_fd[c.fd] = c
        self.sel.register(sock, selectors.EVENT_READ, c)

    def attach(self, c: Client, mode: str, tty: int = -1, detach_key: bytes = b"") -> None:
        """Make `c` an attached client; the interactive seat is the caller's to check. With
        `tty` (a descriptor of the client's terminal, non-blocking), the worker writes
        output to that terminal and reads its keys."""
        if self.interactive is c and mode != INTERACTIVE:
            self.interactive = None
        self.drop_tty(c)
        c.mode = mode
        if mode == INTERACTIVE:
            self.interactive = c
        if tty >= 0:
            c.tty = Tty(tty, c, detach_key, self.fire_notes)
            self.sel.register(tty, selectors.EVENT_READ, c.tty)

    def write_tty(self, c: Client, data: bytes) -> None:
        """Output for one direct attacher's terminal: straight to it, or spilled over its
        socket while the terminal is behind."""
        t = c.tty
        if t is None:
            return
        t.seen(data)
        self.to_terminal(c, t, data)
        if t.notes and c.tty is t:
            self.write_notes(c, t)

    def to_terminal(self, c: Client, t: Tty, data: bytes) -> None:
        """`data` after all output before it: inline while the terminal takes it, else
        queued for the writer thread (or spilled)."""
        w = t.writer
        if w is not None and w.failed:
            self.drop_tty(c)
            return
        if t.spilled:
            self.spill(c, t, data)
            return
        if w is not None and w.busy:
            self.queue_tty(c, w, data)
            return
        try:
            n = t.write(data)
        except OSError:
            self.drop_tty(c)
            return
        if n < len(data):
            w = w or self.start_writer(t)
            if w is None:
                t.spilled = True
                self.spill(c, t, data[n:])
            else:
                self.queue_tty(c, w, data[n:])

    def start_writer(self, t: Tty) -> TtyWriter | None:
        if t.threadless or not self.threaded:
            return None
        fd = reopen(t.fd)
        if fd < 0:
            t.threadless = True
            return None
        t.writer = TtyWriter(fd)
        return t.writer

    def queue_tty(self, c: Client, w: TtyWriter, data: bytes) -> None:
        """Queue for the writer; past LIMIT, a repaint replaces what it has not written
        (the screen has all output before `data`: it is fed after the clients get it)."""
        if w.queued + len(data) > LIMIT:
            w.replace(b"\x18" + self.snapshot())  # CAN: end a sequence cut short
            self.send(c, Push("resync", {"reason": "terminal fell behind"}))
        w.put(data)

    def spill(self, c: Client, t: Tty, data: bytes) -> None:
        t.since_mark = True
        self.push(c, codec.encode(Output(data)))
        self.mark(c, t)

    def mark(self, c: Client, t: Tty) -> None:
        """Once all that was spilled is on its way, ask the client to say when it has
        written it (one `sync` outstanding at a time)."""
        if t.spilled and not t.marker and not c.frames and not c.resync:
            t.marks += 1
            t.marker = t.marks
            t.since_mark = False
            self.send(c, Push("sync", {"n": t.marker}))

    def synced(self, c: Client, n: int) -> None:
        """The client has written everything before `sync` n."""
        t = c.tty
        if t is None or n != t.marker:
            return
        t.marker = 0
        if t.since_mark:
            self.mark(c, t)
        else:
            t.spilled = False  # caught up: the worker writes to the terminal again
            if t.notes:
                self.write_notes(c, t)

    def write_notes(self, c: Client, t: Tty, anyway: bool = False) -> None:
        if not (anyway or (not t.spilled and t.clean())):
            return
        notes, t.notes = b"".join(t.notes), []
        self.to_terminal(c, t, notes)

    def drop_tty(self, c: Client) -> None:
        """Let go of a direct attacher's terminal: nothing more is written to it."""
        t = c.tty
        if t is None:
            return
        c.tty = None
        try:
            self.sel.unregister(t.fd)
        except (KeyError, ValueError):
            pass
        t.close()

    def note(self, c: Client, data: bytes) -> bool:
        """A notification for a direct attacher's terminal; False if `c` has none."""
        t = c.tty
        if t is None:
            return False
        if not t.notes:
            t.note_since = time.monotonic()
        t.notes.append(data)
        self.write_notes(c, t)
        if t.notes and self.arm is not None:
            self.arm(t)
        return True

    def fire_notes(self, t: Tty) -> None:
        """A notification has waited NOTE_WAIT for the output to end a sequence: now."""
        c = t.client
        if c.tty is t and t.notes:
            self.write_notes(c, t, anyway=True)

    def detach(self, c: Client, reason: str) -> None:
        self.drop_tty(c)  # first: the client restores its terminal when it gets the push
        c.send(Push("detached", {"reason": reason}))
        c.mode = CONTROL
        c.closing = True
        if self.interactive is c:
            self.interactive = None
        self.flush(c)

    def broadcast(self, data: bytes) -> None:
        """Output to every attached client: straight to a direct attacher's terminal, as an
        OUTPUT frame to the others."""
        frame = None
        for c in list(self.by_fd.values()):
            if c.tty is not None:
                self.write_tty(c, data)
            elif c.attached:
                if frame is None:
                    frame = codec.encode(Output(data))
                self.push(c, frame)

    def send(self, c: Client, msg: Message) -> None:
        self.push(c, codec.encode(msg))

    def push(self, c: Client, frame: bytes) -> None:
        if c.resync and frame[0] != codec.JSON:
            return  # it gets a snapshot once its socket drains
        was_idle = not c.frames
        c.queue(frame)
        if c.resync:
            self._want_write(c, True)
        elif was_idle:
            self.flush(c)

    def flush(self, c: Client, writable: bool = False) -> None:
        try:
            empty = c.flush()
        except OSError:
            self.drop(c)
            return
        if empty and c.resync and writable:
            # The client has drained: a fresh snapshot replaces the output it missed.
            c.resync = False
            c.send(Push("resync", {"reason": "client fell behind"}))
            c.send(Output(b"\x18" + self.snapshot()))  # CAN: end a sequence cut short
            empty = c.flush()
        if empty and c.closing:
            self.drop(c)
            return
        if empty and c.tty is not None and c.tty.spilled:
            self.mark(c, c.tty)
            empty = not c.frames
        self._want_write(c, not empty or c.resync)

    def _want_write(self, c: Client, on: bool) -> None:
        if c.want_write != on:  # an epoll_ctl only when interest changes
            c.want_write = on
            self._register(c)

    def pause(self, c: Client, on: bool) -> None:
        """Stop (or go back to) reading `c`: back-pressure for input the agent does not
        read (a client watched for nothing is unregistered meanwhile)."""
        if c.paused != on and c.fd in self.by_fd:
            c.paused = on
            self._register(c)

    @property
    def paused(self) -> list[Client]:
        return [c for c in self.by_fd.values() if c.paused]

    def _register(self, c: Client) -> None:
        events = (0 if c.paused else selectors.EVENT_READ) | (
            selectors.EVENT_WRITE if c.want_write else 0)
        try:
            registered = self.sel.get_key(c.sock) is not None
        except KeyError:
            registered = False
        if events and registered:
            self.sel.modify(c.sock, events, c)
        elif events:
            self.sel.register(c.sock, events, c)
        elif registered:
            self.sel.unregister(c.sock)

    def drop(self, c: Client) -> None:
        if self.by_fd.pop(c.fd, None) is None:
            return
        if self.interactive is c:
            self.interactive = None
        self.drop_tty(c)
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.close()

    def end(self, msg: Message, within: float) -> None:
        """The session is over: `msg` to the attached clients, then up to `within` seconds
        for what is queued to drain (a direct attacher's terminal is let go of before the
        push, so the client restores its terminal after the last output)."""
        deadline = time.monotonic() + within
        for c in list(self.by_fd.values()):
            w = c.tty.writer if c.tty is not None else None
            if w is not None and w.busy:  # the last output, before the terminal is let go
                w.idle(max(0.0, deadline - time.monotonic()))
            self.drop_tty(c)  # output spilled over the socket, if any, is in its queue
            if c.attached:
                c.send(msg)
                c.closing = True
        pending = [c for c in self.by_fd.values() if c.frames]
        while pending and time.monotonic() < deadline:
            for c in pending:
                c.sock.setblocking(True)
                c.sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    c.flush()
                except OSError:
                    c.frames.clear()
            pending = [c for c in pending if c.frames]
