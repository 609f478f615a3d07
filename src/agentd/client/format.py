"""Human-readable output: the task table, durations, token counts, colours."""

from __future__ import annotations

import os
import sys

from agentd.attention import NOTICE, rank
from agentd.lifecycle import ICONS
from agentd.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentd.protocol.views import TaskView

_COLOURS = {"running": "32", "blocked": "33", "completed": "32", "failed": "31",
            "killed": "90", "lost": "35", "action": "1;31", "notice": "1;33"}


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def paint(text: str, key: str, colour: bool) -> str:
    code = _COLOURS.get(key)
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def safe(text: Any, limit: int | None = None) -> str:
    """Text from an agent, fit for a terminal (agentd.text.printable: control characters
    and bidi overrides made visible, one line), cut to `limit` characters."""
    text = printable(text if isinstance(text, str) else "" if text is None else str(text))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def duration(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600}h"


def count(n: int | None) -> str:
    if n is None:
        return "-"
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    return f"{n / 1_000_000:.1f}M".replace(".0M", "M")


def tokens(t: TaskView) -> str:
    if t.tokens_in is None and t.tokens_out is None:
        return "-"
    return f"{count(t.tokens_in or 0)}/{count(t.tokens_out or 0)}"


def dollars(usd: float) -> str:
    return f"${usd:.2f}" if usd >= 0.01 or usd == 0 else "<$0.01"


def cost(t: TaskView) -> str:
    """`$0.18`; `?` while some call's model has no known price; `-` before any usage."""
    if t.usage is None and t.cost_usd is None:
        return "-"
    if t.usage is not None and t.usage.get("unpriced_calls"):
        return "?"
    return "-" if t.cost_usd is None else dollars(t.cost_usd)


def visible(text: str, newlines: bool = False) -> str:
    """Text from an agent, safe for a terminal (agentd.text.printable); with `newlines`,
    its line breaks are kept as line breaks."""
    if newlines:
        return "\n".join(printable(line) for line in text.split("\n"))
    return printable(text)


def sort_tasks(tasks: list[TaskView]) -> list[TaskView]:
    """Who needs the user first: action, then notice, then the rest, oldest first."""
    return sorted(tasks, key=lambda t: -max(rank(t.attention), 0))


def table(tasks: list[TaskView], colour: bool) -> str:
    rows = [("NAME", "AGENT", "STATUS", "ELAPSED", "TOKENS", "COST")]
    for t in tasks:
        status = t.status + (" (merged)" if t.merged_into else "")
        rows.append((t.name, t.agent, status, duration(t.elapsed_seconds), tokens(t),
                     cost(t)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, r in enumerate(rows):
        cells = [c.ljust(w) for c, w in zip(r, widths, strict=True)]
        if n == 0:
            out.append("  " + "  ".join(cells).rstrip())
            continue
        t = tasks[n - 1]
        icon = paint(ICONS.get(t.status, " "), t.status, colour)
        cells[2] = paint(cells[2], t.status, colour)
        line = f"{icon} " + "  ".join(cells).rstrip()
        if rank(t.attention) >= rank(NOTICE) and t.attention_summary:
            line += "  " + paint(f"[{t.attention}] {printable(t.attention_summary)}",
                                 t.attention or "",
                                 colour)
        out.append(line)
    return "\n".join(out)


def content(text: str, keep: str = "\n\t") -> str:
    """A file's text from an agent, fit for a terminal: as `safe`, but the characters in
    `keep` (newline and tab) pass."""
    out, start = [], 0
    for i, c in enumerate(text):
        if c in keep:
            out += [printable(text[start:i]), c]
            start = i + 1
    out.append(printable(text[start:]))
    return "".join(out)
