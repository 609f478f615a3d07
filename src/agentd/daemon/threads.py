"""Shapes of the thread and usage replies (`get_thread`, `usage_report`; docs/protocol.md),
from the store's rows."""

from __future__ import annotations

from typing import Any

from agentd.errors import UsageError
from agentd.protocol.views import iso_ms


def parse_since(text: str) -> float:
    """`YYYY-MM-DD` (local midnight) or an ISO 8601 date and time (local unless it says
    its offset) as epoch seconds."""
    from datetime import datetime

    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"since: {text!r} is not a date; give YYYY-MM-DD or an ISO date "
                         "and time such as 2026-12-01T09:30") from None
    return when.timestamp()


def usage_row(r: dict[str, Any]) -> dict[str, Any]:
    unpriced = int(r["unpriced"] or 0)
    return {"key": r["key"], "calls": r["calls"],
            "tokens_in": r["input"] + r["cache_read"] + r["cache_write"],
            "tokens_out": r["output"], "input_tokens": r["input"],
            "output_tokens": r["output"], "cache_read_tokens": r["cache_read"],
            "cache_write_tokens": r["cache_write"],
            "cost_usd": None if unpriced else r["cost_usd"],
            "priced_cost_usd": r["cost_usd"], "unpriced_calls": unpriced}


def note_tool(tools: dict[str, str], e: dict[str, Any]) -> None:
    if e["kind"] == "tool_call":
        tools[str(e["content"].get("call_id"))] = str(e["content"].get("tool"))


def entry_view(e: dict[str, Any], tools: dict[str, str]) -> dict[str, Any]:
    content = dict(e["content"])
    if e["kind"] == "tool_result" and "tool" not in content:
        content["tool"] = tools.get(str(content.get("call_id")))
    return {"id": e["id"], "session": e["session_id"], "ts": iso_ms(e["ts"]),
            "role": e["role"], "kind": e["kind"], **content}


def pair_tools(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries in time order; each tool result goes with its call (`result`), and only a
    result whose call is not in the thread stands alone."""
    ordered = sorted(entries, key=lambda e: (e["ts"], e["id"]))
    calls = {str(e["content"].get("call_id")): e for e in ordered if e["kind"] == "tool_call"}
    tools = {k: str(c["content"].get("tool")) for k, c in calls.items()}
    out: list[dict[str, Any]] = []
    views: dict[str, dict[str, Any]] = {}
    for e in ordered:
        if e["kind"] == "tool_result" and str(e["content"].get("call_id")) in calls:
            continue
        view = entry_view(e, tools)
        if e["kind"] == "tool_call":
            views[str(e["content"].get("call_id"))] = view
            view["result"] = None
        out.append(view)
    for e in ordered:
        call_id = str(e["content"].get("call_id"))
        if e["kind"] == "tool_result" and call_id in views:
            views[call_id]["result"] = {k: v for k, v in e["content"].items()
                                        if k in ("output", "is_error")}
    return out
