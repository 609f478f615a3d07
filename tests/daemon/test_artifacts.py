"""Artifacts end to end: a real daemon, real workers and PTYs, real git. Captured (after
exit, kill, a lost worker, and an end while the daemon was down) and registered (files and
JUnit test results, through events and the add_artifact request)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from agentd.protocol.connection import Connection
from agentd.protocol.messages import Output, Reply, Request
from tests.helpers import Env, alive, git, kill_pid, wait_for

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="auth" tests="4">
    <testcase classname="auth.Login" name="test_ok"/>
    <testcase classname="auth.Login" name="test_bad_password"><failure message="x"/></testcase>
    <testcase classname="auth.Token" name="test_expiry"><error message="boom"/></testcase>
    <testcase classname="auth.Token" name="test_slow"><skipped/></testcase>
  </testsuite>
</testsuites>
"""


def request(env: Env, name: str, params: dict[str, Any]) -> Any:
    with Connection.open(env.root / "agentd.sock", timeout=30) as conn:
        return conn.request(name, params)


def fetch(env: Env, task: str, artifact_id: int) -> tuple[bytes, dict[str, Any]]:
    """get_artifact: the OUTPUT frames, then the reply."""
    with Connection.open(env.root / "agentd.sock", timeout=30) as conn:
        req = conn.next_id
        conn.next_id += 1
        conn.send(Request(req, "get_artifact", {"name": task, "id": artifact_id}))
        data = b""
        while True:
            msg = conn.recv()
            if isinstance(msg, Output):
                data += msg.data
            elif isinstance(msg, Reply) and msg.id == req:
                return data, msg.result
            else:
                raise AssertionError(f"unexpected {msg!r}")


def add(env: Env, task: str, path: str, **p: Any) -> dict[str, Any]:
    return dict(request(env, "add_artifact", {"name": task, "paths": [path], **p})[
        "artifacts"][0])


def artifacts(env: Env, task: str) -> list[dict[str, Any]]:
    return list(request(env, "list_artifacts", {"name": task})["artifacts"])


def by_kind(env: Env, task: str, kind: str) -> list[dict[str, Any]]:
    return [a for a in artifacts(env, task) if a["kind"] == kind]


def script_agent(env: Env, name: str, body: str) -> None:
    """A scripted agent: `sh SCRIPT`, run in the task's worktree."""
    path = env.root.parent / f"{name}.sh"
    path.write_text("set -e\n" + body)
    (env.root / "config.toml").write_text(
        (env.root / "config.toml").read_text()
        + f'\n[agents.{name}]\ncommand = "sh"\nargs = ["{path}"]\nprompt = "none"\n')


EMIT = f"{sys.executable} -m agentd emit --kind artifact"
COMMIT = "git commit -q --author='agent <a@agent.invalid>' -m"


def test_registered_file_and_test_results_listed_with_counts(env: Env, repo: Path) -> None:
    (env.root.parent / "junit.xml").write_text(JUNIT)
    script_agent(env, "tester", f"""
cp ../../../junit.xml results.xml
echo 'all good' > report.txt
{EMIT} test results --data '{{"path": "results.xml", "type": "test-results"}}'
{EMIT} the report --data '{{"path": "report.txt", "type": "report"}}'
echo registered
""")
    env.ok("run", "--agent", "tester", "--name", "tests-run", cwd=repo)
    env.wait_status("tests-run", "completed")
    assert b"registered" in env.log_of("tests-run").read_bytes()
    results = wait_for(lambda: by_kind(env, "tests-run", "test-results"), 10, "test results")
    r = results[0]
    assert r["tests"] == {"tests": 4, "failures": 1, "errors": 1, "skipped": 1,
                          "failing": ["auth.Login.test_bad_password", "auth.Token.test_expiry"]}
    assert r["name"] == "results.xml" and r["mime"] == "application/xml"
    worktree = env.root / "worktrees" / "tests-run"
    original = (worktree / "results.xml").read_bytes()
    assert r["size"] == len(original) and r["sha256"] == hashlib.sha256(original).hexdigest()
    report = by_kind(env, "tests-run", "report")[0]
    # A later edit of the worktree's file does not change the artifact.
    (worktree / "report.txt").write_text("edited afterwards\n")
    data, meta = fetch(env, "tests-run", report["id"])
    assert data == b"all good\n" and meta["bytes"] == len(data)
    wait_for(lambda: by_kind(env, "tests-run", "diffstat"), 10, "capture at the end")
    events = [json.loads(x) for x in env.ok("events", "tests-run", "--json").out.splitlines()]
    kinds = [e["data"].get("type") for e in events if e["kind"] == "artifact"]
    assert {"test-results", "report", "commits", "patch", "diffstat"} <= set(kinds)


