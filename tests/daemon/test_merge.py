"""Bringing work home: merge (dry run, refusals, fast-forward, merge commit, squash), the
merged marker and `kill --rm` deleting the merged branch, and apply. Real git throughout."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from agentd.errors import AgentdError
from tests.daemon.test_artifacts import by_kind, request
from tests.helpers import Env, git, wait_for


def state(repo: Path) -> tuple[str, str, str, str]:
    """What a merge must not change when it refuses: HEAD, status, the index file, and
    every branch tip."""
    index = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    return (git("rev-parse", "HEAD", cwd=repo), git("status", "--porcelain", cwd=repo), index,
            git("for-each-ref", "--format=%(refname) %(objectname)", cwd=repo))


def finished(env: Env, repo: Path, name: str = "home") -> dict[str, Any]:
    """A task whose demo agent committed one change on its branch."""
    env.ok("run", "--agent", "quick", "--name", name, cwd=repo)
    env.wait_status(name, "completed")
    wait_for(lambda: by_kind(env, name, "patch"), 10, "capture")
    return env.task(name)


def merge(env: Env, name: str = "home", **p: Any) -> Any:
    return request(env, "merge_task", {"name": name, **p})


def test_dry_run_says_fast_forward_and_changes_nothing(env: Env, repo: Path) -> None:
    finished(env, repo)
    before = state(repo)
    r = merge(env, dry_run=True)
    assert (r["outcome"], r["commits"], r["merged"], r["blocked"]) == (
        "fast-forward", 1, False, None)
    assert state(repo) == before
    assert env.task("home")["merged_into"] is None


def test_merge_refuses_a_dirty_checkout_and_another_branch(env: Env, repo: Path) -> None:
    finished(env, repo)
    (repo / "README.md").write_text("local edit\n")
    before = state(repo)
    with pytest.raises(AgentdError, match=r"has uncommitted changes \(README.md\); commit or "
                                          r"stash them first .*nothing was changed"):
        merge(env)
    assert state(repo) == before
    assert "uncommitted changes" in merge(env, dry_run=True)["blocked"]
    git("checkout", "-q", "README.md", cwd=repo)
    git("switch", "-q", "-c", "elsewhere", cwd=repo)
    before = state(repo)
    with pytest.raises(AgentdError, match="is on elsewhere, not main; run 'git switch main'"):
        merge(env)
    assert state(repo) == before


def test_merge_refuses_a_conflict_leaving_both_sides_untouched(env: Env, repo: Path) -> None:
    task = finished(env, repo)
    (repo / "DEMO_NOTES.md").write_text("the user's own notes\n")
    git("add", "DEMO_NOTES.md", cwd=repo)
    git("commit", "-q", "-m", "user notes", cwd=repo)
    before, tip = state(repo), git("rev-parse", task["branch"], cwd=repo)
    for dry in (True, False):
        with pytest.raises(AgentdError, match=r"would conflict in DEMO_NOTES.md; nothing was "
                                              r"changed"):
            merge(env, dry_run=dry)
    assert state(repo) == before
    assert git("rev-parse", task["branch"], cwd=repo) == tip
    worktree = Path(task["worktree"])
    assert git("status", "--porcelain", cwd=worktree) == ""


def test_fast_forward_marks_merged_and_kill_rm_deletes_the_branch(env: Env,
                                                                  repo: Path) -> None:
    task = finished(env, repo)
    tip = git("rev-parse", task["branch"], cwd=repo)
    r = merge(env)
    assert (r["outcome"], r["merged"], r["head"]) == ("fast-forward", True, tip)
    assert git("rev-parse", "main", cwd=repo) == tip
    t = env.task("home")
    assert (t["merged_into"], t["status"]) == ("main", "completed")
    row = next(line for line in env.ok("ls").out.splitlines() if "home" in line)
    assert "completed (merged)" in row
    r = env.ok("kill", "--rm", "home", "--json").json()
    assert "deleted branch agent/home (merged into main)" in r["notes"]
    assert not git("branch", "--list", "agent/home", cwd=repo)


def test_merge_commit_when_the_base_moved_on(env: Env, repo: Path) -> None:
    task = finished(env, repo)
    (repo / "other.txt").write_text("the user's work\n")
    git("add", "other.txt", cwd=repo)
    git("commit", "-q", "-m", "user work", cwd=repo)
    assert merge(env, dry_run=True)["outcome"] == "merge"
    r = merge(env)
    assert r["outcome"] == "merge"
    parents = git("log", "-1", "--format=%P", "main", cwd=repo).split()
    assert parents[1] == git("rev-parse", task["branch"], cwd=repo)
    assert (repo / "DEMO_NOTES.md").exists() and (repo / "other.txt").exists()
    assert git("log", "-1", "--format=%s", cwd=repo) == (
        "Merge agent/home into main (agentd task home)")


def test_squash_makes_one_commit(env: Env, repo: Path) -> None:
    task = finished(env, repo)
    worktree = Path(task["worktree"])
    (worktree / "second.txt").write_text("two\n")
    git("add", "second.txt", cwd=worktree)
    git("commit", "-q", "-m", "second", cwd=worktree)
    old = git("rev-parse", "main", cwd=repo)
    r = merge(env, squash=True)
    assert (r["outcome"], r["commits"]) == ("squash", 2)
    assert git("rev-list", "--count", f"{old}..main", cwd=repo) == "1"
    assert git("log", "-1", "--format=%P", cwd=repo) == old
    assert git("rev-parse", "main^{tree}", cwd=repo) == git(
        "rev-parse", f"{task['branch']}^{{tree}}", cwd=repo)
    assert "Squashed 2 commits of agent/home" in git("log", "-1", "--format=%B", cwd=repo)
    r = env.ok("kill", "--rm", "home", "--json").json()
    assert not git("branch", "--list", "agent/home", cwd=repo)


def test_merge_into_another_branch(env: Env, repo: Path) -> None:
    finished(env, repo)
    git("switch", "-q", "-c", "release", cwd=repo)
    r = merge(env, into="release")
    assert r["into"] == "release"
    assert (repo / "DEMO_NOTES.md").exists()
    assert git("rev-list", "--count", "main", cwd=repo) == "1"
    with pytest.raises(AgentdError, match="no branch 'nope'"):
        merge(env, into="nope")


def test_apply_puts_the_patch_in_the_checkout_uncommitted(env: Env, repo: Path) -> None:
    finished(env, repo)
    head = git("rev-parse", "HEAD", cwd=repo)
    r = request(env, "apply_patch", {"name": "home", "workspace": str(repo)})
    assert r["changed"] == [] and r["source"].startswith("artifact ")
    assert git("status", "--porcelain", cwd=repo) == "?? DEMO_NOTES.md"
    assert git("rev-parse", "HEAD", cwd=repo) == head
    # A second time it does not apply: refused, nothing changed.
    before = state(repo)
    with pytest.raises(AgentdError, match="does not apply to .*nothing was changed"):
        request(env, "apply_patch", {"name": "home", "workspace": str(repo)})
    assert state(repo) == before
