"""The real Claude Code and Codex CLIs (pinned, from the npm registry) run as agentd tasks
against fake API servers on 127.0.0.1. Blocked detection must come from their own hooks.

`make test` installs the CLIs first (scripts/test_tools.py); where npm or the registry is
not available, these tests are skipped and the reason is printed.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_api import FakeAnthropic, bash
from tests.fakes.openai_api import FakeOpenAI, shell_call
from tests.helpers import Env, git, wait_for
from tests.realcli import env as realenv
from tests.realcli import install

pytestmark = pytest.mark.realcli


@pytest.fixture(scope="module")
def clis() -> dict[str, Path]:
    try:
        return install.ensure_installed(quiet=True)
    except install.InstallError as e:
        pytest.skip(f"real agent CLIs unavailable: {e}")


def jailed(env: Env, binary: Path, extra: list[str]) -> Path:
    """A launcher running the CLI where name lookups can only reach 127.0.0.1 (Codex
    resolves a GitHub host at start; see tests/realcli/NOTES.md)."""
    prefix = realenv.dns_jail_prefix(env.root.parent / "jail")
    if prefix is None:
        pytest.skip("cannot confine the CLI's DNS to loopback (no mount namespaces here)")
    script = env.root.parent / f"{binary.name}-jailed"
    script.write_text("#!/bin/sh\nexec " + shlex.join([*prefix, str(binary), *extra])
                      + ' "$@"\n')
    script.chmod(0o755)
    return script


def statuses(env: Env, name: str) -> list[str]:
    out = env.ok("events", name, "--json").out.splitlines()
    return [e["data"]["to"] for e in map(json.loads, out) if e["kind"] == "status_changed"]


def events(env: Env, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in env.ok("events", name, "--json").out.splitlines()]


def readable_logs(env: Env, name: str, phrases: list[str]) -> None:
    """`agent logs` of a real full-screen agent reads as its screen did: words keep their
    spaces (cursor movements become spaces), no escape sequence survives, and no line is
    a run of redraws longer than the screen was wide."""
    text = env.ok("logs", name).out
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in the logs of {name}:\n{text[-3000:]}"
    assert "\x1b" not in text
    with env.db() as db:
        cols = db.execute("SELECT cols FROM sessions WHERE id = ?",
                          (env.task(name)["session"],)).fetchone()[0]
    assert max(len(line) for line in text.splitlines()) <= cols


@pytest.fixture
def anthropic() -> Iterator[FakeAnthropic]:
    api = FakeAnthropic(turns=[bash("touch hello.txt", "Create hello.txt"),
                               "Created hello.txt."]).start()
    yield api
    api.stop()


def test_claude_code_permission_prompt_blocks_then_turn_end(
        env: Env, repo: Path, clis: dict[str, Path], anthropic: FakeAnthropic) -> None:
    home = env.root.parent / "claude-home"
    worktree = env.root / "worktrees" / "cc"
    agent_env = realenv.claude_env(home, anthropic.url, project_dirs=[worktree],
                                   version=install.CLAUDE_CODE_VERSION)
    launcher = jailed(env, clis["claude"], [])
    env.write_config(f'[agents.claude]\ncommand = "{launcher}"\n'
                     'args = ["--permission-mode", "manual"]\n')
    run_env = {**agent_env, "AGENTD_DIR": str(env.root)}
    env.ok("run", "--agent", "claude", "--name", "cc",
           "Please create an empty file named hello.txt", cwd=repo, env=run_env)
    # The PermissionRequest hook: blocked, needs action.
    t = env.wait_status("cc", "blocked", timeout=60)
    # The hook and the screen both see the question; the hook's summary is the telling one.
    wait_for(lambda: "permission" in (env.task("cc")["attention_summary"] or ""), 30,
             "the PermissionRequest hook's summary")
    assert env.task("cc")["attention"] == "action"
    env.ok("send-input", "cc", "--key", "Enter")  # option 1, "Yes", is preselected
    wait_for(lambda: (worktree / "hello.txt").exists(), 30, "Claude to run the tool")
    # Its turn ends (Stop hook): blocked again, at notice level.
    wait_for(lambda: statuses(env, "cc")[-3:] == ["blocked", "running", "blocked"], 30,
             "blocked → running → blocked")
    t = env.task("cc")
    assert t["status"] == "blocked" and t["attention"] == "notice"
    assert "waiting for the next prompt" in t["attention_summary"]
    kinds = {e["kind"] for e in events(env, "cc")}
    assert {"waiting", "resumed", "tool_call", "tool_result", "result", "input_sent"} <= kinds
    assert t["tokens_in"] and t["tokens_out"]  # read from Claude's transcript at Stop
    assert len(anthropic.main_requests) == 2
    # Isolation: Claude kept its config and transcript in the test's HOME.
    assert list((home / ".claude" / "projects").rglob("*.jsonl"))
    readable_logs(env, "cc", ["Please create an empty file named hello.txt",
                              "Created hello.txt."])
    env.ok("kill", "cc")
    env.wait_status("cc", "killed")
    assert git("status", "--porcelain", cwd=worktree) == "?? hello.txt"


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(turns=[shell_call("touch hello.txt", escalate=True,
                                       justification="Create hello.txt?"),
                            "Created hello.txt."]).start()
    yield api
    api.stop()


def test_codex_approval_then_turn_complete(env: Env, repo: Path, clis: dict[str, Path],
                                           openai: FakeOpenAI) -> None:
    home = env.root.parent / "codex-home"
    worktree = env.root / "worktrees" / "cx"
    agent_env = realenv.codex_env(home, openai.url, project_dirs=[worktree],
                                  codex_package_root=clis["codex_package_root"],
                                  codex_path_dir=clis["codex_path_dir"])
    launcher = jailed(env, clis["codex"], ["--no-daemon"])
    env.write_config(f'[agents.codex]\ncommand = "{launcher}"\n')
    run_env = {**agent_env, "AGENTD_DIR": str(env.root)}
    env.ok("run", "--agent", "codex", "--name", "cx",
           "Please create an empty file named hello.txt", cwd=repo, env=run_env)
    # The approval dialog (seen on the screen): blocked, action.
    t = env.wait_status("cx", "blocked", timeout=60)
    assert t["attention"] == "action"
    env.ok("send-input", "cx", "--no-enter", "--", "y")
    wait_for(lambda: (worktree / "hello.txt").exists(), 30, "Codex to run the command")
    # notify agent-turn-complete: blocked at notice, with the final message in the thread.
    wait_for(lambda: env.task("cx")["attention"] == "notice", 30, "turn complete")
    t = env.task("cx")
    assert t["status"] == "blocked"
    assert "waiting for the next prompt" in t["attention_summary"]
    results = [e for e in events(env, "cx") if e["kind"] == "result"]
    assert results and results[-1]["data"]["content"] == "Created hello.txt."
    assert "running" in statuses(env, "cx")
    assert list((home / ".codex" / "sessions").rglob("*.jsonl"))  # Codex stayed in HOME
    readable_logs(env, "cx", ["Please create an empty file named hello.txt",
                              "Created hello.txt."])
    env.ok("kill", "cx")
    env.wait_status("cx", "killed")
