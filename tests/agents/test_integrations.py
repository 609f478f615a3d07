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
from agentd.protocol.events import is_conversation_id, validate_batch

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


CONVERSATIONS = json.loads((FIXTURES / "conversations.json").read_text())["expected"]


def test_every_case_says_which_conversation_it_names() -> None:
    assert sorted(CONVERSATIONS) == sorted(f"{p.parent.name}/{p.stem}" for p in CASES)


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_payload_names_its_conversation(path: Path) -> None:
    payload = json.loads(path.read_text())["payload"]
    assert integration(path.parent.name).conversation_id(payload) == CONVERSATIONS[
        f"{path.parent.name}/{path.stem}"]


@pytest.mark.parametrize("good", ["c9a85c7b-2e0d-46da-b5d4-0fed06c31324", "ses_01", "a:b.c",
                                  "x" * 200])
def test_real_conversation_ids_are_taken(good: str) -> None:
    assert is_conversation_id(good)
    assert integration("claude").conversation_id({"session_id": good}) == good


@pytest.mark.parametrize("bad", ["", "-rf", "--dangerously-skip-permissions", "a b", "x;y",
                                 "é", "a" * 201, 42, None])
def test_a_conversation_id_that_could_be_an_option_or_worse_is_not_taken(bad: Any) -> None:
    # It goes back to the agent as an argument (agent resume); the daemon's rule agrees.
    assert not is_conversation_id(bad)
    assert integration("claude").conversation_id({"session_id": bad}) is None
    assert integration("codex").conversation_id({"type": "agent-turn-complete",
                                                 "thread-id": bad}) is None


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
    resumed = it.resume(AgentSpec(name=name, command="x", integration=name), "c1", "p",
                        session_files(tmp_path))
    assert resumed is None or (resumed[0][0] == "x" and isinstance(resumed[1], dict))
    assert it.conversation_id({}) is None


NOTIFY = "notify=" + json.dumps([sys.executable, "-m", "agentd", "hook", "codex"])
# (integration, conversation id, prompt) -> the resumed session's command line; "S" stands
# for Claude's per-session settings file. Written from each CLI's documented syntax
# (`claude --help`, `codex resume --help`, Gemini CLI's and opencode's CLI docs).
RESUMES = [
    ("claude", "c9a85c7b", "go on", ["x", "--settings", "S", "--resume", "c9a85c7b", "-a",
                                     "go on"]),
    ("claude", None, "go on", ["x", "--settings", "S", "--continue", "-a", "go on"]),
    ("claude", "c9a85c7b", "", ["x", "--settings", "S", "--resume", "c9a85c7b", "-a"]),
    ("codex", "01a2-fd21", "go on", ["x", "resume", "-c", NOTIFY, "-a", "01a2-fd21",
                                     "go on"]),
    ("codex", None, "go on", ["x", "resume", "-c", NOTIFY, "-a", "--last", "go on"]),
    ("codex", "01a2-fd21", "", ["x", "resume", "-c", NOTIFY, "-a", "01a2-fd21"]),
    ("gemini", "6577c6cc", "go on", ["x", "--resume", "6577c6cc", "-i", "go on"]),
    ("gemini", None, "go on", ["x", "--resume", "latest", "-i", "go on"]),
    ("gemini", None, "", ["x", "--resume", "latest"]),
    ("opencode", "ses_01", "go on", ["x", "--session", "ses_01", "--prompt", "go on"]),
    ("opencode", None, "", ["x", "--continue"]),
    ("aider", None, "go on", ["x", "--restore-chat-history"]),  # the prompt is typed
]


@pytest.mark.parametrize(("name", "conversation", "prompt", "expected"), RESUMES)
def test_resume_continues_the_agents_own_conversation(
        name: str, conversation: str | None, prompt: str, expected: list[str],
        tmp_path: Path) -> None:
    it = integration(name)
    d = it.defaults
    args = ("-a",) if name in ("claude", "codex") else d.args
    agent = AgentSpec(name=name, command="x", integration=name, args=args, prompt=d.prompt)
    resumed = it.resume(agent, conversation, prompt, session_files(tmp_path))
    assert resumed is not None
    argv, env = resumed
    settings = str(tmp_path / "0123456789.claude-settings.json")
    assert [("S" if a == settings else a) for a in argv] == expected
    assert env == {}
    if name == "claude":  # the resumed session has agentd's hooks too
        assert "Stop" in json.loads(Path(settings).read_text())["hooks"]


@pytest.mark.parametrize("name", ["demo", "generic"])
def test_agents_without_a_conversation_cannot_resume(name: str, tmp_path: Path) -> None:
    agent = AgentSpec(name=name, command="x", integration=name)
    assert integration(name).resume(agent, "c1", "p", session_files(tmp_path)) is None


@pytest.mark.parametrize(("name", "flag"), [("gemini", "-i"), ("opencode", "--prompt")])
def test_no_prompt_leaves_no_prompt_option_without_a_value(name: str, flag: str,
                                                           tmp_path: Path) -> None:
    it = integration(name)
    agent = AgentSpec(name=name, command="x", integration=name, args=it.defaults.args)
    assert it.launch(agent, "", session_files(tmp_path))[0] == ["x"]
    assert it.launch(agent, "hi", session_files(tmp_path))[0] == ["x", flag, "hi"]


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
