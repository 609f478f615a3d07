"""Task lifecycle end to end: real daemon, real worker, real PTY, real git."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import AGENT, Env, alive, git, scaled, wait_for


def test_run_creates_branch_worktree_and_completes(env: Env, repo: Path) -> None:
    r = env.ok("run", "--agent", "quick", "--name", "fix-tests", "fix", "the", "tests",
               cwd=repo)
    assert "started fix-tests" in r.out
    assert "agent/fix-tests (from main)" in r.out
    worktree = env.root / "worktrees" / "fix-tests"
    assert worktree.is_dir()
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=worktree) == "agent/fix-tests"
    t = env.wait_status("fix-tests", "completed")
    assert t["exit_code"] == 0
    assert t["prompt"] == "fix the tests"
    assert t["ended_at"] is not None
    # The demo agent committed on the task's branch, not on main.
    assert git("rev-list", "--count", "main..agent/fix-tests", cwd=repo) == "1"
    assert git("rev-list", "--count", "main", cwd=repo) == "1"
    assert b"fix the tests" in env.log_of("fix-tests").read_bytes()


def test_nonzero_exit_is_failed_with_code(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "fail", "--name", "boom", cwd=repo)
    t = env.wait_status("boom", "failed")
    assert t["exit_code"] == 3
    assert "exited with code 3" in t["status_reason"]


def test_ls_json_fields_and_table(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "napper", cwd=repo)
    t = env.task("napper")
    for key in ("name", "agent", "status", "attention", "attention_summary", "branch", "base",
                "worktree", "workspace", "created_at", "ended_at", "exit_code", "tokens_in",
                "tokens_out", "cost_usd"):
        assert key in t, key
    assert t["status"] == "running"
    assert t["workspace"] == str(repo)
    assert t["tokens_in"] is None and t["cost_usd"] is None
    table = env.ok("ls").out.splitlines()
    assert table[0].split() == ["NAME", "AGENT", "STATUS", "ELAPSED", "TOKENS", "COST"]
    row = next(line for line in table if "napper" in line)
    assert row.startswith("● napper")
    assert row.split()[3:7] == ["running", row.split()[4], "-", "-"]


def test_agent_environment(env: Env, repo: Path) -> None:
    env.write_config(
        '[agents.envdump]\ncommand = "sh"\n'
        'args = ["-c", "env | grep -E \'^(AGENTD_|MY_VAR)\' | sort; pwd"]\nprompt = "none"\n')
    env.ok("run", "--agent", "envdump", "--name", "envy", cwd=repo,
           env={"MY_VAR": "from-the-client"})
    env.wait_status("envy", "completed")
    session = env.task("envy")["session"]
    text = env.log_of("envy").read_text()
    worktree = env.root / "worktrees" / "envy"
    assert f"AGENTD_SESSION_ID={session}" in text
    assert f"AGENTD_SOCKET={env.root / 'agentd.sock'}" in text
    assert f"AGENTD_WORKSPACE={repo}" in text
    assert f"AGENTD_WORKTREE={worktree}" in text
    assert "AGENTD_BRANCH=agent/envy" in text
    assert "AGENTD_TASK=envy" in text
    assert "MY_VAR=from-the-client" in text  # the client's environment, not the daemon's
    assert str(worktree) in text.splitlines()[-1]


def test_prompt_is_last_argument_by_default(env: Env, repo: Path) -> None:
    env.write_config('[agents.echo]\ncommand = "echo"\nargs = ["ARGS:"]\n')
    env.ok("run", "--agent", "echo", "--name", "echoer", "do", "this", cwd=repo)
    env.wait_status("echoer", "completed")
    assert "ARGS: do this" in env.log_of("echoer").read_text()


def test_prompt_typed_into_pty(env: Env, repo: Path) -> None:
    env.write_config('[agents.reader]\ncommand = "sh"\n'
                     'args = ["-c", "printf ready; read line; echo got:$line"]\n'
                     'prompt = "type"\n')
    env.ok("run", "--agent", "reader", "--name", "typist", "hello", "there", cwd=repo)
    env.wait_status("typist", "completed")
    assert "got:hello there" in env.log_of("typist").read_text()


def test_kill_keeps_worktree_branch_and_logs(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "victim", cwd=repo)
    worker_pid, agent_pid = env.session_pids()[0]
    assert alive(agent_pid)
    r = env.ok("kill", "victim")
    assert "killed victim" in r.out
    t = env.wait_status("victim", "killed")
    assert t["status"] == "killed"
    wait_for(lambda: not alive(agent_pid), 10, "agent to die")
    wait_for(lambda: not alive(worker_pid), 10, "worker to exit")
    assert (env.root / "worktrees" / "victim").is_dir()
    assert git("branch", "--list", "agent/victim", cwd=repo)
    # A killed task stays killed after its exit status arrives.
    assert env.status("victim") == "killed"


def test_kill_escalates_to_sigkill(env: Env, repo: Path) -> None:
    env.write_config('kill_grace_seconds = 0.5\n[agents.stubborn]\ncommand = "sh"\n'
                     'args = ["-c", "trap \'\' HUP TERM; echo armed; while :; do sleep 0.1; '
                     'done"]\nprompt = "none"\n')
    env.ok("run", "--agent", "stubborn", "--name", "mule", cwd=repo)
    _, agent_pid = env.session_pids()[0]
    log = env.log_of("mule")
    wait_for(lambda: b"armed" in log.read_bytes(), 10, "trap to be set")
    env.ok("kill", "mule")
    wait_for(lambda: not alive(agent_pid), 10, "stubborn agent to be SIGKILLed")
    assert env.status("mule") == "killed"


def test_kill_rm_deletes_branch_without_commits(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "empty", cwd=repo)
    session = env.task("empty")["session"]
    r = env.ok("kill", "--rm", "empty")
    assert "removed empty" in r.out
    assert not (env.root / "worktrees" / "empty").exists()
    assert git("branch", "--list", "agent/empty", cwd=repo) == ""
    assert not (env.root / "logs" / f"{session}.log").exists()
    assert "empty" not in env.ok("ls", "--all").out
    with env.db() as db:
        assert db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    assert "agentd-worktree" not in git("worktree", "list", cwd=repo)
    assert len(git("worktree", "list", cwd=repo).splitlines()) == 1


def test_kill_rm_keeps_branch_with_commits(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "quick", "--name", "worker", cwd=repo)
    env.wait_status("worker", "completed")
    r = env.ok("kill", "--rm", "worker")
    assert "kept branch agent/worker: 1 commit(s) not on main" in r.out
    assert git("branch", "--list", "agent/worker", cwd=repo).strip() == "agent/worker"
    assert not (env.root / "worktrees" / "worker").exists()


def test_kill_rm_refuses_to_discard_uncommitted_work(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "dirty", cwd=repo)
    (env.root / "worktrees" / "dirty" / "wip.txt").write_text("precious\n")
    r = env.agent("kill", "--rm", "dirty")
    assert r.code != 0
    assert "uncommitted" in r.err and "--force" in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert (env.root / "worktrees" / "dirty" / "wip.txt").exists()
    env.ok("kill", "--rm", "--force", "dirty")


def test_kill_rm_looks_for_uncommitted_work_after_the_agent_stopped(env: Env,
                                                                    repo: Path) -> None:
    """An agent that writes a file as it shuts down: the file is not lost."""
    env.write_config(env.root.joinpath("config.toml").read_text() +
                     '[agents.saver]\ncommand = "sh"\n'
                     'args = ["-c", "trap \'echo saved > last-words.txt; exit 0\' HUP TERM; '
                     'echo ready; while :; do sleep 0.1; done"]\nprompt = "none"\n')
    env.ok("run", "--agent", "saver", "--name", "saver", cwd=repo)
    wait_for(lambda: b"ready" in env.log_of("saver").read_bytes(), 10, "the agent to start")
    r = env.agent("kill", "--rm", "saver")
    assert r.code != 0
    assert r.err.strip() == ("agent: error: stopped saver but kept it: its worktree has 1 "
                             "uncommitted change(s) (last-words.txt); commit them or pass "
                             "--force to discard them")
    worktree = env.root / "worktrees" / "saver"
    assert (worktree / "last-words.txt").read_text() == "saved\n"
    assert env.status("saver") == "killed"
    assert not (env.root / "worktrees" / "dirty").exists()


def test_diff_shows_commits_uncommitted_and_untracked(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "quick", "--name", "differ", cwd=repo)
    env.wait_status("differ", "completed")
    worktree = env.root / "worktrees" / "differ"
    (worktree / "README.md").write_text("hello\nchanged\n")
    (worktree / "new.txt").write_text("brand new\n")
    out = env.ok("diff", "differ").out
    assert "DEMO_NOTES.md" in out  # committed
    assert "+changed" in out  # uncommitted
    assert "+brand new" in out  # untracked
    assert "\x1b[" not in out  # plain when not a terminal
    stat = env.ok("diff", "differ", "--stat").out
    assert "3 files changed" in stat
    coloured = env.ok("diff", "differ", "--color", "always").out
    assert "\x1b[" in coloured
    # The agent's own index is untouched by diff.
    assert git("diff", "--cached", "--name-only", cwd=worktree) == ""
    assert git("ls-files", "--others", cwd=worktree) == "new.txt"


def test_daemon_kill9_leaves_agents_running(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "survivor", cwd=repo)
    # 'finisher' must outlive the daemon's death below, and then end on its own.
    env.write_config(env.root.joinpath("config.toml").read_text() +
                     f'[agents.short]\ncommand = "sleep"\nargs = ["{scaled(2):g}"]\n'
                     'prompt = "none"\n')
    env.ok("run", "--agent", "short", "--name", "finisher", cwd=repo)
    pids = env.session_pids()
    daemon = env.daemon_pid()
    assert daemon
    os.kill(daemon, signal.SIGKILL)
    wait_for(lambda: not alive(daemon), 10, "daemon to die")
    for worker, agent in pids:
        assert alive(worker) and alive(agent)
    # While the daemon is down, 'finisher' exits: its worker writes to SQLite directly.
    wait_for(lambda: not alive(pids[1][0]), 15, "finisher's worker to exit")
    assert env.daemon_pid() == daemon or not alive(env.daemon_pid())
    tasks = {t["name"]: t for t in env.ok("ls", "--json").json()}  # starts a new daemon
    assert env.daemon_pid() != daemon
    assert tasks["survivor"]["status"] == "running"
    assert tasks["finisher"]["status"] == "completed"
    assert alive(pids[0][1])


def test_daemon_stop_restart_upgrade_leave_tasks_running(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "steady", cwd=repo)
    worker, agent = env.session_pids()[0]
    info = env.ok("daemon", "info", "--json").json()
    assert info["running_tasks"] == ["steady"]
    assert info["root"] == str(env.root)
    assert info["socket"] == str(env.root / "agentd.sock")
    for key in ("version", "protocol", "pid", "db", "logs", "worktrees"):
        assert key in info
    first = info["pid"]
    assert "agentd stopped" in env.ok("daemon", "stop").out
    assert not alive(first)
    assert alive(worker) and alive(agent)
    assert "not running" in env.ok("daemon", "stop").out
    env.ok("daemon", "restart")
    second = env.ok("daemon", "info", "--json").json()["pid"]
    assert second != first
    r = env.ok("daemon", "upgrade")
    assert "upgraded in place" in r.out
    after = env.ok("daemon", "info", "--json").json()
    assert after["pid"] == second  # re-executed in place, same process
    assert after["running_tasks"] == ["steady"]
    assert alive(worker) and alive(agent)
    assert env.status("steady") == "running"


def test_vanished_worker_becomes_lost(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "ghost", cwd=repo)
    worker, agent = env.session_pids()[0]
    os.kill(daemon := env.daemon_pid() or 0, signal.SIGKILL)
    wait_for(lambda: not alive(daemon), 10, "daemon to die")
    os.kill(worker, signal.SIGKILL)
    os.killpg(agent, signal.SIGKILL)
    wait_for(lambda: not alive(worker), 10, "worker to die")
    t = env.task("ghost")
    assert t["status"] == "lost"
    assert "vanished" in t["status_reason"]
    assert t["attention"] == "action"


def test_name_generation_is_unique_under_200_concurrent_runs(env: Env, repo: Path) -> None:
    procs = [subprocess.Popen([*AGENT, "run", "--agent", "true", "--json"], cwd=repo,
                              env=env.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(200)]
    names = []
    for p in procs:
        out, err = p.communicate(timeout=scaled(240))
        assert p.returncode == 0, err
        names.append(json.loads(out)["name"])
    assert len(set(names)) == 200
    assert all("-" in n for n in names)
    assert len(env.ok("ls", "--all", "--json").json()) == 200
    branches = git("for-each-ref", "--format=%(refname)", "refs/heads/agent/", cwd=repo).split()
    assert len(branches) == 200


def imported_by(env: Env, *args: str) -> set[str]:
    """Every module `agent ARGS` imports, from `python -X importtime`."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "agentd", *args],
                          env=env.env, capture_output=True, text=True, timeout=60)
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


