"""Processes, by pid: liveness (a zombie counts as gone), identity (a pid is only trusted
together with the process's start time and the boot it started in, so a pid reused after a
reboot or a wrap-around is never taken for ours), and the one escalation policy for
stopping an agent's process group: SIGHUP at once, SIGTERM after half the grace time,
SIGKILL after all of it."""

from __future__ import annotations

import os
import signal
import time


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


_BOOT_ID: list[str] = []


def boot_id() -> str:
    if not _BOOT_ID:
        try:
            with open("/proc/sys/kernel/random/boot_id") as f:
                _BOOT_ID.append(f.read().strip())
        except OSError:
            _BOOT_ID.append("")
    return _BOOT_ID[0]


def identity(pid: int | None) -> str | None:
    """`<boot id>:<start time in clock ticks>` of a live process, or None when it is gone
    (a zombie included). Two processes never share one within a boot."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] == "Z":
        return None
    return f"{boot_id()}:{fields[19]}"


def is_process(pid: int | None, ident: str | None) -> bool:
    """Is `pid` still the process recorded as `ident`? Without a recorded identity (a
    session started by an older agentd) only liveness can be checked."""
    if ident is None:
        return pid_alive(pid)
    return identity(pid) == ident


def wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return False


def escalation(grace: float) -> list[tuple[float, int]]:
    """(seconds from now, signal) for stopping a process group within `grace` seconds."""
    return [(0.0, signal.SIGHUP), (grace / 2, signal.SIGTERM), (grace, signal.SIGKILL)]


def signal_group(pgid: int, sig: int) -> bool:
    """Signal a process group; False when it is gone (or not ours)."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def terminate_group(pgid: int, grace: float, gone: int | None = None) -> bool:
    """Stop a process group by the escalation policy, blocking until `gone` (a pid; the
    group leader by default) has exited or SIGKILL was sent. True when it went."""
    watch = gone or pgid
    start = time.monotonic()
    for at, sig in escalation(grace):
        while time.monotonic() - start < at:
            if not pid_alive(watch):
                return True
            time.sleep(0.02)
        if not signal_group(pgid, sig) and not pid_alive(watch):
            return True
    return wait_gone(watch, 2)
