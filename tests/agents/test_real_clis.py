"""The real Claude Code and Codex CLIs (pinned, from the npm registry) run as agentd tasks
against fake API servers on 127.0.0.1. Blocked detection must come from their own hooks.

`make test` installs the CLIs first (scripts/test_tools.py); where npm or the registry is
not available, these tests are skipped and the reason is printed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import genai_prices
import pytest

from tests.fakes.anthropic_api import FakeAnthropic, bash
from tests.fakes.gemini_api import FakeGemini
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


def expected_usage(calls: list[tuple[str, float, int, int, int, int]],
                   provider: str) -> dict[str, Any]:
    """Totals of (model, time, uncached input, output, cache read, cache write) calls, and
    their cost as genai-prices gives it for the model the agent asked for."""
    total = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
             "cache_write_tokens": 0}
    cost = 0.0
    for model, when, i, o, cr, cw in calls:
        for key, n in zip(total, (i, o, cr, cw), strict=True):
            total[key] += n
        cost += float(genai_prices.calc_price(
            genai_prices.Usage(input_tokens=i + cr + cw, output_tokens=o, cache_read_tokens=cr,
                               cache_write_tokens=cw), model, provider_id=provider,
            genai_request_timestamp=datetime.fromtimestamp(when, UTC)).total_price)
    return {**total, "calls": len(calls), "cost_usd": cost}


def check_usage(env: Env, name: str, expect: dict[str, Any]) -> None:
    """`agent ls --json` and `agent usage --json` carry exactly the expected figures."""
    def task_usage() -> dict[str, Any] | None:
        return env.task(name)["usage"]

    figures = {k: expect[k] for k in ("input_tokens", "output_tokens", "cache_read_tokens",
                                      "cache_write_tokens")}
    wait_for(lambda: {k: (task_usage() or {}).get(k) for k in figures} == figures, 30,
             f"{name}'s usage to be {figures} (is {task_usage()})")
    t = env.task(name)
    assert t["tokens_in"] == figures["input_tokens"] + figures["cache_read_tokens"] + \
        figures["cache_write_tokens"]
    assert t["tokens_out"] == figures["output_tokens"]
    assert t["cost_usd"] == pytest.approx(expect["cost_usd"], rel=1e-9)
    total = json.loads(env.ok("usage", name, "--json").out)["total"]
    assert {k: total[k] for k in figures} == figures
    assert total["calls"] == expect["calls"]
    assert total["cost_usd"] == pytest.approx(expect["cost_usd"], rel=1e-9)


def check_tokens(env: Env, name: str, calls: list[tuple[int, int, int, int]]) -> None:
    """The task's four token figures are the sums of (input, output, cache read, cache
    write) of `calls`, each counted once."""
    want = dict(zip(("input_tokens", "output_tokens", "cache_read_tokens",
                     "cache_write_tokens"), (sum(c[i] for c in calls) for i in range(4)),
                    strict=True))
    wait_for(lambda: {k: (env.task(name)["usage"] or {}).get(k) for k in want} == want, 30,
             f"{name}'s usage to be {want} (is {env.task(name)['usage']})")


def check_thread(env: Env, name: str, text: str, tool: str, args: str) -> None:
    """The assistant's text and the tool call, each once, the call with its result."""
    entries = json.loads(env.ok("thread", name, "--json").out)["entries"]
    assert [e["kind"] for e in entries][0] == "prompt"
    assert [e.get("text") for e in entries].count(text) == 1
    calls = [e for e in entries if e["kind"] == "tool_call"]
    assert [(c["tool"], c["args"]) for c in calls] == [(tool, args)]
    assert calls[0]["result"] is not None


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
    assert len(anthropic.main_requests) == 2
    # Usage: exactly what the fake reported for the requests the transcript records (its
    # side requests never reach the transcript), priced by genai-prices.
    transcripts = list((home / ".claude" / "projects").rglob("*.jsonl"))
    recorded = {json.loads(line)["message"]["id"] for f in transcripts
                for line in f.read_text().splitlines() if '"type":"assistant"' in line}
    assert recorded == {r.message_id for r in anthropic.main_requests}
    calls = [r for r in anthropic.log if r.message_id in recorded]
    expect = expected_usage([(r.body["model"], r.time, r.usage["input_tokens"],
                              r.usage["output_tokens"], r.usage["cache_read_input_tokens"],
                              r.usage["cache_creation_input_tokens"]) for r in calls],
                            "anthropic")
    check_usage(env, "cc", expect)
    check_thread(env, "cc", "Created hello.txt.", "Bash", "touch hello.txt")
    # Isolation: Claude kept its config and transcript in the test's HOME.
    assert list((home / ".claude" / "projects").rglob("*.jsonl"))
    readable_logs(env, "cc", ["Please create an empty file named hello.txt",
                              "Created hello.txt."])
    env.ok("kill", "cc")
    env.wait_status("cc", "killed")
    assert git("status", "--porcelain", cwd=worktree) == "?? hello.txt"


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    api = FakeOpenAI(model="gpt-6.1-sol", turns=[shell_call("touch hello.txt", escalate=True,
                                       justification="Create hello.txt?"),
                            "Created hello.txt."]).start()
    yield api
    api.stop()


