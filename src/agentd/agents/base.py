"""What every agent integration provides: one module per agent (agents/claude.py, ...), each
with an `INTEGRATION`, an instance of a subclass of `Integration` below.

`agent hook NAME` imports this module on every hook call of an agent, so it imports nothing
heavier than json at run time: no dataclasses, typing or pathlib (see protocol/messages.py).
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from agentd.config import AgentSpec

    # suffix -> a per-session file, `<root>/sessions/<session>.<suffix>` (Paths.session_file)
    SessionFile = Callable[[str], Path]


class Defaults:
    """An agent's built-in configuration: what `[agents.NAME]` starts from (docs/config.md)."""

    __slots__ = ("command", "args", "prompt", "waiting_patterns", "busy_patterns",
                 "idle_seconds")

    def __init__(self, command: str, args: tuple[str, ...] = (), prompt: str = "arg",
                 waiting_patterns: tuple[str, ...] = (), busy_patterns: tuple[str, ...] = (),
                 idle_seconds: float = 0.0) -> None:
        self.command, self.args, self.prompt = command, args, prompt  # prompt: arg|type|none
        self.waiting_patterns, self.busy_patterns = waiting_patterns, busy_patterns
        self.idle_seconds = idle_seconds

    def to_config(self) -> dict[str, Any]:
        """The keys as config.toml spells them, for config.py to merge the user's over."""
        return {"command": self.command, "args": list(self.args), "prompt": self.prompt,
                "waiting_patterns": list(self.waiting_patterns),
                "busy_patterns": list(self.busy_patterns), "idle_seconds": self.idle_seconds}


def command_line(spec: AgentSpec, prompt: str, extra: list[str] | None = None) -> list[str]:
    """`command`, the integration's own arguments, the user's `args`, then the prompt when
    it is passed as an argument (docs/config.md, "Prompt modes")."""
    argv = [spec.command, *(extra or ()), *spec.args]
    if spec.prompt == "arg" and prompt:
        argv.append(prompt)
    return argv


def without_dangling(argv: list[str], prompt: str, flag: str) -> list[str]:
    """Without a prompt, drop a last argument that is the agent's prompt option (Gemini
    CLI's `-i`, opencode's `--prompt`): it would take no value."""
    return argv[:-1] if not prompt and argv and argv[-1] == flag else argv


def conversation_id(value: Any) -> str | None:
    """`value` if it can be an agent's conversation id (the rule of protocol/events.py
    is_conversation_id, which this module may not import: it is passed back to the agent
    as an argument), else None."""
    if not isinstance(value, str) or not 0 < len(value) <= 200 or value[0] == "-":
        return None
    ok = all(c.isascii() and (c.isalnum() or c in "._:-") for c in value)
    return value if ok else None


def hook_command(agent: str) -> list[str]:
    """The command an agent runs for its hooks: `agent hook NAME` with this Python."""
    import sys

    return [sys.executable, "-m", "agentd", "hook", agent]


def short(value: Any, limit: int = 120) -> str:
    """One line of at most `limit` characters, for an event's summary."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def turn_ended(last_message: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The agent finished its turn: its last message joins the thread, and it waits."""
    events: list[dict[str, Any]] = []
    if last_message:
        events.append({"kind": "result", "attention": "info", "summary": short(last_message),
                       "data": {**data, "role": "assistant", "content": last_message}})
    events.append({"kind": "waiting", "attention": "notice",
                   "summary": "finished its turn; waiting for the next prompt", "data": data})
    return events


class Integration:
    """One agent's integration. Subclasses set `name` and `defaults` and override what
    their agent supports; what is not overridden says "not supported"."""

    name: str = ""
    defaults: Defaults = Defaults("")
    # Where `agent hook NAME` finds the payload: "stdin" (Claude Code's hooks), "argv" (its
    # last argument: Codex's notify), or None when the agent has no hooks wired to agentd.
    hook_payload: str | None = None

    def launch(self, spec: AgentSpec, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]]:
        """The command line of one session and the variables to add to its environment.
        Files the agent needs for this session go to `session_file(suffix)`."""
        return command_line(spec, prompt), {}

    def hook_events(self, payload: dict[str, Any], argv: list[str],
                    session_file: SessionFile) -> list[dict[str, Any]]:
        """agentd events (dicts as `append_session_events` takes them) for one payload of
        the agent's hook or notify command; `argv` is that command's arguments."""
        raise NotImplementedError(f"agent {self.name!r} has no hooks wired to agentd")

    # -- the agent's own conversation: captured from its hooks, continued by agent resume --

    def conversation_id(self, payload: dict[str, Any]) -> str | None:
        """The agent's own id for its conversation, when this hook or notify payload names
        it (`agent hook` reports it once per session as a `conversation` event)."""
        return None

    def resume(self, spec: AgentSpec, conversation: str | None, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]] | None:
        """Like `launch`, for a session that continues the agent's earlier conversation in
        the same worktree: `conversation` is its id when one was captured (else the
        agent's own "latest in this directory" is used). `prompt`, when not empty, is the
        next message. None: the agent cannot continue a conversation, and `agent resume`
        starts a fresh session with the prompt instead."""
        return None

    # -- not built yet: the next issue (usage and threads) fills these in ------------------

    def usage_reader(self) -> None:
        """Not built yet: will return a reader of token usage and cost from the agent's own
        transcript. None means "not supported" (Claude's Stop hook still reads usage through
        agents/claude_transcript.py)."""
        return None

    def thread_reader(self) -> None:
        """Not built yet: will return a reader of the conversation (prompts, messages, tool
        calls and results) from the agent's transcript. None means "not supported"."""
        return None
