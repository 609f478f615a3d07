"""`agent usage` (tokens and cost) and `agent thread` (the conversation)."""

from __future__ import annotations

import json

from agentd.client import format as fmt
from agentd.client.commands import print_json
from agentd.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace
    from typing import Any

    from agentd.client.api import AgentdClient

RESULT_LINES = 6  # lines of a tool's result shown under its call


def cost(row: dict[str, Any]) -> str:
    if row["unpriced_calls"]:
        priced = row["priced_cost_usd"]
        return f"?{' (+' + fmt.dollars(priced) + ' priced)' if priced else ''}"
    return fmt.dollars(row["cost_usd"] or 0)


def check_since(text: str | None) -> None:
    """The daemon checks too; this says it in the words of the command line."""
    from datetime import datetime

    if text is None:
        return
    try:
        datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r} is not a date: give YYYY-MM-DD or an ISO date "
                         "and time such as 2026-12-01T09:30") from None


def cmd_usage(a: Namespace, api: AgentdClient) -> int:
    check_since(a.since)
    report = api.usage(a.name, a.by, a.since)
    if a.json:
        print_json(report)
        return 0
    rows = report["rows"] if a.by else []
    if report["total"] is None:
        print("no usage recorded" + (f" since {report['since']}" if report["since"] else ""))
        return 0
    table = [(a.by.upper() if a.by else "", "CALLS", "INPUT", "CACHE READ", "CACHE WRITE",
              "OUTPUT", "COST")]
    for r in [*rows, {**report["total"], "key": "total"}]:
        table.append((fmt.visible(str(r["key"])), str(r["calls"]),
                      fmt.count(r["input_tokens"]), fmt.count(r["cache_read_tokens"]),
                      fmt.count(r["cache_write_tokens"]), fmt.count(r["output_tokens"]),
                      cost(r)))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:],
                                                                        strict=True)]
        print("  ".join(cells).rstrip())
    return 0


def entry_text(e: dict[str, Any]) -> str:
    """One thread entry for a terminal: its text escaped (it comes from the agent)."""
    kind, ts = e["kind"], e["ts"][11:19]
    if kind == "tool_call":
        head = f"{ts} tool    {fmt.visible(str(e.get('tool')))}: {fmt.visible(e.get('args', ''))}"
        result = e.get("result")
        if result is None:
            return head
        return head + "\n" + result_lines(result.get("output", ""), result.get("is_error"))
    if kind == "tool_result":
        return (f"{ts} result  {fmt.visible(str(e.get('tool') or '?'))}\n"
                + result_lines(e.get("output", ""), e.get("is_error")))
    if kind == "exit":
        code = e.get("exit_code")
        return f"{ts} exit    {fmt.visible(str(e.get('reason') or code))}"
    label = {"prompt": "prompt", "input": "input", "message": e["role"][:9],
             "result": "result"}.get(kind, kind)
    text = str(e.get("text", ""))
    if not text and e.get("keys"):
        text = " ".join(e["keys"])
    body = fmt.visible(text, newlines=True).replace("\n", "\n" + " " * 18)
    return f"{ts} {label:<7} {body}"


def result_lines(output: str, error: bool | None) -> str:
    lines = fmt.visible(output, newlines=True).splitlines() or ["(no output)"]
    if len(lines) > RESULT_LINES:
        lines = lines[:RESULT_LINES] + [f"… {len(lines) - RESULT_LINES} more lines"]
    mark = "  ! " if error else "  │ "
    return "\n".join(" " * 14 + mark + line for line in lines)


def cmd_thread(a: Namespace, api: AgentdClient) -> int:
    if a.follow:
        for entry in api.follow_thread(a.name):
            print(json.dumps(entry) if a.json else entry_text(entry), flush=True)
        return 0
    thread = api.thread(a.name)
    if a.json:
        print_json(thread)
    elif not thread["entries"]:
        print(f"nothing in the thread of {thread['task']} yet")
    for entry in [] if a.json else thread["entries"]:
        print(entry_text(entry))
    return 0
