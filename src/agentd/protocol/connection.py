"""A blocking connection to an agentd socket (daemon or session worker), over any connected
stream socket (a Unix socket now; anything with `recv`, `sendall`, `fileno` and `close`).

`request()` waits for a reply and keeps the pushes that arrive meanwhile. A caller with its
own poll loop (attach) uses `fileno()`, `pump()` when the socket is readable, `pending()`,
`peek()` and `recv()` for what was decoded, and `send_request()` to ask without waiting.

Import-light on purpose: `agent ls` pays for every module imported here.
"""

from __future__ import annotations

import socket
from collections import deque

from agentd.errors import DaemonError, ProtocolError, from_wire
from agentd.protocol import codec
from agentd.protocol.messages import Failure, Input, Invalid, Message, Reply, Request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType
    from typing import Any


class Connection:
    def __init__(self, sock: Any) -> None:
        """Over `sock`, already connected."""
        self.sock = sock
        self.decoder = codec.Decoder()
        self.inbox: deque[Message] = deque()
        self.next_id = 1

    @classmethod
    def open(cls, path: str | Path, timeout: float | None = None) -> Connection:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except OSError:
            sock.close()
            raise
        return cls(sock)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def fileno(self) -> int:
        return int(self.sock.fileno())

    def send(self, msg: Message) -> None:
        self.sock.sendall(codec.encode(msg))

    def send_input(self, data: bytes) -> None:
        self.send(Input(data))

    def next_request_id(self) -> int:
        req_id = self.next_id
        self.next_id += 1
        return req_id

    def send_request(self, name: str, params: dict[str, Any] | None = None,
                     fds: list[int] | None = None) -> int:
        """Send a request without waiting for its reply; its id. `fds` go with it
        (SCM_RIGHTS, Unix sockets only): the worker's `attach` with `tty` takes one."""
        req_id = self.next_request_id()
        if fds:
            frame = codec.encode(Request(req_id, name, params or {}))
            sent = socket.send_fds(self.sock, [frame], fds)
            if sent < len(frame):
                self.sock.sendall(frame[sent:])
        else:
            self.send(Request(req_id, name, params or {}))
        return req_id

    def pump(self) -> bool:
        """Read what the socket has (one `recv`: call it when poll says readable) and decode
        it into the inbox. False when the peer has closed the connection."""
        try:
            data = self.sock.recv(262144)
        except TimeoutError:
            raise DaemonError("timed out waiting for agentd") from None
        if not data:
            return False
        for msg in self.decoder.feed(data):
            if isinstance(msg, Invalid):
                raise ProtocolError(f"bad frame from peer: {msg.reason}")
            self.inbox.append(msg)
        return True

    def pending(self) -> int:
        """How many decoded messages wait in the inbox (`recv` returns them without I/O)."""
        return len(self.inbox)

    def peek(self) -> Message | None:
        """The next decoded message, left in the inbox; None when there is none."""
        return self.inbox[0] if self.inbox else None

    def recv(self) -> Message:
        """The next message; raises DaemonError when the peer closes."""
        while not self.inbox:
            if not self.pump():
                raise DaemonError("connection closed by agentd")
        return self.inbox.popleft()

    def request(self, name: str, params: dict[str, Any] | None = None,
                fds: list[int] | None = None) -> Any:
        """Send a request and wait for its reply; pushes that arrive meanwhile are kept."""
        req_id = self.send_request(name, params, fds)
        held: list[Message] = []
        try:
            while True:
                msg = self.recv()
                if isinstance(msg, Reply) and msg.id == req_id:
                    return msg.result
                if isinstance(msg, Failure) and msg.id in (req_id, None):
                    raise from_wire(msg.code, msg.message)
                held.append(msg)
        finally:
            self.inbox.extendleft(reversed(held))

