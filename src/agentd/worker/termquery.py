"""Answers to terminal queries while no interactive client is attached.

A real terminal answers "where is the cursor?" (DSR 6), "what are you?" (DA1/DA2) and
"what are your colours?" (OSC 10/11). A TUI started detached may wait for these answers;
the worker gives them from its screen model, like tmux does. With an interactive client
attached, the user's terminal answers instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable

QUERY = re.compile(rb"\x1b\[(\??)6n|\x1b\[(>?)0?c|\x1b\](1[01]);\?(?:\x07|\x1b\\)")


def answers(data: bytes, cursor: Callable[[], tuple[int, int]]) -> bytes:
    out = []
    for m in QUERY.finditer(data):
        if m.group(0).endswith(b"n"):
            col, row = cursor()
            out.append(b"\x1b[%s%d;%dR" % (m.group(1), row + 1, col + 1))
        elif m.group(0).endswith(b"c"):
            out.append(b"\x1b[>1;10;0c" if m.group(2) else b"\x1b[?62;22c")
        else:
            colour = b"ffff/ffff/ffff" if m.group(3) == b"10" else b"0000/0000/0000"
            out.append(b"\x1b]" + m.group(3) + b";rgb:" + colour + b"\x1b\\")
    return b"".join(out)
