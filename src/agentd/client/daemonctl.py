"""Reaching the local daemon: connect through its Unix socket, or start it on demand."""

from __future__ import annotations

import os
import sys

from agentd.client.transport import UnixTransport
from agentd.errors import EXIT_CONFIG, ConfigError, DaemonError
from agentd.paths import (
    SOCKET,
    START_LOCK,
    make_private_dir,
    root_too_long,
    runtime_root_str,
    too_long_message,
    unsafe,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.protocol.connection import Connection


def socket_path() -> str:
    return os.path.join(runtime_root_str(), SOCKET)


def local() -> UnixTransport:
    """The transport to this user's daemon (AGENTD_DIR or the default runtime root)."""
    return UnixTransport(socket_path())


def connect(transport: UnixTransport, start: bool = True,
            timeout: float | None = 60) -> Connection:
    path = transport.path
    root = os.path.dirname(path)
    if root_too_long(root):
        raise DaemonError(too_long_message(root))
    problem = unsafe(root)  # before a single byte (the agent's environment) goes out
    if problem:
        raise DaemonError(problem)
    try:
        return transport.connect(timeout)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
        if not start:
            raise DaemonError(f"agentd is not running (no daemon at {path})") from None
    except OSError as e:
        raise DaemonError(f"cannot connect to agentd at {path}: {e.strerror or e}") from None
    start_daemon(transport)
    try:
        return transport.connect(timeout)
    except OSError as e:
        raise DaemonError(f"agentd started but does not answer at {path}: "
                          f"{e.strerror or e}") from None


def start_daemon(transport: UnixTransport) -> None:
    """Start agentd in the background, once, even when many clients race to do it."""
    import fcntl
    import subprocess

    root = os.path.dirname(transport.path)
    try:
        make_private_dir(root)
        lock = os.open(os.path.join(root, START_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    except PermissionError as e:
        raise DaemonError(str(e) if not e.filename else f"cannot create the runtime root "
                          f"{root}: {e.strerror}; set AGENTD_DIR to a directory you can "
                          "create") from None
    except OSError as e:
        raise DaemonError(f"cannot create the runtime root {root}: {e.strerror}; set "
                          "AGENTD_DIR to a directory you can create") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:  # someone else may have started it while we waited for the lock
            transport.connect(5).close()
            return
        except OSError:
            pass
        proc = subprocess.run([sys.executable, "-m", "agentd.daemon.main", "--background"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, timeout=60)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            detail = lines[-1] if lines else f"exit status {proc.returncode}"
            cls = ConfigError if proc.returncode == EXIT_CONFIG else DaemonError
            raise cls(detail.removeprefix("agentd: "))
    finally:
        os.close(lock)