def test_add_artifact_refuses_outside_paths_and_symlinks(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "holder", cwd=repo)
    worktree = env.root / "worktrees" / "holder"
    outside = env.root.parent / "secret.txt"
    outside.write_text("not yours\n")
    (worktree / "link.txt").symlink_to(outside)
    (worktree / "fine.txt").write_text("mine\n")
    for path in (str(outside), str(worktree / "link.txt"), str(worktree / "../../secret.txt")):
        with pytest.raises(Exception) as caught:
            request(env, "add_artifact", {"name": "holder", "paths": [path]})
        assert "is outside the worktree of holder" in str(caught.value)
        assert "pass --outside" in str(caught.value)
    with pytest.raises(Exception, match=r"\(through a symlink\)"):
        request(env, "add_artifact", {"name": "holder", "paths": [str(worktree / "link.txt")]})
    assert by_kind(env, "holder", "file") == []
    # Several files: all or none.
    with pytest.raises(Exception, match="is outside the worktree"):
        request(env, "add_artifact", {"name": "holder",
                                      "paths": [str(worktree / "fine.txt"), str(outside)]})
    assert artifacts(env, "holder") == []
    assert not list((env.root / "artifacts" / "holder").iterdir())
    ok = add(env, "holder", str(worktree / "fine.txt"))
    assert ok["kind"] == "file" and ok["size"] == 5
    forced = add(env, "holder", str(outside), outside=True, kind="report")
    assert forced["path"] == str(outside)
    # Through an event: a path outside rejects the whole batch, nothing stored.
    session = env.task("holder")["session"]
    with pytest.raises(Exception, match="event 1: .* is outside the worktree.*batch rejected"):
        request(env, "append_session_events", {"session": session, "events": [
            {"kind": "progress", "summary": "step"},
            {"kind": "artifact", "summary": "x", "data": {"path": str(outside)}}]})
    with pytest.raises(Exception, match="data.type' must be one of"):
        request(env, "append_session_events", {"session": session, "events": [
            {"kind": "artifact", "summary": "x", "data": {"path": "fine.txt",
                                                           "type": "patch"}}]})
    assert len(artifacts(env, "holder")) == 2
    stored = list((env.root / "artifacts" / "holder").iterdir())
    assert len(stored) == 2  # no orphan copies of the rejected batches


def test_artifact_size_cap(env: Env, repo: Path) -> None:
    env.write_config((env.root / "config.toml").read_text().replace(
        'default_agent = "demo"', 'default_agent = "demo"\nartifact_max_bytes = 1000'))
    env.ok("run", "--agent", "sleeper", "--name", "capped", cwd=repo)
    big = env.root / "worktrees" / "capped" / "big.bin"
    big.write_bytes(b"\0" * 1001)
    with pytest.raises(Exception, match="over the artifact size limit of 1000 bytes"):
        add(env, "capped", str(big))


def commits_and_changes(env: Env) -> None:
    """An agent that commits a text file, then leaves a binary file untracked and a tracked
    file modified; `wait` makes it wait for a file named go."""
    script_agent(env, "worker", f"""
echo 'first' > one.txt
git add one.txt
{COMMIT} 'add one'
printf 'x\\000\\001\\002binary' > blob.bin
echo 'changed' >> README.md
echo ready
while [ -n "$WAIT" ] && [ ! -f go ]; do sleep 0.05; done
rm -f go
""")


