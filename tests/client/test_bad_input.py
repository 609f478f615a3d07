"""Bad input through the real `agent` CLI and a real daemon.

For every mistake: a non-zero exit, exactly one line on stderr starting `agent: error:` that
says what is wrong and what to do, and nothing half-created (no worktree, no `agent/*`
branch, no task row).
"""

from __future__ import annotations

import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentd.errors import (
    EXIT_CONFIG,
    EXIT_CONFLICT,
    EXIT_DAEMON,
    EXIT_GIT,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
)
from tests.conftest import QUICK_CONFIG
from tests.helpers import Env, Result, alive, git, kill_pid, wait_for


def one_line_error(r: Result) -> str:
    """The single `agent: error:` line of a failed command."""
    assert r.code != 0, f"expected a failure, got exit 0: {r.out}"
    assert "Traceback" not in r.err, r.err
    lines = r.err.splitlines()
    assert len(lines) == 1, f"stderr must be exactly one line, got {r.err!r}"
    assert lines[0].startswith("agent: error: "), r.err
    return lines[0]


@dataclass
class State:
    worktrees: set[str]
    branches: list[str]
    git_worktrees: list[str]
    tasks: list[dict[str, Any]]


def state(env: Env, repo: Path) -> State:
    """What exists: worktree dirs, agent/* branches, git's worktree list, task rows."""
    wt = env.root / "worktrees"
    tasks = env.ok("ls", "--all", "--json").json()
    for t in tasks:
        t.pop("elapsed_seconds")  # grows with the clock
    return State(
        worktrees={p.name for p in wt.iterdir()} if wt.is_dir() else set(),
        branches=git("for-each-ref", "--format=%(refname) %(objectname)",
                     "refs/heads/agent/", cwd=repo).splitlines(),
        git_worktrees=[line for line in git("worktree", "list", "--porcelain",
                                            cwd=repo).splitlines()
                       if line.startswith("worktree ")],
        tasks=tasks,
    )


@pytest.fixture
def before(env: Env, repo: Path) -> State:
    """One finished task already in place, so 'unchanged' is not just 'empty'."""
    env.ok("run", "--agent", "true", "--name", "keeper", cwd=repo)
    env.wait_status("keeper", "completed")
    return state(env, repo)


def end_daemon_of(root: Path) -> None:
    """End a daemon a test may have started on a root other than env.root, by pid."""
    try:
        pid = int((root / "agentd.pid").read_text().strip() or 0)
    except (OSError, ValueError):
        return
    if alive(pid):
        kill_pid(pid)
        wait_for(lambda: not alive(pid), 10, "daemon to exit")


# -- agent run ---------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "code", "says"), [
    (["--base", "nope"], EXIT_GIT, ["unknown base 'nope'", "branch or commit"]),
    (["--name", "Bad_Name"], EXIT_USAGE, ["invalid task name 'Bad_Name'", "a-z, 0-9"]),
    (["--name=-x"], EXIT_USAGE, ["invalid task name '-x'", "leading"]),
    (["--name", "a--b"], EXIT_USAGE, ["invalid task name 'a--b'", "double hyphen"]),
    (["--name", "a" * 65], EXIT_USAGE, ["invalid task name", "1-64"]),
    (["--name", "x-"], EXIT_USAGE, ["invalid task name 'x-'"]),
    (["--name", "café"], EXIT_USAGE, ["invalid task name 'café'"]),
    (["--name", "nl\n"], EXIT_USAGE, ["invalid task name 'nl\\n'"]),
    (["--name="], EXIT_USAGE, ["invalid task name ''"]),
    (["--agent", "nobody"], EXIT_CONFIG,
     ["unknown agent 'nobody'", "known agents: quick, fail, sleeper, true", "[agents.nobody]"]),
    (["--workspace", "/nonexistent/agentd-ws"], EXIT_GIT,
     ["/nonexistent/agentd-ws", "not a directory"]),
], ids=["unknown-base", "uppercase", "leading-hyphen", "double-hyphen", "65-chars",
        "trailing-hyphen", "unicode", "newline", "empty-name", "unknown-agent",
        "missing-workspace"])
def test_run_refuses_bad_input(env: Env, repo: Path, before: State, args: list[str],
                               code: int, says: list[str]) -> None:
    r = env.agent("run", "--agent", "sleeper", *args, "do", "it", cwd=repo)
    assert state(env, repo) == before
    line = one_line_error(r)
    assert r.code == code, line
    for text in says:
        assert text in line
    assert r.out == ""


