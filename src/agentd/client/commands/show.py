"""`agent show`: a task's card — status, sessions, the last events, the thread's tail."""

from __future__ import annotations

import json

from agentd.client import format as fmt
from agentd.client.commands import print_json
from agentd.lifecycle import ICONS
from agentd.protocol.views import TaskView

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace
    from typing import Any

    from agentd.client.api import AgentdClient


def when(ts: str | None) -> str:
    return "-" if not ts else ts.replace("T", " ").rstrip("Z")


def entry_text(content: Any) -> str:
    """A thread entry's text: stored as JSON (`content`, else `summary`) or plain."""
    try:
        value = json.loads(content) if isinstance(content, str) else content
    except ValueError:
        return str(content)
    if isinstance(value, dict):
        text = value.get("content") or value.get("summary")
        if isinstance(text, str) and text:
            return text
        if value.get("tool"):
            return f"{value['tool']} {json.dumps(value.get('input', ''))}"
    return value if isinstance(value, str) else json.dumps(value)


def session_tokens(usage: dict[str, Any]) -> str:
    if "tokens_in" not in usage and "tokens_out" not in usage:
        return "-"
    return f"{fmt.count(usage.get('tokens_in') or 0)}/{fmt.count(usage.get('tokens_out') or 0)}"


def card(t: dict[str, Any], colour: bool) -> str:
    s = fmt.safe
    view = TaskView.from_wire(t)
    status = fmt.paint(f"{ICONS.get(t['status'], ' ')} {t['status']}", t["status"], colour)
    head = f"{s(t['name'])}  {status}"
    if t.get("exit_code") is not None:
        head += f" (exit {t['exit_code']})"
    if t.get("attention") in ("action", "notice") and t.get("attention_summary"):
        head += "  " + fmt.paint(f"[{t['attention']}] {s(t['attention_summary'], 120)}",
                                 t["attention"], colour)
    lines = [head]
    rows = [("prompt", s(t["prompt"], 200) or "-"),
            ("agents", ", ".join(s(a) for a in t.get("agents") or [t["agent"]])),
            ("branch", f"{s(t['branch'])} from {s(t['base'])} ({str(t['base_commit'])[:10]})"),
            ("worktree", s(t["worktree"])), ("workspace", s(t["workspace"])),
            ("created", f"{when(t['created_at'])}  ended {when(t['ended_at'])}  elapsed "
                        f"{fmt.duration(t['elapsed_seconds'] or 0)}"),
            ("tokens", f"{fmt.tokens(view)}  cost {fmt.cost(view)}")]
    stat = t.get("git_stat")
    if isinstance(stat, dict) and "files" in stat:
        rows.append(("changes", f"{stat['files']} file(s), +{stat.get('added', 0)} "
                                f"-{stat.get('removed', 0)}"))
    lines += [f"  {k:<10} {v}" for k, v in rows]
    sessions = t.get("sessions") or []
    lines += ["", "sessions"]
    table = [("#", "SESSION", "AGENT", "STARTED", "ENDED", "EXIT", "TOKENS",
              "CONVERSATION")]
    seqs = {x["id"]: x["seq"] for x in sessions}
    for x in sessions:
        conversation = s(x.get("agent_session_id") or "-")
        if x.get("resumes"):
            conversation += f" (continues #{seqs.get(x['resumes'], '?')})"
        ended = "live" if x["live"] else when(x["ended_at"]) + (" lost" if x["lost"] else "")
        table.append((str(x["seq"]), x["id"], s(x.get("agent") or "-"), when(x["started_at"]),
                      ended, "-" if x["exit_code"] is None else str(x["exit_code"]),
                      session_tokens(x.get("usage") or {}), conversation))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in table]
    events = t.get("events") or []
    if events:
        lines += ["", f"last {len(events)} events"]
        for e in events:
            mark = {"action": "!", "notice": "*"}.get(e["attention"], " ")
            lines.append(fmt.paint(f"  {e['ts'][11:19]} {mark} {s(e['kind']):<15} "
                                   f"{s(e['summary'], 160)}", e["attention"], colour))
    thread = t.get("thread") or []
    if thread:
        lines += ["", f"thread (last {len(thread)} entries)"]
        for x in thread:
            lines.append(f"  {x['ts'][11:19]} {s(x['role']):<9} {s(x['kind']):<11} "
                         f"{s(entry_text(x['content']), 160)}")
    return "\n".join(lines)


def cmd_show(a: Namespace, api: AgentdClient) -> int:
    t = api.task_card(a.name, a.events, a.thread)
    if a.json:
        print_json(t)
    else:
        print(card(t, fmt.use_colour()))
    return 0
