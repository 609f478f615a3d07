"""What the TUI shows, as plain data: task order, groups, filters, cells, usage and thread
(no Textual here, so it is tested on its own and costs nothing to import)."""

from __future__ import annotations

import calendar
import json
import os
import time

from agentd.attention import ACTION, NOTICE, rank
from agentd.client import format
from agentd.lifecycle import ENDED, ICONS
from agentd.plaintext import clean

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from agentd.protocol.views import EventView, TaskView

# Status filters (keys 1-4): which tasks the list shows.
FILTERS: dict[str, tuple[str, Callable[[TaskView], bool]]] = {
    "all": ("all", lambda t: True),
    "attention": ("needs you", lambda t: rank(t.attention) >= rank(NOTICE)),
    "active": ("active", lambda t: t.status not in ENDED),
    "ended": ("ended", lambda t: t.status in ENDED),
}
STATUS_ORDER = {"blocked": 0, "running": 1, "lost": 2, "failed": 3, "completed": 4,
                "killed": 5}
# Attention marks, readable without colour: "!" needs an answer, "?" worth a look.
MARKS = {ACTION: "!", NOTICE: "?"}
THREAD_KINDS = ("message", "tool_call", "tool_result", "result")


def timestamp(iso: str | None) -> float | None:
    """A task's ISO time (UTC, to the second) as epoch seconds."""
    if not iso:
        return None
    return calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S"))


def order_key(t: TaskView) -> tuple[int, int, float, str]:
    """Action first, then notice, then by status, then the newest first."""
    created = timestamp(t.created_at) or 0.0
    return (-max(rank(t.attention), 0), STATUS_ORDER.get(t.status, 9), -created, t.name)


def repo_of(t: TaskView) -> str:
    return os.path.basename((t.workspace or "").rstrip("/")) or (t.workspace or "?")


def visible(tasks: Iterable[TaskView], query: str = "", status: str = "all"
            ) -> list[tuple[str | None, list[TaskView]]]:
    """The tasks to list, filtered and ordered, grouped by repository when they span
    several: [(repo or None, tasks)], the group holding the most urgent task first."""
    keep = FILTERS[status][1]
    q = query.casefold()
    shown = sorted((t for t in tasks if keep(t) and (not q or q in searchable(t))),
                   key=order_key)
    repos: dict[str, list[TaskView]] = {}
    for t in shown:
        repos.setdefault(t.workspace or "", []).append(t)
    if len(repos) <= 1:
        return [(None, shown)]
    return [(repo_of(ts[0]), ts) for ts in repos.values()]


def searchable(t: TaskView) -> str:
    return " ".join((t.name or "", t.prompt or "", t.attention_summary or "")).casefold()


def elapsed(t: TaskView, now: float) -> str:
    """ELAPSED from the task's times and the app's clock (no drift between refreshes)."""
    start = timestamp(t.created_at)
    if start is None:
        return format.duration(t.elapsed_seconds or 0)
    end = timestamp(t.ended_at) or now
    return format.duration(max(0.0, end - start))


def cells(t: TaskView, now: float) -> tuple[str, str, str, str, str, str, str]:
    """Mark, NAME, AGENT, STATUS (icon and word), ELAPSED, TOKENS, COST."""
    status = f"{ICONS.get(t.status, ' ')} {t.status}"
    return (MARKS.get(t.attention or "", " "), clean(t.name), clean(t.agent), status,
            elapsed(t, now), format.tokens(t), format.cost(t))


def summary(t: TaskView) -> str:
    """The attention summary, when the task needs the user (agent text: cleaned)."""
    if rank(t.attention) >= rank(NOTICE) and t.attention_summary:
        return clean(t.attention_summary)
    return ""


def usage(tasks: Iterable[TaskView]) -> dict[str, list[tuple[str, int, int, float]]]:
    """Tokens in, out and cost by task, agent, model and day (day: the task's start, UTC).
    The model is the task's `model` when the daemon reports one."""
    tables: dict[str, dict[str, list[float]]] = {"task": {}, "agent": {}, "model": {},
                                                 "day": {}}
    for t in tasks:
        keys = {"task": t.name, "agent": t.agent,
                "model": getattr(t, "model", None) or "(not reported)",
                "day": (t.created_at or "")[:10] or "?"}
        for table, key in keys.items():
            row = tables[table].setdefault(clean(str(key)), [0, 0, 0.0])
            row[0] += t.tokens_in or 0
            row[1] += t.tokens_out or 0
            row[2] += t.cost_usd or 0.0
    return {name: sorted(((k, int(v[0]), int(v[1]), round(v[2], 6)) for k, v in rows.items()),
                         key=lambda r: (-r[3], -(r[1] + r[2]), r[0]))
            for name, rows in tables.items()}


def thread_from_events(events: Iterable[EventView]) -> list[tuple[str, str, str]]:
    """The conversation as the events tell it: (time, who, text) for each message, tool
    call, tool result and result (until the daemon serves the thread itself)."""
    out = []
    for e in events:
        if e.kind not in THREAD_KINDS:
            continue
        d = e.data or {}
        if e.kind == "message":
            who, text = str(d.get("role") or "agent"), d.get("content")
        elif e.kind == "tool_call":
            who, text = f"tool {d.get('tool') or ''}".strip(), d.get("input")
        elif e.kind == "tool_result":
            who, text = f"result {d.get('tool') or ''}".strip(), d.get("output")
        else:
            who, text = "result", d.get("content")
        if text is None or text == "":
            text = e.summary
        if not isinstance(text, str):
            text = json.dumps(text, ensure_ascii=False)
        out.append((e.ts[11:19], who, clean(text)))
    return out
