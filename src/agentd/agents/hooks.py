"""`agent hook claude|codex`: turns an agent's own hook or notify payload into agentd
events for the session it runs in (AGENTD_SESSION_ID), sent with append_session_events.

A hook must never get in the agent's way: it prints nothing, and exits 0 whatever happens
(a failure is written to logs/agentd.log).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from agentd.agents.transcript import claude_usage_since


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tool_brief(p: dict[str, Any]) -> str:
    tool = p.get("tool_name", "a tool")
    args = p.get("tool_input") or {}
    detail = args.get("command") or args.get("file_path") or args.get("url") or ""
    return f"{tool}: {_short(detail, 80)}" if detail else str(tool)


def turn_ended(last_message: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The agent finished its turn: its last message joins the thread, and it waits."""
    events: list[dict[str, Any]] = []
    if last_message:
        events.append({"kind": "result", "attention": "info", "summary": _short(last_message),
                       "data": {**data, "role": "assistant", "content": last_message}})
    events.append({"kind": "waiting", "attention": "notice",
                   "summary": "finished its turn; waiting for the next prompt", "data": data})
    return events


def claude_events(p: dict[str, Any], state_dir: Path | None) -> list[dict[str, Any]]:
    """Events for one Claude Code hook payload (hook_event_name says which hook)."""
    name = p.get("hook_event_name", "")
    data = {"source": "claude-hook", "hook": name}
    if name == "Notification":
        kind = p.get("notification_type", "")
        message = _short(p.get("message") or "Claude needs your attention")
        if kind == "idle_prompt":
            return [{"kind": "waiting", "attention": "notice", "summary": message,
                     "data": {**data, "notification_type": kind}}]
        if kind in ("permission_prompt", "elicitation_dialog") or "permission" in message:
            return [{"kind": "waiting", "attention": "action", "summary": message,
                     "data": {**data, "notification_type": kind}}]
        return [{"kind": "notify", "attention": "notice", "summary": message,
                 "data": {**data, "notification_type": kind}}]
    if name == "PermissionRequest":
        return [{"kind": "waiting", "attention": "action",
                 "summary": f"asks permission to use {_tool_brief(p)}",
                 "data": {**data, "tool": p.get("tool_name"), "input": p.get("tool_input")}}]
    if name == "UserPromptSubmit":
        return [{"kind": "resumed", "summary": "working on a new prompt", "data": data},
                {"kind": "message", "summary": _short(p.get("prompt", "")) or "(empty prompt)",
                 "data": {**data, "role": "user", "content": p.get("prompt", "")}}]
    if name == "PreToolUse":
        return [{"kind": "resumed", "summary": f"running {_tool_brief(p)}", "data": data},
                {"kind": "tool_call", "summary": _tool_brief(p),
                 "data": {**data, "tool": p.get("tool_name"), "input": p.get("tool_input")}}]
    if name == "PostToolUse":
        # After a permission prompt this is the first sign the agent works again.
        return [{"kind": "resumed", "summary": f"{p.get('tool_name', 'tool')} ran",
                 "data": data},
                {"kind": "tool_result", "summary": f"{p.get('tool_name', 'tool')} finished",
                 "data": {**data, "tool": p.get("tool_name"),
                          "output": _short(p.get("tool_response"), 2000)}}]
    if name == "Stop":
        events: list[dict[str, Any]] = []
        usage = claude_usage_since(p.get("transcript_path"), state_dir)
        if usage:
            events.append({"kind": "usage", "summary": "token usage", "data": usage})
        return events + turn_ended(p.get("last_assistant_message") or "", data)
    if name == "SessionEnd":
        return [{"kind": "progress", "summary": f"Claude session ended ({p.get('reason')})",
                 "data": data}]
    return [{"kind": "progress", "summary": f"Claude hook {name or '?'}", "data": data}]


def codex_events(p: dict[str, Any]) -> list[dict[str, Any]]:
    """Events for a Codex `notify` payload."""
    kind = p.get("type", "")
    data = {"source": "codex-notify", "type": kind}
    if kind == "agent-turn-complete":
        last = p.get("last-assistant-message") or ""
        if _is_title_thread(last):
            # Codex names each new conversation in a side thread that also "completes".
            return [{"kind": "progress", "summary": "Codex named the conversation",
                     "data": data}]
        return turn_ended(last, data)
    return [{"kind": "notify", "summary": f"Codex: {kind or 'notification'}", "data": data}]


def _is_title_thread(message: str) -> bool:
    try:
        parsed = json.loads(message)
    except ValueError:
        return False
    return isinstance(parsed, dict) and set(parsed) == {"title"}


def run_hook(agent: str, argv: list[str], stdin: IO[str]) -> int:
    session = os.environ.get("AGENTD_SESSION_ID")
    socket = os.environ.get("AGENTD_SOCKET")
    if not session or not socket:
        return 0
    state_dir = Path(socket).parent / "sessions"
    try:
        if agent == "claude":
            events = claude_events(json.loads(stdin.read() or "{}"), state_dir / session)
        else:
            events = codex_events(json.loads(argv[-1] if argv else "{}"))
        from agentd.protocol.connection import Connection

        with Connection.open(Path(socket), timeout=5) as conn:
            conn.request("append_session_events", {"session": session, "events": events})
    except Exception as e:  # noqa: BLE001 - never break the agent
        from agentd.jsonlog import JsonLog

        JsonLog(Path(socket).parent / "logs" / "agentd.log", f"hook-{agent}")(
            "warning", "hook failed", session=session, error=repr(e))
    return 0
