"""The structured log: JSON lines (ts, level, component, task, message, fields) in
logs/agentd.log, rotated at a size cap. Shared by the daemon and the workers."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

MAX_BYTES = 10 * 1024 * 1024


class JsonLog:
    def __init__(self, path: Path, component: str) -> None:
        self.path = path
        self.component = component

    def __call__(self, level: str, message: str, task: str | None = None,
                 **fields: Any) -> None:
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
                  "level": level, "component": self.component, "task": task,
                  "message": message, "fields": fields}
        line = (json.dumps(record, default=str) + "\n").encode()
        try:
            if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError:
            pass
