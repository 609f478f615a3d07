"""Codex CLI: each session gets `-c notify=[...]` running `agent hook codex`, which Codex
calls with a JSON payload as its last argument when a turn completes (docs/events.md).
Approval prompts are not notified: the screen patterns find those. Usage and the thread
come from its rollouts (agents/codex_records.py)."""

from __future__ import annotations

import json

from agentd.agents.base import (
    Defaults,
    Integration,
    command_line,
    conversation_id,
    hook_command,
    turn_ended,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentd.agents.base import RecordReader, SessionFile
    from agentd.config import AgentSpec


def events(p: dict[str, Any]) -> list[dict[str, Any]]:
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


class Codex(Integration):
    name = "codex"
    defaults = Defaults(
        "codex", waiting_patterns=(r"Would you like to run the following command",
                                   r"Press enter to confirm or esc to cancel"),
        busy_patterns=(r"esc to interrupt",))
    hook_payload = "argv"

    def launch(self, spec: AgentSpec, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]]:
        return command_line(spec, prompt, ["-c", _notify()]), {}

    def conversation_id(self, payload: dict[str, Any]) -> str | None:
        # The title side thread completes a turn under a thread id of its own.
        if payload.get("type") != "agent-turn-complete" or _is_title_thread(
                payload.get("last-assistant-message") or ""):
            return None
        return conversation_id(payload.get("thread-id"))

    def resume(self, spec: AgentSpec, conversation: str | None, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]] | None:
        # `codex resume [OPTIONS] [SESSION_ID] [PROMPT]`; --last: the most recent session
        # recorded in this directory (Codex filters by cwd, the task's worktree).
        argv = [spec.command, "resume", "-c", _notify(), *spec.args,
                conversation or "--last"]
        if spec.prompt == "arg" and prompt:
            argv.append(prompt)
        return argv, {}

    def hook_events(self, payload: dict[str, Any], argv: list[str],
                    session_file: SessionFile) -> list[dict[str, Any]]:
        return events(payload)

    def record_reader(self) -> RecordReader:
        from agentd.agents.codex_records import READER

        return READER


def _notify() -> str:
    return "notify=" + json.dumps(hook_command("codex"))


INTEGRATION = Codex()