HEAVY = {"asyncio", "sqlite3", "dataclasses", "argparse", "textual", "rich", "pathlib",
         "subprocess", "typing", "genai_prices", "pydantic", "agentd.pricing"}


def test_ls_and_attach_start_without_heavy_imports(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "true", "--name", "quick", cwd=repo)  # a live daemon, a task
    ls = imported_by(env, "ls")
    assert {"agentd.client.cli", "agentd.client.api", "agentd.client.commands.ls"} <= ls
    assert ls & HEAVY == set()
    # Costs are computed when usage is recorded, in the daemon: listing them never prices.
    listed = imported_by(env, "ls", "--json")
    assert not {m for m in ls | listed if m.split(".")[0] in ("genai_prices", "pydantic")}
    assert "agentd.pricing" not in ls | listed
    attach = imported_by(env, "attach", "no-such-task")
    assert "agentd.client.attach" in attach
    assert attach & HEAVY == set()


@pytest.mark.parametrize("how", ["stop", "upgrade"])
def test_daemon_stop_during_agent_run_finishes_the_run(env: Env, repo: Path, how: str) -> None:
    """`daemon stop`/`upgrade` while `agent run` is creating its worktree: the run completes
    (task, worktree and session all there), nothing is left half-created."""
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\nsleep {scaled(1):g}\n")  # git worktree add runs it
    hook.chmod(0o755)
    env.ok("ls")  # the daemon is up
    run = subprocess.Popen([*AGENT, "run", "--agent", "sleeper", "--name", "racer", "--json"],
                           cwd=repo, env=env.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (env.root / "worktrees" / "racer").exists(), 10, "the worktree to start")
    env.ok("daemon", how)
    out, err = run.communicate(timeout=scaled(60))
    assert run.returncode == 0, err
    assert json.loads(out)["name"] == "racer"
    t = env.task("racer")  # (a new daemon, after a stop)
    assert t["status"] == "running"
    assert (env.root / "worktrees" / "racer" / "README.md").exists()


def test_the_agents_environment_is_not_kept_on_disk(env: Env, repo: Path) -> None:
    """`agent run` hands the agent its whole environment (API keys among it): the worker
    spec that carries it is gone once the worker has read it; nothing else keeps it."""
    secret = "sk-test-" + "7" * 24
    env.ok("run", "--agent", "sleeper", "--name", "secretive", cwd=repo,
           env={"ANTHROPIC_API_KEY": secret})
    sid = env.task("secretive")["session"]
    assert not (env.root / "sessions" / f"{sid}.json").exists()
    for path in env.root.rglob("*"):
        if path.is_file() and not path.is_socket():
            assert secret.encode() not in path.read_bytes(), path
