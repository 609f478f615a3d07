"""Launch arguments that wire an agent's own hook system to agentd, per session, without
touching the user's settings files: Claude Code gets `--settings <file>` with hooks, Codex
gets `-c notify=[...]`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from agentd.config import AgentSpec

CLAUDE_HOOKS = ("Notification", "PermissionRequest", "Stop", "UserPromptSubmit", "PreToolUse",
                "PostToolUse", "SessionEnd")
_TOOL_HOOKS = {"PreToolUse", "PostToolUse", "PermissionRequest"}


def hook_command(agent: str) -> list[str]:
    return [sys.executable, "-m", "agentd", "hook", agent]


def claude_settings() -> dict[str, object]:
    command = shlex.join(hook_command("claude"))
    hooks: dict[str, object] = {}
    for name in CLAUDE_HOOKS:
        entry: dict[str, object] = {"hooks": [{"type": "command", "command": command,
                                               "timeout": 10}]}
        if name in _TOOL_HOOKS:
            entry["matcher"] = "*"
        hooks[name] = [entry]
    return {"hooks": hooks}


def launch_argv(agent: AgentSpec, prompt: str, session_dir: Path, sid: str) -> list[str]:
    """The agent's command line for one session."""
    argv = [agent.command]
    if agent.hooks == "claude":
        settings = session_dir / f"{sid}.claude-settings.json"
        settings.write_text(json.dumps(claude_settings(), indent=2))
        argv += ["--settings", str(settings)]
    elif agent.hooks == "codex":
        argv += ["-c", "notify=" + json.dumps(hook_command("codex"))]
    argv += agent.args
    if agent.prompt == "arg" and prompt:
        argv.append(prompt)
    return argv