def waiting_workers(env: Env) -> list[int]:
    """Worker processes of this root still waiting for a spec (`python -m agentd.worker -`)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[1:4] == [b"-m", b"agentd.worker", b"-"] and \
                f"AGENTD_DIR={env.root}".encode() in environ:
            found.append(int(proc.name))
    return found


def test_run_refuses_a_branch_that_exists(env: Env, repo: Path, before: State) -> None:
    """git is asked about the branch only when `worktree add` fails; the worker started
    ahead of the worktree is let go."""
    git("branch", "agent/taken", cwd=repo)
    before = state(env, repo)
    r = env.agent("run", "--agent", "sleeper", "--name", "taken", cwd=repo)
    line = one_line_error(r)
    assert r.code == EXIT_CONFLICT
    assert "branch agent/taken already exists" in line and "--name" in line
    assert state(env, repo) == before
    assert waiting_workers(env) == []


def test_workspace_not_a_git_repository(env: Env, repo: Path, before: State) -> None:
    plain = env.root.parent / "plain"
    plain.mkdir()
    r = env.agent("run", "--agent", "sleeper", "--name", "nogit", cwd=plain)
    line = one_line_error(r)
    assert r.code == EXIT_GIT
    assert f"{plain} is not inside a git repository" in line
    assert "git init" in line and "--workspace" in line
    assert state(env, repo) == before
    assert list(plain.iterdir()) == []


def test_detached_head_needs_base(env: Env, repo: Path, before: State) -> None:
    git("checkout", "-q", "--detach", cwd=repo)
    r = env.agent("run", "--agent", "sleeper", "--name", "floating", cwd=repo)
    line = one_line_error(r)
    assert r.code == EXIT_GIT
    assert "HEAD is detached" in line and "--base" in line
    assert state(env, repo) == before


def test_detached_head_with_base_works(env: Env, repo: Path, before: State) -> None:
    git("checkout", "-q", "--detach", cwd=repo)
    r = env.ok("run", "--agent", "true", "--name", "anchored", "--base", "main", cwd=repo)
    assert "agent/anchored (from main)" in r.out
    assert r.err == ""
    t = env.wait_status("anchored", "completed")
    assert t["base"] == "main"
    assert t["base_commit"] == git("rev-parse", "main", cwd=repo)
    assert (env.root / "worktrees" / "anchored").is_dir()
    # The user's checkout is left detached, as it was.
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=repo) == "HEAD"


def test_name_taken(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "twin", "first", cwd=repo)
    first = state(env, repo)
    (worker, agent_pid), = env.session_pids()
    r = env.agent("run", "--agent", "true", "--name", "twin", "second", cwd=repo)
    line = one_line_error(r)
    assert r.code == EXIT_CONFLICT
    assert "task name 'twin' is taken" in line
    assert "--name" in line and "agent kill --rm twin" in line
    # The first task is untouched: same row, same branch and worktree, still running.
    assert state(env, repo) == first
    t = env.task("twin")
    assert (t["status"], t["prompt"], t["agent"]) == ("running", "first", "sleeper")
    assert alive(worker) and alive(agent_pid)
    assert env.session_pids() == [(worker, agent_pid)]


def test_empty_repository(env: Env, repo: Path, before: State) -> None:
    empty = env.root.parent / "empty"
    empty.mkdir()
    git("init", "-q", "-b", "main", cwd=empty)
    r = env.agent("run", "--agent", "sleeper", "--name", "hollow", cwd=empty)
    line = one_line_error(r)
    assert r.code == EXIT_GIT
    assert "empty" in line and "commit" in line
    assert git("for-each-ref", "refs/heads/", cwd=empty) == ""
    assert git("worktree", "list", "--porcelain", cwd=empty).count("worktree ") == 1
    assert state(env, repo) == before


def test_agent_command_not_on_path(env: Env, repo: Path, before: State) -> None:
    """The task is created (the user can inspect it) and ends failed, saying why."""
    env.write_config(QUICK_CONFIG + '\n[agents.ghost]\ncommand = "definitely-not-installed-xyz"'
                                    '\n')
    r = env.agent("run", "--agent", "ghost", "--name", "spooky", cwd=repo)
    line = one_line_error(r)
    assert r.code != 0
    assert "spooky" in line
    assert "definitely-not-installed-xyz" in line and "PATH" in line
    t = env.wait_status("spooky", "failed")
    assert "definitely-not-installed-xyz" in t["status_reason"]
    assert "PATH" in t["status_reason"]
    assert t["attention"] == "action"
    assert t["ended_at"] is not None
    # Its branch and worktree exist, so the user can look; no worker was ever started.
    assert (env.root / "worktrees" / "spooky").is_dir()
    assert git("for-each-ref", "refs/heads/agent/spooky", cwd=repo) != ""
    with closing(env.db()) as db:
        row = db.execute("SELECT worker_pid, exit_code FROM sessions WHERE id = ?",
                         (t["session"],)).fetchone()
    assert row["worker_pid"] is None
    assert row["exit_code"] == 127


WEIRD = b"\xff\xfe".decode("utf-8", "surrogateescape")  # how Python hands over such bytes


@pytest.mark.parametrize(("args", "extra"), [([], {"WEIRD": WEIRD}), ([f"caf{WEIRD}"], {})],
                         ids=["environment", "prompt"])
def test_non_utf8_bytes(env: Env, repo: Path, before: State, args: list[str],
                        extra: dict[str, str]) -> None:
    """Bytes that are not UTF-8 in the environment or the prompt either travel to the agent
    or are refused cleanly: never a traceback, never half a task."""
    r = env.agent("run", "--agent", "true", "--name", "bytes", *args, cwd=repo, env=extra)
    if r.code == 0:
        env.wait_status("bytes", "completed")
    else:
        one_line_error(r)
        assert state(env, repo) == before


# -- config ------------------------------------------------------------------------------


def test_invalid_config_with_daemon_running(env: Env, repo: Path, before: State) -> None:
    config = env.root / "config.toml"
    env.write_config("# my settings\ncolour = true\n" + QUICK_CONFIG)
    bad_line = 2
    r = env.agent("run", "--agent", "sleeper", "--name", "configured", cwd=repo)
    line = one_line_error(r)
    assert r.code == EXIT_CONFIG
    assert line.startswith(f"agent: error: {config}:{bad_line}: colour: unknown key"), line
    # Commands that do not need the config keep working while it is broken...
    assert state(env, repo) == before
    # ...and once it is fixed everything works again.
    env.write_config(QUICK_CONFIG)
    env.ok("run", "--agent", "true", "--name", "configured", cwd=repo)
    env.wait_status("configured", "completed")
    assert {t["name"] for t in env.ok("ls", "--all", "--json").json()} == {"keeper",
                                                                           "configured"}


def test_invalid_toml_with_daemon_running(env: Env, repo: Path, before: State) -> None:
    config = env.root / "config.toml"
    env.write_config('default_agent = "demo"\n[agents.broken\ncommand = "sh"\n')
    r = env.agent("run", "--agent", "sleeper", "--name", "syntax", cwd=repo)
    line = one_line_error(r)
    assert r.code == EXIT_CONFIG
    assert str(config) in line and "line 2" in line
    env.write_config(QUICK_CONFIG)
    assert state(env, repo) == before


@pytest.mark.parametrize("command", [["ls"], ["run", "--agent", "true", "--name", "early"]])
def test_invalid_config_before_the_daemon_runs(env: Env, repo: Path,
                                               command: list[str]) -> None:
    """The daemon starts on demand; a bad config then is one clear line, not a hang."""
    config = env.root / "config.toml"
    env.write_config('default_agent = "demo"\n\n[agents.x]\ncommand = "sh"\nprompt = "yell"\n')
    r = env.agent(*command, cwd=repo)
    line = one_line_error(r)
    assert f"{config}:5: agents.x.prompt: must be one of arg, type, none" in line
    pid = env.daemon_pid()
    assert pid is None or not alive(pid)
    assert not (env.root / "worktrees").exists() or not any(
        (env.root / "worktrees").iterdir())
    assert git("for-each-ref", "refs/heads/agent/", cwd=repo) == ""
    # Fixed, the daemon starts and answers; nothing was created by the failed attempt.
    env.write_config(QUICK_CONFIG)
    assert env.ok("ls", "--all", "--json").json() == []


# -- the daemon cannot start ---------------------------------------------------------------


@pytest.mark.parametrize("where", ["below-a-file", "too-long"])
def test_daemon_cannot_start(env: Env, repo: Path, where: str) -> None:
    if where == "below-a-file":
        blocker = env.root.parent / "a-file"
        blocker.write_text("not a directory\n")
        root = blocker / "root"
    else:
        root = env.root.parent / ("d" * 110)  # the socket path would not fit in sun_path
    try:
        for command in (["ls"], ["run", "--agent", "true", "--name", "nowhere"]):
            r = env.agent(*command, cwd=repo, env={"AGENTD_DIR": str(root)})
            line = one_line_error(r)
            assert r.code == EXIT_DAEMON, line
            assert str(root) in line
            assert "AGENTD_DIR" in line, f"the message should say what to do: {line}"
    finally:
        end_daemon_of(root)
    assert git("for-each-ref", "refs/heads/agent/", cwd=repo) == ""


# -- unknown names -------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["kill"], ["kill", "--rm"], ["diff"], ["diff", "--stat"]])
def test_unknown_task_name(env: Env, repo: Path, before: State, command: list[str]) -> None:
    r = env.agent(*command, "no-such-task")
    line = one_line_error(r)
    assert r.code == EXIT_NOT_FOUND
    assert "'no-such-task'" in line and "agent ls --all" in line
    assert r.out == ""
    assert state(env, repo) == before


def test_stderr_shape_holds_without_a_repo_fixture(env: Env) -> None:
    """Errors reach the user the same way from any directory."""
    r = env.agent("kill", "ghost-task", cwd=Path(os.sep))
    assert one_line_error(r) == ("agent: error: no task or session named 'ghost-task' "
                                 "(see 'agent ls --all')")
    assert r.code == EXIT_NOT_FOUND
