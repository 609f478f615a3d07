"""`agent logs`: a session's output from its raw log, as plain text or raw bytes."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# CSI, OSC (BEL or ST terminated), DCS/SOS/PM/APC strings, two-byte escapes.
_ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
                   rb"|\x1b[PX^_][^\x1b]*\x1b\\|\x1b[()*+][0-9A-Za-z]|\x1b[@-Z\\-_=>78]")
_CONTROL = re.compile(rb"[\x00-\x07\x0b\x0c\x0e-\x1f\x7f]")


def plain(data: bytes) -> bytes:
    """ANSI stripped, carriage-return redraws collapsed to what was left on the line."""
    data = _ANSI.sub(b"", data).replace(b"\r\n", b"\n")
    lines = []
    for line in data.split(b"\n"):
        if b"\r" in line:
            line = _overwrite(line.split(b"\r"))
        while b"\x08" in line:
            line = re.sub(rb"[^\x08]\x08", b"", line, count=1).lstrip(b"\x08")
        lines.append(_CONTROL.sub(b"", line))
    return b"\n".join(lines)


def _overwrite(parts: list[bytes]) -> bytes:
    """Each part after a CR overwrites the line from its start, like a terminal."""
    line = bytearray()
    for part in parts:
        line[: len(part)] = part
    return bytes(line)


def chunks(files: list[Path]) -> Iterator[bytes]:
    for path in files:
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                yield block


def show(files: list[Path], raw: bool) -> int:
    out = sys.stdout.buffer
    if raw:
        for block in chunks(files):
            out.write(block)
    else:
        pending = b""
        for block in chunks(files):
            pending += block
            head, sep, pending = pending.rpartition(b"\n")
            if sep:
                out.write(plain(head + sep))
        out.write(plain(pending))
        if pending:
            out.write(b"\n")
    out.flush()
    return 0


def follow(path: Path, raw: bool, running: Callable[[], bool], offset: int) -> int:
    """Stream what is appended to `path` until the session ends."""
    out = sys.stdout.buffer
    pending = b""
    idle_checks = 0
    while True:
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            size = 0
        if size < offset:  # rotated
            offset = 0
        if size > offset:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read(size - offset)
            offset += len(data)
            if raw:
                out.write(data)
            else:
                head, sep, pending = (pending + data).rpartition(b"\n")
                if sep:
                    out.write(plain(head + sep))
            out.flush()
            continue
        idle_checks += 1
        if idle_checks % 10 == 0 and not running():
            if pending and not raw:
                out.write(plain(pending) + b"\n")
                out.flush()
            return 0
        time.sleep(0.05)
