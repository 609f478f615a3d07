"""Writing a session's output to stdout (`agent logs`): its raw bytes, or its plain text
(lines from agentd.plaintext, which replays the bytes through a terminal emulator)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


def write_raw(blocks: Iterable[bytes], live: bool = False) -> None:
    """The bytes as they are; `live`: flushed after each block."""
    out = sys.stdout.buffer
    for block in blocks:
        out.write(block)
        if live:
            out.flush()
    out.flush()


def write_lines(lines: Iterable[str], live: bool = False) -> None:
    """Plain-text lines (already free of control characters), one per line."""
    out = sys.stdout
    for line in lines:
        out.write(line + "\n")
        if live:
            out.flush()
    out.flush()
