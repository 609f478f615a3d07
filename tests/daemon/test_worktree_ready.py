"""A worktree ready to work in: `.worktreeinclude` files copied, setup commands run in the
session's PTY before the agent, a failing setup failing the task with its exit code and
the last lines of its output."""

from __future__ import annotations

import json
from pathlib import Path

from tests.daemon.test_artifacts import script_agent
from tests.helpers import Env, git, wait_for


def test_worktreeinclude_copies_untracked_files_inside_the_repo(env: Env, repo: Path) -> None:
    (repo / ".gitignore").write_text(".env\n*.local\nnode_modules/\n")
    (repo / ".worktreeinclude").write_text(".env\nconfig/*.local\nlinks/*\nmissing.txt\n")
    git("add", ".gitignore", ".worktreeinclude", cwd=repo)
    git("commit", "-q", "-m", "include", cwd=repo)
    (repo / ".env").write_text("TOKEN=abc\n")
    (repo / "config").mkdir()
    (repo / "config" / "db.local").write_text("db=dev\n")
    (repo / "config" / "db.example").write_text("not listed\n")
    (repo / "unlisted.env").write_text("not listed either\n")
    outside = repo.parent / "outside-secret"
    outside.write_text("never copied\n")
    (repo / "links").mkdir()
    (repo / "links" / "out").symlink_to(outside)  # points outside: skipped
    (repo / "links" / "in").symlink_to("../.env")  # points inside: kept as a symlink
    env.ok("run", "--agent", "true", "--name", "ready", cwd=repo)
    worktree = env.root / "worktrees" / "ready"
    assert (worktree / ".env").read_text() == "TOKEN=abc\n"
    assert (worktree / "config" / "db.local").read_text() == "db=dev\n"
    assert not (worktree / "config" / "db.example").exists()
    assert not (worktree / "unlisted.env").exists()
    assert not (worktree / "links" / "out").exists()
    assert not (worktree / "links" / "out").is_symlink()
    assert (worktree / "links" / "in").is_symlink()
    assert (worktree / "links" / "in").resolve() == (worktree / ".env").resolve()
    events = [json.loads(x) for x in env.ok("events", "ready", "--json").out.splitlines()]
    ready = next(e for e in events if e["kind"] == "worktree_ready")
    assert sorted(ready["data"]["files"]) == [".env", "config/db.local", "links/in"]


def test_setup_runs_in_the_worktree_before_the_agent(env: Env, repo: Path) -> None:
    env.write_config((env.root / "config.toml").read_text() + (
        f'\n[setup]\n"{repo}" = "echo setting up in $(pwd); echo done > .setup-ran"\n'))
    script_agent(env, "checker", "test -f .setup-ran && echo AGENT-SAW-SETUP\n")
    r = env.ok("run", "--agent", "checker", "--name", "prepared", "--json", cwd=repo).json()
    assert r["setup"] == ["echo setting up in $(pwd); echo done > .setup-ran"]
    t = env.wait_status("prepared", "completed")
    log = env.log_of("prepared").read_text()
    worktree = env.root / "worktrees" / "prepared"
    assert f"setting up in {worktree}" in log
    assert log.index("setting up") < log.index("AGENT-SAW-SETUP")
    assert t["exit_code"] == 0
    events = [json.loads(x) for x in env.ok("events", "prepared", "--json").out.splitlines()]
    phases = [e["data"]["phase"] for e in events if e["kind"] == "setup"]
    assert phases == ["started", "done"]


def test_agent_setup_runs_after_the_repo_setup(env: Env, repo: Path) -> None:
    env.write_config((env.root / "config.toml").read_text() + (
        f'\n[setup]\n"{repo}" = "echo one > order"\n'
        '[agents.ordered]\ncommand = "cat"\nargs = ["order"]\nprompt = "none"\n'
        'setup = "echo two >> order"\n'))
    env.ok("run", "--agent", "ordered", "--name", "ordered", cwd=repo)
    env.wait_status("ordered", "completed")
    assert (env.root / "worktrees" / "ordered" / "order").read_text() == "one\ntwo\n"


def test_failing_setup_fails_the_task_with_its_code_and_output(env: Env, repo: Path) -> None:
    env.write_config((env.root / "config.toml").read_text() + (
        f'\n[setup]\n"{repo}" = "echo fetching; echo npm ERR! no network >&2; exit 4"\n'))
    script_agent(env, "never", "echo AGENT-RAN\n")
    r = env.agent("run", "--agent", "never", "--name", "unready", cwd=repo)
    assert r.code == 1
    assert r.err == ("agent: error: unready: setup failed (exit 4): echo fetching; echo npm "
                     "ERR! no network >&2; exit 4: npm ERR! no network (output: agent logs "
                     "unready)\n")
    t = env.wait_status("unready", "failed")
    assert t["exit_code"] == 4
    assert t["status_reason"].startswith("setup failed (exit 4): echo fetching;")
    assert t["status_reason"].endswith("fetching | npm ERR! no network")
    log = env.log_of("unready").read_text()
    assert "npm ERR! no network" in log and "AGENT-RAN" not in log
    events = [json.loads(x) for x in env.ok("events", "unready", "--json").out.splitlines()]
    failed = wait_for(lambda: [e for e in events if e["kind"] == "setup"
                               and e["data"]["phase"] == "failed"], 1, "setup failed event")
    assert failed[0]["data"]["exit_code"] == 4
    assert failed[0]["attention"] == "action"
