"""The text of the full-screen views (diff, events, thread, artifacts, usage), built from
the daemon's replies as rich Text: agent text is cleaned and never read as markup. Each
`load_*` is blocking (run it in a thread)."""

from __future__ import annotations

import json
import re

from rich.text import Text

from agentd.client.api import NotAvailable
from agentd.client.format import count
from agentd.client.tui import model
from agentd.plaintext import clean

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentd.client.api import AgentdClient

LEVEL_STYLES = {"action": "bold red", "notice": "bold yellow", "info": ""}
WHO_STYLES = {"user": "bold cyan", "assistant": "bold green", "agent": "bold green",
              "result": "bold magenta"}


def load_diff(api: AgentdClient, name: str) -> Text:
    diff = api.diff(name, color=True)
    if not diff.strip():
        return Text("no changes against the base")
    return Text.from_ansi(only_colours(diff))


_SGR = re.compile(r"(\x1b\[[0-9;]*m)")


def only_colours(text: str) -> str:
    """git's colours kept; every other escape or control character (file contents are
    untrusted) removed."""
    return "".join(part if _SGR.fullmatch(part) else clean(part)
                   for part in _SGR.split(text))


def load_events(api: AgentdClient, name: str) -> Text:
    text = Text()
    for e in api.events(task=name):
        text.append(f"{e.ts[:19].replace('T', ' ')} ", style="dim")
        text.append(f"{e.attention:<6} ", style=LEVEL_STYLES.get(e.attention, ""))
        text.append(f"{e.kind:<16} ", style="bold")
        text.append(clean(e.summary) + "\n")
    return text or Text("no events")


def _value(v: Any) -> str:
    return clean(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))


def load_thread(api: AgentdClient, name: str) -> Text:
    """The daemon's thread (`get_thread`) when it serves one, else the thread events."""
    text = Text()
    try:
        entries = api.optional("get_thread", {"name": name}).get("entries") or []
        rows = [(_value(e.get("ts", ""))[11:19], _value(e.get("role") or e.get("kind") or ""),
                 _value(e.get("content") if e.get("content") is not None
                        else e.get("text") or e.get("input") or e.get("output") or ""))
                for e in entries]
        source = "thread"
    except NotAvailable:
        rows = model.thread_from_events(api.events(task=name))
        source = "events (this agentd serves no thread yet)"
    text.append(f"from {source}\n\n", style="dim italic")
    for ts, who, body in rows:
        text.append(f"{ts} ", style="dim")
        text.append(f"{who}\n", style=WHO_STYLES.get(who.split(" ")[0], "bold"))
        text.append(body.rstrip() + "\n\n")
    if not rows:
        text.append("nothing yet")
    return text


def _records(items: list[Any]) -> Text:
    text = Text()
    for item in items:
        if isinstance(item, dict):
            text.append("  ".join(f"{k}: {_value(v)}" for k, v in item.items()) + "\n")
        else:
            text.append(_value(item) + "\n")
    return text or Text("none")


def load_artifacts(api: AgentdClient, name: str) -> Text:
    result = api.optional("list_artifacts", {"name": name})
    return _records(result.get("artifacts") or [])


def load_usage(api: AgentdClient) -> Text:
    """Cost and tokens by task, agent, model and day: from the daemon's usage report when
    it serves one, else summed from the task list."""
    text = Text()
    try:
        for by in ("task", "agent", "model", "day"):
            report = api.optional("usage_report", {"by": by})
            text.append(f"by {by}\n", style="bold underline")
            text.append_text(_records(report.get("rows") or []))
            text.append("\n")
        return text
    except NotAvailable:
        pass
    tables = model.usage(api.list_tasks(all=True))
    for by, rows in tables.items():
        text.append(f"by {by}\n", style="bold underline")
        text.append(f"  {by.upper():<28} {'IN':>8} {'OUT':>8} {'COST':>9}\n", style="bold")
        for key, tin, tout, cost in rows:
            text.append(f"  {key[:28]:<28} {count(tin):>8} {count(tout):>8} "
                        f"{f'${cost:.2f}':>9}\n")
        text.append("\n")
    return text
