"""Text from agents is untrusted: before it reaches a terminal, every control character
(C0, DEL, C1 — ESC among them, so no escape sequence gets through: no clipboard write, no
screen clear, no hidden line) and every bidirectional override is shown as a visible
escape instead. Newlines and tabs become escapes too: one summary, one line.

On the start-up path of `agent ls`: imports nothing.
"""

from __future__ import annotations

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_TABLE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_TABLE.update({c: f"\\u{c:04x}" for c in _BIDI})


def printable(text: str) -> str:
    """`text` with control characters and bidi overrides made visible (`\\x1b`)."""
    return text.translate(_TABLE)
