"""A blocking connection to an agentd socket (daemon or session worker).

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
    def __init__(self, sock: socket.socket) -> None:
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

    def send(self, msg: Message) -> None:
        self.sock.sendall(codec.encode(msg))

    def send_input(self, data: bytes) -> None:
        self.send(Input(data))

    def recv(self) -> Message:
        """The next message; raises DaemonError when the peer closes."""
        while not self.inbox:
            try:
                data = self.sock.recv(262144)
            except TimeoutError:
                raise DaemonError("timed out waiting for agentd") from None
            if not data:
                raise DaemonError("connection closed by agentd")
            for msg in self.decoder.feed(data):
                if isinstance(msg, Invalid):
                    raise ProtocolError(f"bad frame from peer: {msg.reason}")
                self.inbox.append(msg)
        return self.inbox.popleft()

    def request(self, name: str, params: dict[str, Any] | None = None) -> Any:
        """Send a request and wait for its reply; pushes that arrive meanwhile are kept."""
        req_id = self.next_id
        self.next_id += 1
        self.send(Request(req_id, name, params or {}))
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

