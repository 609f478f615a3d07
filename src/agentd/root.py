"""The runtime root (DESIGN §4), resolved without pathlib: the client's start-up path
imports this and nothing heavier."""

from __future__ import annotations

import os

# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107
# The longest socket under a root: sessions/<10 hex digits>.sock.
LONGEST_SOCKET = len("/sessions/0123456789.sock")


def runtime_root_str(env: dict[str, str] | os._Environ[str] | None = None) -> str:
    """AGENTD_DIR, else $XDG_RUNTIME_DIR/agentd, else $TMPDIR/agentd-<uid>, else
    /tmp/agentd-<uid>."""
    env = os.environ if env is None else env
    if env.get("AGENTD_DIR"):
        return os.path.abspath(os.path.expanduser(env["AGENTD_DIR"]))
    if env.get("XDG_RUNTIME_DIR"):
        return os.path.join(env["XDG_RUNTIME_DIR"], "agentd")
    uid = os.getuid()
    if env.get("TMPDIR"):
        return os.path.join(env["TMPDIR"], f"agentd-{uid}")
    return f"/tmp/agentd-{uid}"


def root_too_long(root: str | os.PathLike[str]) -> bool:
    return len(os.fsencode(root)) + LONGEST_SOCKET > MAX_SOCKET_PATH
