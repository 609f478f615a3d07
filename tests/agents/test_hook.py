"""`agent hook NAME` as the agents run it: the payload on stdin (Claude Code) or as the last
argument (Codex), delivered to a real daemon; failures logged where the daemon logs."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentd.agents import integration
from agentd.config import AgentSpec
from tests.helpers import Env

FIXTURES = Path(__file__).parent / "fixtures"


def payload(agent: str, case: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / agent / f"{case}.json").read_text())["payload"])


def hook_env(env: Env, session: str) -> dict[str, str]:
    return {**env.env, "AGENTD_SESSION_ID": session,
            "AGENTD_SOCKET": str(env.root / "agentd.sock")}


def events(env: Env, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in env.ok("events", name, "--json").out.splitlines()]


def test_hooks_reach_the_daemon_from_stdin_and_argv(env: Env, repo: Path,
                                                    tmp_path: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "h", cwd=repo)
    session = env.wait_status("h", "running")["session"]
    # Claude Code runs the command its --settings file names, the payload on stdin.
    agent = AgentSpec(name="claude", command="claude", integration="claude")
    argv, _ = integration("claude").launch(agent, "", lambda s: tmp_path / f"x.{s}")
    settings = json.loads(Path(argv[2]).read_text())
    command = shlex.split(settings["hooks"]["PermissionRequest"][0]["hooks"][0]["command"])
    done = subprocess.run(command, input=json.dumps(payload("claude", "permission_request")),
                          env=hook_env(env, session), capture_output=True, text=True,
                          timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    t = env.wait_status("h", "blocked")
    assert t["attention"] == "action"
    assert t["attention_summary"] == "asks permission to use Bash: touch hello.txt"
    # Codex runs its notify command with the payload as the last argument.
    notify = [sys.executable, "-m", "agentd", "hook", "codex",
              json.dumps(payload("codex", "agent_turn_complete"))]
    done = subprocess.run(notify, env=hook_env(env, session), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    results = [e for e in events(env, "h") if e["kind"] == "result"]
    assert [e["data"]["content"] for e in results] == ["Created hello.txt."]
    assert results[0]["data"]["source"] == "codex-notify"
    env.ok("kill", "h")


def run_failing_hook(env: Env) -> subprocess.CompletedProcess[str]:
    # No daemon listens on the socket: the hook cannot deliver its events.
    argv = [sys.executable, "-m", "agentd", "hook", "codex",
            json.dumps(payload("codex", "agent_turn_complete"))]
    return subprocess.run(argv, env=hook_env(env, "abcdef0123"), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)


def warnings_in(log: Path) -> list[dict[str, Any]]:
    return [r for r in map(json.loads, log.read_text().splitlines())
            if r["component"] == "hook-codex" and r["level"] == "warning"]


def test_hook_failure_is_logged_in_the_data_dir(env: Env) -> None:
    data = env.root.parent / "data"
    env.write_config(f'data_dir = "{data}"\n')
    done = run_failing_hook(env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    (warning,) = warnings_in(data / "logs" / "agentd.log")
    assert warning["message"] == "hook failed"
    assert warning["fields"]["session"] == "abcdef0123"
    assert not (env.root / "logs").exists()


def test_hook_failure_with_a_broken_config_is_logged_in_the_root(env: Env) -> None:
    env.write_config('data_dir = \n')
    done = run_failing_hook(env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert len(warnings_in(env.root / "logs" / "agentd.log")) == 1


def test_the_conversation_id_is_reported_once_per_session_and_again_when_it_changes(
        env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "c", cwd=repo)
    session = env.wait_status("c", "running")["session"]

    def hook(p: dict[str, Any]) -> None:
        done = subprocess.run([sys.executable, "-m", "agentd", "hook", "claude"],
                              input=json.dumps(p), env=hook_env(env, session),
                              capture_output=True, text=True, timeout=30)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

    first = payload("claude", "pre_tool_use")
    hook(first)
    hook(payload("claude", "post_tool_use"))  # the same conversation: not reported again
    hook({**first, "session_id": "d00d0000-aaaa-bbbb-cccc-000000000001"})  # /clear, say
    reports = [(e["session"], e["data"]) for e in events(env, "c")
               if e["kind"] == "conversation"]
    assert reports == [
        (session, {"id": first["session_id"], "agent": "claude", "source": "claude-hook"}),
        (session, {"id": "d00d0000-aaaa-bbbb-cccc-000000000001", "agent": "claude",
                   "source": "claude-hook"})]
    card = env.ok("show", "c", "--json").json()
    assert card["sessions"][0]["agent_session_id"] == "d00d0000-aaaa-bbbb-cccc-000000000001"
    assert (env.root / "sessions" / f"{session}.conversation").read_text() == \
        "d00d0000-aaaa-bbbb-cccc-000000000001"
    env.ok("kill", "c")
