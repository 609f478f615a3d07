"""Clients of a session worker: who is connected, the one interactive seat, and the fan-out
of output with bounded queues, back-pressure and resync.

Output is queued per client as whole frames. A client whose queue passes LIMIT bytes is
behind: its queued frames are dropped (except one already half-sent, so framing stays
intact) and, once its socket drains, it gets a fresh snapshot instead of the lost bytes.
A slow client therefore never stalls the agent or the other clients.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import deque
from collections.abc import Callable

from agentd.protocol import codec
from agentd.protocol.messages import Message, Output, Push
from agentd.unix import same_user

LIMIT = 4 * 1024 * 1024

INTERACTIVE, READ_ONLY, CONTROL = "interactive", "read-only", "control"


class Client:
    __slots__ = ("sock", "decoder", "frames", "offset", "queued", "mode", "resync", "closing",
                 "fd", "want_write", "paused")

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
        try:
            self.sock.close()
        except OSError:
            pass


class Clients:
    """Everyone connected to the session's socket, registered on the worker's selector with
    their `Client` as the key's data."""

    def __init__(self, sel: selectors.BaseSelector, snapshot: Callable[[], bytes]) -> None:
        self.sel = sel
        self.snapshot = snapshot  # bytes that repaint the screen, for a client resynced
        self.by_fd: dict[int, Client] = {}
        self.interactive: Client | None = None

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

    def attach(self, c: Client, mode: str) -> None:
        """Make `c` an attached client; the interactive seat is the caller's to check."""
        if self.interactive is c and mode != INTERACTIVE:
            self.interactive = None
        c.mode = mode
        if mode == INTERACTIVE:
            self.interactive = c

    def detach(self, c: Client, reason: str) -> None:
        c.send(Push("detached", {"reason": reason}))
        c.mode = CONTROL
        c.closing = True
        if self.interactive is c:
            self.interactive = None
        self.flush(c)

    def broadcast(self, frame: bytes) -> None:
        """An output frame to every attached client."""
        for c in list(self.by_fd.values()):
            if c.attached:
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
            c.send(Output(self.snapshot()))
            empty = c.flush()
        if empty and c.closing:
            self.drop(c)
            return
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
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.close()

    def end(self, msg: Message, within: float) -> None:
        """The session is over: `msg` to the attached clients, then up to `within` seconds
        for what is queued to drain."""
        for c in list(self.by_fd.values()):
            if c.attached:
                c.send(msg)
                c.closing = True
        deadline = time.monotonic() + within
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
