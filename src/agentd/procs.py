"""Processes, by pid: liveness (a zombie counts as gone) and the one escalation policy for
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
