"""The raw PTY log: `logs/<session>.log`, appended as bytes arrive, rotated at a cap."""

from __future__ import annotations

import os
from pathlib import Path


class RawLog:
    def __init__(self, path: Path, max_bytes: int, keep: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes) -> None:
        """Append; a file never grows past max_bytes (a large write is split)."""
        while self.size + len(data) >= self.max_bytes:
            room = self.max_bytes - self.size
            os.write(self.fd, data[:room])
            data = data[room:]
            self.rotate()
        if data:
            os.write(self.fd, data)
            self.size += len(data)

    def rotate(self) -> None:
        os.close(self.fd)
        for n in range(self.keep, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            newer = self.path.with_name(f"{self.path.name}.{n - 1}") if n > 1 else self.path
            if newer.exists():
                os.replace(newer, older)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = 0

    def close(self) -> None:
        os.close(self.fd)


def log_files(path: Path) -> list[Path]:
    """The log and its rotations (`<log>.1` is the newest rotation), oldest first."""
    rotated = [p for p in path.parent.glob(f"{path.name}.*") if p.suffix[1:].isdigit()]
    rotated.sort(key=lambda p: -int(p.suffix[1:]))
    return rotated + ([path] if path.exists() else [])
