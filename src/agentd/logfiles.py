"""The raw PTY log: `logs/<session>.log`, appended as bytes arrive, rotated at a cap."""

from __future__ import annotations

import os
from pathlib import Path


class RawLog:
    """Appends never raise: a full disk (or any write error) must not take the session down.
    Bytes that could not be written are counted in `dropped`; `problem()` tells the caller
    once per episode, so it can report it, and writing resumes when the disk allows."""

    def __init__(self, path: Path, max_bytes: int, keep: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self.fd).st_size
        self.dropped = 0
        self.failing: str | None = None  # the error of the episode going on
        self.reported = False

    def write(self, data: bytes) -> None:
        """Append; a file never grows past max_bytes (a large write is split)."""
        try:
            while self.size + len(data) >= self.max_bytes:
                room = self.max_bytes - self.size
                self._write(data[:room])
                data = data[room:]
                self.rotate()
            if data:
                self._write(data)
        except OSError as e:
            self.dropped += len(data)
            if self.failing is None:
                self.failing, self.reported = e.strerror or str(e), False
            return
        self.failing = None

    def _write(self, data: bytes) -> None:
        if self.fd < 0:  # a rotation could not reopen the file
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self.size = os.fstat(self.fd).st_size
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            self.size += n
            view = view[n:]

    def problem(self) -> str | None:
        """A new write failure to report (once per episode), else None."""
        if self.failing is None or self.reported:
            return None
        self.reported = True
        return (f"cannot write the session log {self.path}: {self.failing}; output is "
                f"still shown to attached clients ({self.dropped} bytes not logged so far)")

    def rotate(self) -> None:
        os.close(self.fd)
        self.fd = -1
        for n in range(self.keep, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            newer = self.path.with_name(f"{self.path.name}.{n - 1}") if n > 1 else self.path
            if newer.exists():
                os.replace(newer, older)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def log_files(path: Path) -> list[Path]:
    """The log and its rotations (`<log>.1` is the newest rotation), oldest first."""
    rotated = [p for p in path.parent.glob(f"{path.name}.*") if p.suffix[1:].isdigit()]
    rotated.sort(key=lambda p: -int(p.suffix[1:]))
    return rotated + ([path] if path.exists() else [])
