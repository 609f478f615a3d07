"""The structured log: JSON lines (ts, level, component, task, message, fields) in
logs/agentd.log, shared by the daemon, the workers and the hooks.

It never takes more than about 2 × MAX_BYTES of disk: past MAX_BYTES the log is copied to
`agentd.log.1` (replacing the previous copy) and truncated in place, under a lock on the
file so two processes do not rotate at once. Truncating, rather than renaming, keeps the
bound for what reaches the file through a descriptor held open — the daemon's and the
workers' standard error point at it (with O_APPEND, so they write on at the new end). A
line that cannot be written (a full disk) is dropped; logging never fails its caller.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

MAX_BYTES = 10 * 1024 * 1024


class JsonLog:
    def __init__(self, path: Path, component: str, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.component = component
        self.max_bytes = max_bytes

    def __call__(self, level: str, message: str, task: str | None = None,
                 **fields: Any) -> None:
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
                  "level": level, "component": self.component, "task": task,
                  "message": message, "fields": fields}
        line = (json.dumps(record, default=str) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                         0o600)
        except OSError:
            return
        try:
            if os.fstat(fd).st_size > self.max_bytes:
                self.rotate(fd)
            os.write(fd, line)
        except OSError:
            pass
        finally:
            os.close(fd)

    def rotate(self, fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_size <= self.max_bytes:
                return  # another process rotated it meanwhile
            older = self.path.with_name(self.path.name + ".1")
            tmp = self.path.with_name(self.path.name + ".1.tmp")
            try:
                copy(self.path, tmp)
                os.replace(tmp, older)
            except OSError:  # no room for the copy: the old lines go, the bound holds
                tmp.unlink(missing_ok=True)
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def copy(src: Path, dst: Path) -> None:
    with open(src, "rb") as f, open(dst, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        remaining = os.fstat(f.fileno()).st_size
        while remaining > 0:
            sent = os.sendfile(out.fileno(), f.fileno(), None, remaining)
            if sent == 0:
                break
            remaining -= sent
