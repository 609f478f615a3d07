"""Clients of a session worker: bounded output queues, back-pressure and resync.

Output is queued per client as whole frames. A client whose queue passes LIMIT bytes is
behind: its queued frames are dropped (except one already half-sent, so framing stays
intact) and, once its socket drains, it gets a fresh snapshot instead of the lost bytes.
A slow client therefore never stalls the agent or the other clients.
"""

from __future__ import annotations

import socket
from collections import deque

from agentd.protocol import codec
from agentd.protocol.messages import Message

LIMIT = 4 * 1024 * 1024

INTERACTIVE, READ_ONLY, CONTROL = "interactive", "read-only", "control"


class Client:
    __slots__ = ("sock", "decoder", "frames", "offset", "queued", "mode", "resync", "closing",
                 "fd", "want_write")

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