def check_capture(env: Env, repo: Path, name: str) -> None:
    commits = wait_for(lambda: by_kind(env, name, "commits"), 15, "commits captured")
    assert [c["subject"] for c in commits[-1]["commits"]] == ["add one"]
    assert commits[-1]["commits"][0]["author"] == "agent <a@agent.invalid>"
    patch = by_kind(env, name, "patch")[-1]
    data, _ = fetch(env, name, patch["id"])
    assert b"GIT binary patch" in data
    stat = by_kind(env, name, "diffstat")[-1]
    assert (stat["files"], stat["added"]) == (3, 2)
    # The patch applies to the base in a fresh clone, and gives the worktree's files.
    fresh = env.root.parent / f"fresh-{name}"
    git("clone", "-q", str(repo), str(fresh), cwd=env.root.parent)
    git("checkout", "-q", env.task(name)["base_commit"], cwd=fresh)
    patch_file = env.root.parent / f"{name}.patch"
    patch_file.write_bytes(data)
    git("apply", "--check", str(patch_file), cwd=fresh)
    git("apply", str(patch_file), cwd=fresh)
    worktree = env.root / "worktrees" / name
    for f in ("one.txt", "blob.bin", "README.md"):
        assert (fresh / f).read_bytes() == (worktree / f).read_bytes(), f
    # The agent's own index was not touched: blob.bin is still untracked there.
    assert "?? blob.bin" in git("status", "--porcelain", cwd=worktree)


def test_capture_after_exit(env: Env, repo: Path) -> None:
    commits_and_changes(env)
    env.ok("run", "--agent", "worker", "--name", "exits", cwd=repo)
    env.wait_status("exits", "completed")
    check_capture(env, repo, "exits")


def test_capture_after_kill(env: Env, repo: Path) -> None:
    commits_and_changes(env)
    env.ok("run", "--agent", "worker", "--name", "killed", cwd=repo, env={"WAIT": "1"})
    wait_for(lambda: b"ready" in env.log_of("killed").read_bytes(), 15, "agent ready")
    env.ok("kill", "killed")
    check_capture(env, repo, "killed")


def test_capture_after_worker_lost(env: Env, repo: Path) -> None:
    commits_and_changes(env)
    env.ok("run", "--agent", "worker", "--name", "lost", cwd=repo, env={"WAIT": "1"})
    wait_for(lambda: b"ready" in env.log_of("lost").read_bytes(), 15, "agent ready")
    worker_pid, agent_pid = env.session_pids()[0]
    kill_pid(worker_pid)
    kill_pid(agent_pid, group=True)
    env.wait_status("lost", "lost", timeout=30)
    check_capture(env, repo, "lost")


def test_capture_of_an_end_while_the_daemon_was_down(env: Env, repo: Path) -> None:
    commits_and_changes(env)
    env.ok("run", "--agent", "worker", "--name", "offline", cwd=repo, env={"WAIT": "1"})
    wait_for(lambda: b"ready" in env.log_of("offline").read_bytes(), 15, "agent ready")
    pid = env.daemon_pid()
    env.ok("daemon", "stop")
    wait_for(lambda: pid is None or not alive(pid), 10, "daemon to stop")
    (env.root / "worktrees" / "offline" / "go").write_text("")

    def ended() -> bool:
        with env.db() as db:
            return db.execute("SELECT ended_at FROM sessions").fetchone()[0] is not None

    wait_for(ended, 15, "the worker to record the end in SQLite")
    with env.db() as db:
        assert db.execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 0
    env.ok("ls")  # starts the daemon, which settles what ended meanwhile
    check_capture(env, repo, "offline")


