"""A session's raw output as plain text (`agent logs`): escape sequences stripped, redraws
collapsed."""

from __future__ import annotations

import re
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

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


def write(blocks: Iterator[bytes], raw: bool, live: bool = False) -> None:
    """Write a log's bytes to stdout: raw, or as plain text a whole line at a time (the last
    line, unfinished, at the end). `live`: flush after each block."""
    out = sys.stdout.buffer
    pending = b""
    for block in blocks:
        if raw:
            out.write(block)
        else:
            head, sep, pending = (pending + block).rpartition(b"\n")
            if sep:
                out.write(plain(head + sep))
        if live:
            out.flush()
    if pending:
        out.write(plain(pending) + b"\n")
    out.flush()