def test_codex_approval_then_turn_complete(env: Env, repo: Path, clis: dict[str, Path],
                                           openai: FakeOpenAI) -> None:
    home = env.root.parent / "codex-home"
    worktree = env.root / "worktrees" / "cx"
    agent_env = realenv.codex_env(home, openai.url, project_dirs=[worktree], model="gpt-6.1-sol",
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
    assert [e["data"]["content"] for e in results] == ["Created hello.txt."]  # once
    # Usage: exactly what the fake reported for the main thread's requests (the title
    # side-thread's never reaches the rollout), priced by genai-prices.
    assert openai.side_requests, "Codex named the conversation in a side thread"
    expect = expected_usage([(r.body["model"], r.time,
                              r.usage["input_tokens"] - r.usage["cached_tokens"],
                              r.usage["output_tokens"], r.usage["cached_tokens"], 0)
                             for r in openai.main_requests], "openai")
    check_usage(env, "cx", expect)
    # A second turn: its call adds to the totals (cumulative totals in the rollout, each
    # difference counted once), the input joins the thread.
    env.ok("send-input", "cx", "--", "thanks")
    wait_for(lambda: len(openai.main_requests) == 3, 30, "a second turn")
    check_usage(env, "cx", expected_usage(
        [(r.body["model"], r.time, r.usage["input_tokens"] - r.usage["cached_tokens"],
          r.usage["output_tokens"], r.usage["cached_tokens"], 0)
         for r in openai.main_requests], "openai"))
    check_thread(env, "cx", "Created hello.txt.", "exec_command", "touch hello.txt")
    entries = json.loads(env.ok("thread", "cx", "--json").out)["entries"]
    assert [e.get("text") for e in entries if e["role"] == "user"] == [
        "Please create an empty file named hello.txt", "thanks"]
    assert "running" in statuses(env, "cx")
    assert list((home / ".codex" / "sessions").rglob("*.jsonl"))  # Codex stayed in HOME
    readable_logs(env, "cx", ["Please create an empty file named hello.txt",
                              "Created hello.txt."])
    env.ok("kill", "cx")
    env.wait_status("cx", "killed")


@pytest.fixture(scope="module")
def gemini_cli() -> Path:
    try:
        return install.ensure_gemini(quiet=True)
    except install.InstallError as e:
        pytest.skip(f"Gemini CLI unavailable: {e}")


def test_gemini_cli_usage_and_thread_from_its_chat_recording(
        env: Env, repo: Path, gemini_cli: Path) -> None:
    """Gemini CLI as a task (`-p`: one prompt, then it exits) against a fake Gemini API:
    the tokens are the fake's figures for its one request, priced by genai-prices, and the
    thread is the prompt and the answer, read from the chat it recorded."""
    home = env.root.parent / "gemini-home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(
        {"security": {"auth": {"selectedType": "gemini-api-key"}},
         "general": {"disableAutoUpdate": True}, "privacy": {"usageStatisticsEnabled": False}}))
    with FakeGemini() as api:
        env.write_config(f'[agents.gemini]\ncommand = "{gemini_cli}"\n'
                         'args = ["-m", "gemini-2.5-pro", "-p"]\n')
        run_env = realenv.base_env(home)
        run_env.update({"AGENTD_DIR": str(env.root), "GEMINI_API_KEY": "fake-key",
                        "GOOGLE_GEMINI_BASE_URL": api.url, "GEMINI_CLI_NO_RELAUNCH": "1",
                        "GEMINI_CLI_TRUST_WORKSPACE": "true",
                        "PATH": os.pathsep.join([str(Path(shutil.which("node") or "node")
                                                     .parent), run_env["PATH"]])})
        env.ok("run", "--agent", "gemini", "--name", "gm", "say hello", cwd=repo, env=run_env)
        env.wait_status("gm", "completed", "failed", timeout=60)
        assert env.status("gm") == "completed", env.ok("logs", "gm").out[-2000:]
        calls = [r for r in api.log if r.kind == "main"]
    assert [r.model for r in calls] == ["gemini-2.5-pro"]
    expect = expected_usage([(r.model, r.time,
                              r.usage["promptTokenCount"] - r.usage["cachedContentTokenCount"],
                              r.usage["candidatesTokenCount"] + r.usage["thoughtsTokenCount"],
                              r.usage["cachedContentTokenCount"], 0) for r in calls], "google")
    check_usage(env, "gm", expect)
    entries = json.loads(env.ok("thread", "gm", "--json").out)["entries"]
    assert [(e["kind"], e.get("text")) for e in entries] == [
        ("prompt", "say hello"), ("message", "Hello from the fake Gemini."), ("exit", None)]