def test_kill_rm_removes_artifacts_kill_keeps_them(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "quick", "--name", "keeper", cwd=repo)
    env.wait_status("keeper", "completed")
    wait_for(lambda: by_kind(env, "keeper", "patch"), 10, "patch captured")
    folder = env.root / "artifacts" / "keeper"
    env.ok("kill", "keeper")
    assert len(list(folder.iterdir())) == 4  # notes, commits, patch, diffstat
    env.ok("kill", "--rm", "keeper")
    assert not folder.exists()
    with env.db() as db:
        assert db.execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 0


def test_kill_rm_keeps_detached_head_commits_and_lists_ignored_files(env: Env,
                                                                    repo: Path) -> None:
    (repo / ".gitignore").write_text("build/\n*.log\n")
    git("add", ".gitignore", cwd=repo)
    git("commit", "-q", "-m", "ignore build", cwd=repo)
    script_agent(env, "wanderer", f"""
git checkout -q --detach
echo 'adrift' > adrift.txt
git add adrift.txt
{COMMIT} 'made on a detached HEAD'
git rev-parse HEAD > ../adrift-commit
git checkout -q agent/wander
git checkout -q -b side-branch
echo side > side.txt
git add side.txt
{COMMIT} 'on a side branch'
git checkout -q agent/wander
mkdir -p build && echo obj > build/out.o && echo log > run.log
""")
    env.ok("run", "--agent", "wanderer", "--name", "wander", cwd=repo)
    env.wait_status("wander", "completed")
    adrift = (env.root / "worktrees" / "adrift-commit").read_text().strip()
    r = env.ok("kill", "--rm", "wander", "--json").json()  # the capture may be under way
    assert not (env.root / "artifacts" / "wander").exists()  # it finished first: no orphan
    ref = "refs/agentd/wander/head"
    assert git("rev-parse", ref, cwd=repo) == adrift
    assert git("log", "-1", "--format=%s", ref, cwd=repo) == "made on a detached HEAD"
    notes = " | ".join(r["notes"])
    assert f"as {ref}" in notes
    assert "deleted 2 gitignored file(s) or folder(s) with the worktree: build/, run.log" in notes
    # The side branch is a branch of the repository: it stays, and needs no ref.
    assert git("log", "-1", "--format=%s", "side-branch", cwd=repo) == "on a side branch"
    assert git("for-each-ref", "--format=%(refname)", "refs/agentd/", cwd=repo) == ref
    assert not git("branch", "--list", "agent/wander", cwd=repo)  # no commits beyond main


def test_junit_refusals(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "xml", cwd=repo)
    worktree = env.root / "worktrees" / "xml"
    bombs = {
        "laughs.xml": '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                      '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><testsuite>&lol2;</testsuite>',
        "external.xml": '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM '
                        '"file:///etc/passwd">]><testsuite name="&x;"/>',
    }
    for name, text in bombs.items():
        (worktree / name).write_text(text)
        with pytest.raises(Exception, match="DOCTYPE or entity declarations are refused"):
            add(env, "xml", str(worktree / name), kind="test-results")
    (worktree / "other.xml").write_text("<html/>")
    with pytest.raises(Exception, match=r"not JUnit XML: the root element is <html>"):
        add(env, "xml", str(worktree / "other.xml"), kind="test-results")
    (worktree / "summary.xml").write_text(
        '<testsuite tests="7" failures="2" errors="0" skipped="1"/>')
    r = add(env, "xml", str(worktree / "summary.xml"), kind="test-results")
    assert r["tests"] == {"tests": 7, "failures": 2, "errors": 0, "skipped": 1, "failing": []}
    assert [a["name"] for a in artifacts(env, "xml")] == ["summary.xml"]


def test_capture_skips_nothing_for_a_task_without_changes(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "true", "--name", "idle", cwd=repo)
    env.wait_status("idle", "completed")
    commits = wait_for(lambda: by_kind(env, "idle", "commits"), 10, "capture")
    assert commits[0]["commits"] == []
    assert by_kind(env, "idle", "patch")[0]["size"] == 0
