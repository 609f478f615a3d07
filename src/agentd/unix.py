"""Unix plumbing shared by the daemon and the session workers: a private listening socket,
the peer's uid, and detaching into the background behind a ready pipe."""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable


def bind_private(path: str | os.PathLike[str], backlog: int) -> socket.socket:
    """A listening Unix socket at `path` that only this user can connect to (0600, bound
    under a umask so it is never reachable by others, not even for a moment)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(os.fspath(path))
    except BaseException:
        sock.close()
        raise
    finally:
        os.umask(old)
    sock.listen(backlog)
    return sock


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def same_user(sock: socket.socket) -> bool:
    return peer_uid(sock) == os.getuid()


class ReadyPipe:
    """The child's end of `daemonize`: say `ready` (or why not) exactly once."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, text: str) -> None:
        if self.fd < 0:
            return
        try:
            os.write(self.fd, text.encode())
        finally:
            os.close(self.fd)
            self.fd = -1


def daemonize(parent: Callable[[str], int]) -> ReadyPipe | int:
    """Fork. In the parent, wait for the child's ready message and return
    `parent(message)` (an exit status); in the child (now a session leader), return the
    pipe it must answer on. A child that dies before answering reads as ''."""
    r, w = os.pipe()
    if os.fork() > 0:
        os.close(w)
        chunks = []
        while chunk := os.read(r, 4096):
            chunks.append(chunk)
        os.close(r)
        return parent(b"".join(chunks).decode(errors="replace"))
    os.close(r)
    os.setsid()
    return ReadyPipe(w)


def detach_stdio(stderr_path: str | os.PathLike[str] | None = None) -> None:
    """Standard input and output to /dev/null; standard error to a log file, if given."""
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    if stderr_path is not None:
        err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(err, 2)
        os.close(err)
    os.close(devnull)
