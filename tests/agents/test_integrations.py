"""Agent integrations offline: recorded hook and notify payloads turned into golden events,
each integration's launch, and the registry (one module per agent, imported alone)."""

from __future__ import annotations

import json
import pkgutil
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import agentd.agents
from agentd.agents import BUILTINS, MODULES, WITH_HOOKS, WITH_RECORDS, integration
from agentd.agents.base import Defaults, Integration, RecordReader
from agentd.config import PROMPT_MODES, AgentSpec
from agentd.protocol.events import validate_batch

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(p for p in FIXTURES.glob("*/*.json"))
# Modules of the package that are not integrations.
NOT_INTEGRATIONS = {"base", "hook", "claude_records", "codex_records", "gemini_records",
                    "opencode_records"}


def session_files(tmp_path: Path) -> Any:
    return lambda suffix: tmp_path / f"0123456789.{suffix}"


def hook_input(it: Integration, payload: dict[str, Any]) -> list[str]:
    """The hook command's arguments, as the agent passes them."""
    return [json.dumps(payload)] if it.hook_payload == "argv" else []


def run_case(path: Path, tmp_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    case = json.loads(path.read_text())
    payload = dict(case["payload"])
    if "transcript" in case:
        payload["transcript_path"] = str(path.parent / case["transcript"])
    it = integration(path.parent.name)
    return it.hook_events(payload, hook_input(it, payload), session_files(tmp_path)), case


# -- recorded payloads → golden events -----------------------------------------------------


def test_every_integration_with_hooks_has_fixtures() -> None:
    assert sorted({p.parent.name for p in CASES}) == sorted(WITH_HOOKS)


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_payload_gives_the_golden_events(path: Path, tmp_path: Path) -> None:
    events, case = run_case(path, tmp_path)
    assert events == case["events"]
    validate_batch(events)  # and the daemon takes them


# -- launch --------------------------------------------------------------------------------


def spec(name: str, **kw: Any) -> AgentSpec:
    return AgentSpec(name=name, command=kw.pop("command", name), integration=name, **kw)


def test_claude_launch_writes_settings_with_the_hooks(tmp_path: Path) -> None:
    claude = integration("claude")
    argv, env = claude.launch(spec("claude", args=("--model", "opus")), "fix it",
                              session_files(tmp_path))
    settings = tmp_path / "0123456789.claude-settings.json"
    assert argv == ["claude", "--settings", str(settings), "--model", "opus", "fix it"]
    assert env == {}
    hooks = json.loads(settings.read_text())["hooks"]
    assert sorted(hooks) == sorted(["Notification", "PermissionRequest", "Stop",
                                    "UserPromptSubmit", "PreToolUse", "PostToolUse",
                                    "SessionEnd"])
    command = shlex.join([sys.executable, "-m", "agentd", "hook", "claude"])
    for name, (entry,) in hooks.items():
        assert entry["hooks"] == [{"type": "command", "command": command, "timeout": 10}]
        tool = name in ("PreToolUse", "PostToolUse", "PermissionRequest")
        assert entry.get("matcher") == ("*" if tool else None), name


def test_codex_launch_passes_notify_as_a_config_override(tmp_path: Path) -> None:
    argv, env = integration("codex").launch(spec("codex", args=("--full-auto",)), "fix it",
                                            session_files(tmp_path))
    assert argv[:2] == ["codex", "-c"] and argv[3:] == ["--full-auto", "fix it"]
    assert env == {}
    # Codex reads the value of -c as TOML.
    assert tomllib.loads(argv[2]) == {
        "notify": [sys.executable, "-m", "agentd", "hook", "codex"]}
    assert list(tmp_path.iterdir()) == []  # no per-session file


@pytest.mark.parametrize(("prompt_mode", "prompt", "last"), [
    ("arg", "go", ["go"]), ("arg", "", []), ("type", "go", []), ("none", "go", [])])
def test_generic_launch_is_command_args_prompt(tmp_path: Path, prompt_mode: str, prompt: str,
                                               last: list[str]) -> None:
    agent = AgentSpec(name="mine", command="my-agent", args=("-v",), prompt=prompt_mode)
    argv, env = integration("generic").launch(agent, prompt, session_files(tmp_path))
    assert (argv, env) == (["my-agent", "-v", *last], {})


# -- the registry --------------------------------------------------------------------------


def integration_modules() -> list[str]:
    found = [m.name for m in pkgutil.iter_modules(agentd.agents.__path__)]
    return sorted(set(found) - NOT_INTEGRATIONS)


def test_registry_lists_every_integration_module() -> None:
    assert integration_modules() == sorted(MODULES)
    assert all(MODULES[name] == f"agentd.agents.{name}" for name in MODULES)
    assert set(BUILTINS) == set(MODULES) - {"generic"}
    assert set(WITH_HOOKS) <= set(MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_satisfies_the_interface(name: str, tmp_path: Path) -> None:
    it = integration(name)
    assert isinstance(it, Integration) and it.name == name
    assert (it.__doc__ or sys.modules[MODULES[name]].__doc__ or "").strip()
    d = it.defaults
    assert isinstance(d, Defaults)
    assert d.prompt in PROMPT_MODES and d.idle_seconds >= 0
    assert bool(d.command) == (name in BUILTINS)  # generic: the user gives the command
    for pattern in (*d.waiting_patterns, *d.busy_patterns):
        re.compile(pattern)
    argv, env = it.launch(AgentSpec(name=name, command="x", integration=name), "p",
                          session_files(tmp_path))
    assert argv[0] == "x" and isinstance(env, dict)
    assert it.hook_payload in (None, "stdin", "argv")
    assert (it.hook_payload is not None) == (name in WITH_HOOKS)
    if name not in WITH_HOOKS:
        with pytest.raises(NotImplementedError):
            it.hook_events({}, [], session_files(tmp_path))
    reader = it.record_reader()
    assert (reader is not None) == (name in WITH_RECORDS)
    if reader is not None:
        assert isinstance(reader, RecordReader)
        assert reader.roots({"HOME": str(tmp_path)})  # somewhere under the agent's home
    assert it.resume_argv("ref") is None  # not built yet


def test_unknown_integration_names_the_known_ones() -> None:
    with pytest.raises(LookupError, match="unknown integration 'cursor'.*claude, codex"):
        integration("cursor")


@pytest.mark.parametrize("name", ["claude", "codex"])
def test_one_integration_imports_no_other_agent_module(name: str) -> None:
    code = ("import sys; from agentd.agents import integration; "
            f"integration({name!r}).hook_events; "
            "import json; print(json.dumps([sorted(m for m in sys.modules if "
            "m.startswith('agentd')), [m for m in ('dataclasses', 'typing', 'pathlib', "
            "'tomllib') if m in sys.modules]]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    agentd_modules, heavy = json.loads(out)
    assert agentd_modules == sorted(
        ["agentd", "agentd.agents", "agentd.agents.base", f"agentd.agents.{name}"])
    assert heavy == []
