"""The agent's process: spawned as a session leader on a new PTY, reaped, resized."""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import struct
import termios

from agentd.procs import signal_group


class SpawnError(Exception):
    pass


def set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class AgentProcess:
    """The agent (pid, also its process group) and the master side of its PTY.

    `open` goes false when the worker closes the master (output ended); `status` is the
    wait status once the agent has been reaped."""

    __slots__ = ("pid", "master", "open", "status")

    def __init__(self, pid: int, master: int) -> None:
        self.pid, self.master = pid, master
        self.open = True
        self.status: int | None = None

    @property
    def exited(self) -> bool:
        return self.status is not None

    def reap(self) -> bool:
        """True when the agent has just been found exited."""
        if self.status is not None:
            return False
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid != self.pid:
            return False
        self.status = status
        return True

    def resize(self, cols: int, rows: int) -> None:
        if self.open:
            set_size(self.master, cols, rows)
            signal_group(self.pid, signal.SIGWINCH)

    def close(self) -> None:
        if self.open:
            self.open = False
            os.close(self.master)


def spawn(argv: list[str], env: dict[str, str], cwd: str, cols: int,
          rows: int) -> AgentProcess:
    """Start argv as a session leader on a new PTY.

    A failed exec is reported through a close-on-exec pipe and raised here as SpawnError,
    so "command not found" is an error of the caller, not a silent exit 127.
    """
    master, slave = os.openpty()
    set_size(master, cols, rows)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(master)
            os.close(err_r)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            if slave > 2:
                os.close(slave)
            os.chdir(cwd)
            for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE, signal.SIGTERM,
                        signal.SIGHUP, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            os.execvpe(argv[0], argv, env)
        except BaseException as e:  # noqa: BLE001 - reported to the parent, then exit
            code = e.errno if isinstance(e, OSError) and e.errno else 0
            msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            os.write(err_w, f"{code}:{msg}".encode())
        finally:
            os._exit(127)
    os.close(slave)
    os.close(err_w)
    report = b""
    while chunk := os.read(err_r, 4096):
        report += chunk
    os.close(err_r)
    if report:
        os.waitpid(pid, 0)
        os.close(master)
        errno_text, _, msg = report.decode(errors="replace").partition(":")
        if errno_text == str(errno.ENOENT):
            msg = f"command not found: {argv[0]}"
        raise SpawnError(f"cannot start {argv[0]}: {msg}")
    os.set_blocking(master, False)
    return AgentProcess(pid, master)


def exit_code_of(status: int) -> int:
    """A shell-style exit code: the status, or 128 + signal number."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 255