# -- resume: the agent continues its own conversation ---------------------------------------

WORD_PROMPT = "Remember the word kumquat"
WORD_REPLY = "Noted: kumquat."
ASK_PROMPT = "Which word did I ask you to remember?"


def texts(obj: Any) -> str:
    """Every string in a request body, for looking up what it carried."""
    return json.dumps(obj)


def conversation_of(env: Env, name: str, seq: int) -> str | None:
    card = env.ok("show", name, "--json").json()
    value: str | None = card["sessions"][seq - 1]["agent_session_id"]
    return value


def argv_of(env: Env, session: str) -> list[str]:
    with env.db() as db:
        argv: list[str] = json.loads(db.execute("SELECT argv FROM sessions WHERE id = ?",
                                                (session,)).fetchone()[0])
    return argv


def forget_conversation(env: Env, name: str) -> None:
    """As if no hook had ever reported the id: the resume falls back on the agent's own
    "latest conversation in this directory"."""
    with env.db() as db:
        db.execute("UPDATE sessions SET agent_session_id = NULL WHERE task_id = "
                   "(SELECT id FROM tasks WHERE name = ?)", (name,))


@pytest.mark.parametrize("captured", [True, False], ids=["by-id", "latest-in-worktree"])
def test_claude_code_resume_sends_the_earlier_conversation(
        env: Env, repo: Path, clis: dict[str, Path], captured: bool) -> None:
    api = FakeAnthropic(turns=[WORD_REPLY, "It was kumquat."]).start()
    try:
        home = env.root.parent / "claude-home"
        worktree = env.root / "worktrees" / "cr"
        agent_env = realenv.claude_env(home, api.url, project_dirs=[worktree],
                                       version=install.CLAUDE_CODE_VERSION)
        env.write_config(f'[agents.claude]\ncommand = "{jailed(env, clis["claude"], [])}"\n')
        run_env = {**agent_env, "AGENTD_DIR": str(env.root)}
        env.ok("run", "--agent", "claude", "--name", "cr", WORD_PROMPT, cwd=repo,
               env=run_env)
        # Its turn ends (Stop hook); the hooks reported Claude's session id.
        wait_for(lambda: env.task("cr")["attention"] == "notice", 60, "the first turn")
        first = wait_for(lambda: conversation_of(env, "cr", 1), 30, "the session id")
        env.ok("kill", "cr")
        env.wait_status("cr", "killed")
        if not captured:
            forget_conversation(env, "cr")
        r = env.ok("resume", "cr", ASK_PROMPT, env=run_env)
        assert "claude continues its conversation" in r.out
        wait_for(lambda: len(api.main_requests) == 2, 60, "the resumed request")
        body = api.main_requests[-1].body
        sent = texts(body["messages"])
        assert WORD_PROMPT in sent and WORD_REPLY in sent and ASK_PROMPT in sent
        assert sent.index(WORD_PROMPT) < sent.index(WORD_REPLY) < sent.index(ASK_PROMPT)
        # The resumed session continues the same conversation, under the same id.
        wait_for(lambda: conversation_of(env, "cr", 2), 30, "the resumed session's id")
        card = env.ok("show", "cr", "--json").json()
        one, two = card["sessions"]
        assert two["resumes"] == one["id"] and two["agent_session_id"] == first
        how = ["--resume", first] if captured else ["--continue"]
        assert argv_of(env, two["id"])[-len(how) - 1:] == [*how, ASK_PROMPT]
        assert two["live"] and card["status"] in ("running", "blocked")
        # Usage continues across the sessions, each request once (the transcript the
        # resumed session appends to, or starts, is read from where it was left).
        check_tokens(env, "cr", [(r.usage["input_tokens"], r.usage["output_tokens"],
                                  r.usage["cache_read_input_tokens"],
                                  r.usage["cache_creation_input_tokens"])
                                 for r in api.main_requests])
        env.ok("kill", "cr")
        env.wait_status("cr", "killed")
    finally:
        api.stop()


