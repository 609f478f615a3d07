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


def _entry(e: dict[str, Any]) -> tuple[str, str, str]:
    """(time, who, text) of one `get_thread` entry."""
    kind, role = str(e.get("kind") or ""), str(e.get("role") or "")
    if kind == "tool_call":
        who, body = f"tool {e.get('tool') or ''}".strip(), _value(e.get("input") or "")
        result = e.get("result")
        if isinstance(result, dict):
            body += "\n→ " + _value(result.get("output") or result.get("content") or "")
    elif kind == "tool_result":
        who, body = f"result {e.get('tool') or ''}".strip(), _value(e.get("output") or "")
    else:
        who = role or kind
        body = _value(e.get("text") or e.get("content") or e.get("summary") or "")
    return _value(e.get("ts") or "")[11:19], who, body


def load_thread(api: AgentdClient, name: str) -> Text:
    """The daemon's thread (`get_thread`) when it serves one, else the thread events."""
    text = Text()
    try:
        entries = api.optional("get_thread", {"name": name}).get("entries") or []
        rows = [_entry(e) for e in entries if isinstance(e, dict)]
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


def load_artifacts(api: AgentdClient, name: str) -> Text:
    """One entry per artifact: id, kind, description, then its file (`agent artifact get
    NAME ID` fetches it)."""
    items = api.optional("list_artifacts", {"name": name}).get("artifacts") or []
    text = Text()
    for a in items:
        if not isinstance(a, dict):
            continue
        text.append(f"#{_value(a.get('id'))} ", style="bold")
        text.append(f"{_value(a.get('kind') or '')}  ", style="bold cyan")
        text.append(_value(a.get("description") or "") + "\n")
        where = a.get("name") or a.get("path") or ""
        size = f", {a['size']} bytes" if isinstance(a.get("size"), int) else ""
        text.append(f"    {_value(where)}{size}\n", style="dim")
    if items:
        text.append(f"\nagent artifact get {name} ID  writes one out\n", style="dim italic")
    return text or Text("no artifacts")


def load_usage(api: AgentdClient) -> Text:
    """Cost and tokens by task, agent, model and day: from the daemon's usage report when
    it serves one, else summed from the task list."""
    try:
        tables = {by: [(_value(r.get("key")), int(r.get("tokens_in") or 0),
                        int(r.get("tokens_out") or 0), r.get("cost_usd"))
                       for r in api.optional("usage_report", {"by": by}).get("rows") or []]
                  for by in ("task", "agent", "model", "day")}
        source = "the daemon's usage report"
    except NotAvailable:
        tables = model.usage(api.list_tasks(all=True))
        source = "the task list (this agentd serves no usage report yet)"
    text = Text(f"from {source}\n\n", style="dim italic")
    for by, rows in tables.items():
        text.append(f"by {by}\n", style="bold underline")
        text.append(f"  {by.upper():<28} {'IN':>8} {'OUT':>8} {'COST':>9}\n", style="bold")
        for key, tin, tout, cost in rows:
            price = "-" if cost is None else f"${cost:.2f}"
            text.append(f"  {key[:28]:<28} {count(tin):>8} {count(tout):>8} {price:>9}\n")
        text.append("\n")
    return text
