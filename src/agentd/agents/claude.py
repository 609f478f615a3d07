"""Claude Code: each session gets `--settings <file>` installing agentd's hooks (the user's
settings files are not touched); each hook's stdin payload becomes events (docs/events.md).
Usage and the thread come from its transcripts (agents/claude_records.py)."""

from __future__ import annotations

import json

from agentd.agents.base import (
    Defaults,
    Integration,
    command_line,
    conversation_id,
    hook_command,
    short,
    turn_ended,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentd.agents.base import RecordReader, SessionFile
    from agentd.config import AgentSpec

HOOKS = ("Notification", "PermissionRequest", "Stop", "UserPromptSubmit", "PreToolUse",
         "PostToolUse", "SessionEnd")
_TOOL_HOOKS = {"PreToolUse", "PostToolUse", "PermissionRequest"}


def settings() -> dict[str, object]:
    """The `--settings` document: every hook in HOOKS runs `agent hook claude`."""
    import shlex

    command = shlex.join(hook_command("claude"))
    hooks: dict[str, object] = {}
    for name in HOOKS:
        entry: dict[str, object] = {"hooks": [{"type": "command", "command": command,
                                               "timeout": 10}]}
        if name in _TOOL_HOOKS:
            entry["matcher"] = "*"
        hooks[name] = [entry]
    return {"hooks": hooks}


def _tool_brief(p: dict[str, Any]) -> str:
    tool = p.get("tool_name", "a tool")
    args = p.get("tool_input") or {}
    detail = args.get("command") or args.get("file_path") or args.get("url") or ""
    return f"{tool}: {short(detail, 80)}" if detail else str(tool)


def events(p: dict[str, Any], session_file: SessionFile) -> list[dict[str, Any]]:
    """Events for one Claude Code hook payload (hook_event_name says which hook)."""
    name = p.get("hook_event_name", "")
    data: dict[str, Any] = {"source": "claude-hook", "hook": name}
    if p.get("transcript_path"):
        data["transcript_path"] = str(p["transcript_path"])  # where the daemon reads usage
    if name == "Notification":
        kind = p.get("notification_type", "")
        message = short(p.get("message") or "Claude needs your attention")
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
                {"kind": "message", "summary": short(p.get("prompt", "")) or "(empty prompt)",
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
                          "output": short(p.get("tool_response"), 2000)}}]
    if name == "Stop":
        # Usage and the thread come from the transcript, which the daemon reads as it grows
        # (a Stop makes it read at once): not from here, where its last line may be unwritten.
        return turn_ended(p.get("last_assistant_message") or "", data)
    if name == "SessionEnd":
        return [{"kind": "progress", "summary": f"Claude session ended ({p.get('reason')})",
                 "data": data}]
    return [{"kind": "progress", "summary": f"Claude hook {name or '?'}", "data": data}]


class Claude(Integration):
    name = "claude"
    defaults = Defaults(
        "claude", waiting_patterns=(r"Do you want to \w+", r"Esc to cancel · Tab to amend"),
        busy_patterns=(r"esc to interrupt",))
    hook_payload = "stdin"

    def launch(self, spec: AgentSpec, prompt: str, session_file: SessionFile,
               extra: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
        path = session_file("claude-settings.json")
        path.write_text(json.dumps(settings(), indent=2))
        return command_line(spec, prompt, ["--settings", str(path), *extra]), {}

    def conversation_id(self, payload: dict[str, Any]) -> str | None:
        return conversation_id(payload.get("session_id"))  # in every hook's payload

    def resume(self, spec: AgentSpec, conversation: str | None, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]] | None:
        # --continue: the latest conversation in this directory (the task's worktree).
        how = ("--resume", conversation) if conversation else ("--continue",)
        return self.launch(spec, prompt, session_file, how)

    def hook_events(self, payload: dict[str, Any], argv: list[str],
                    session_file: SessionFile) -> list[dict[str, Any]]:
        return events(payload, session_file)

    def record_reader(self) -> RecordReader:
        from agentd.agents.claude_records import READER

        return READER


INTEGRATION = Claude()