@pytest.mark.parametrize("captured", [True, False], ids=["by-id", "latest-in-worktree"])
def test_codex_resume_sends_the_earlier_conversation(
        env: Env, repo: Path, clis: dict[str, Path], captured: bool) -> None:
    api = FakeOpenAI(turns=[WORD_REPLY, "It was kumquat."]).start()
    try:
        home = env.root.parent / "codex-home"
        worktree = env.root / "worktrees" / "xr"
        agent_env = realenv.codex_env(home, api.url, project_dirs=[worktree],
                                      codex_package_root=clis["codex_package_root"],
                                      codex_path_dir=clis["codex_path_dir"])
        launcher = jailed(env, clis["codex"], ["--no-daemon"])
        env.write_config(f'[agents.codex]\ncommand = "{launcher}"\n')
        run_env = {**agent_env, "AGENTD_DIR": str(env.root)}
        env.ok("run", "--agent", "codex", "--name", "xr", WORD_PROMPT, cwd=repo,
               env=run_env)
        # notify agent-turn-complete names the thread (not the title side thread's).
        first = wait_for(lambda: conversation_of(env, "xr", 1), 60, "the thread id")
        main_ids = {r.headers.get("thread-id") or r.headers.get("session-id")
                    for r in api.main_requests}
        assert first in main_ids
        env.ok("kill", "xr")
        env.wait_status("xr", "killed")
        if not captured:
            forget_conversation(env, "xr")
        r = env.ok("resume", "xr", ASK_PROMPT, env=run_env)
        assert "codex continues its conversation" in r.out
        wait_for(lambda: len(api.main_requests) == 2, 60, "the resumed request")
        sent = texts(api.main_requests[-1].body["input"])
        assert WORD_PROMPT in sent and WORD_REPLY in sent and ASK_PROMPT in sent
        assert sent.index(WORD_PROMPT) < sent.index(WORD_REPLY) < sent.index(ASK_PROMPT)
        second = env.task("xr")["session"]
        assert argv_of(env, second)[-2:] == [first if captured else "--last", ASK_PROMPT]
        wait_for(lambda: conversation_of(env, "xr", 2), 60, "the resumed thread id")
        assert conversation_of(env, "xr", 2) == first
        check_tokens(env, "xr", [(r.usage["input_tokens"] - r.usage["cached_tokens"],
                                  r.usage["output_tokens"], r.usage["cached_tokens"], 0)
                                 for r in api.main_requests])
        env.ok("kill", "xr")
        env.wait_status("xr", "killed")
    finally:
        api.stop()
