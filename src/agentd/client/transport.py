"""How the client reaches agentd: a transport turns an address into a `Connection`.

`UnixTransport` dials the daemon's socket, and a session worker's socket on the same host.
The rest of the client only sees `Connection`s, so a transport over another byte stream (an
SSH channel, later) can stand in for this one.
"""

from __future__ import annotations

import socket

from agentd.protocol.connection import Connection

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.protocol.views import SessionView


class UnixTransport:
    """The daemon at the Unix socket `path`; sessions at the socket paths it names."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"UnixTransport({self.path!r})"

    def connect(self, timeout: float | None = 60) -> Connection:
        """A connection to the daemon; raises OSError when there is none to reach."""
        return self._dial(self.path, timeout)

    def connect_session(self, session: SessionView, timeout: float | None = None) -> Connection:
        """A connection to the session's worker (attach, detach); raises OSError."""
        return self._dial(session.socket, timeout)

    @staticmethod
    def _dial(path: str, timeout: float | None) -> Connection:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return Connection(sock)
