"""The artifact and merge commands from the command line: `agent artifact add` inside a
managed session and with --task, `agent artifacts`, `get` and `show`, `agent merge`
(dry run and refusals) and `agent apply`."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.daemon.test_artifacts import JUNIT, by_kind, script_agent
from tests.helpers import AGENT, Env, git, scaled, wait_for


def test_add_inside_a_session_and_list_with_counts(env: Env, repo: Path) -> None:
    (env.root.parent / "junit.xml").write_text(JUNIT)
    script_agent(env, "reporter", f"""
cp ../../../junit.xml junit.xml
printf 'plain \\033[31mred\\033[0m report\\n' > report.txt
{sys.executable} -m agentd artifact add --kind test-results junit.xml
{sys.executable} -m agentd artifact add --kind report --description 'the report' report.txt
echo added
""")
    env.ok("run", "--agent", "reporter", "--name", "reports", cwd=repo)
    env.wait_status("reports", "completed")
    assert b"added" in env.log_of("reports").read_bytes()
    listing = env.ok("artifacts", "reports").out
    assert "4 tests, 1 failed, 1 errors, 1 skipped" in listing
    assert "✗ auth.Login.test_bad_password" in listing and "✗ auth.Token.test_expiry" in listing
    items = env.ok("artifacts", "reports", "--json").json()
    kinds = [x["kind"] for x in items]
    assert kinds[:2] == ["test-results", "report"]
    report = items[1]
    # get: the bytes as they were; show: control characters escaped.
    assert env.ok("artifact", "get", "reports", str(report["id"])).out == (
        "plain \x1b[31mred\x1b[0m report\n")
    shown = env.ok("artifact", "show", "reports", str(report["id"])).out
    assert "plain \\x1b[31mred\\x1b[0m report" in shown and "\x1b" not in shown
    tests_shown = env.ok("artifact", "show", "reports", str(items[0]["id"])).out
    assert "4 tests, 1 failed" in tests_shown and "✗ auth.Token.test_expiry" in tests_shown


def test_add_with_task_outside_a_session_and_refusals(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "target", cwd=repo)
    worktree = env.root / "worktrees" / "target"
    (worktree / "notes.md").write_text("# notes\n")
    r = env.agent("artifact", "add", "notes.md", cwd=worktree)
    assert r.code == 2 and "outside one, say which task with --task NAME" in r.err
    r = env.ok("artifact", "add", "--task", "target", "notes.md", cwd=worktree)
    assert r.out.startswith("artifact ") and "file notes.md" in r.out
    outside = env.root.parent / "elsewhere.txt"
    outside.write_text("x\n")
    r = env.agent("artifact", "add", "--task", "target", str(outside))
    assert r.code == 2
    assert r.err.startswith(f"agent: error: {outside} is outside the worktree of target")
    assert len(r.err.splitlines()) == 1
    env.ok("artifact", "add", "--task", "target", "--outside", str(outside))
    r = env.agent("artifact", "add", "--task", "target", "missing.txt", cwd=worktree)
    assert r.code == 2 and "no such file" in r.err
    r = env.agent("artifact", "get", "target", "zero")
    assert r.code == 2 and "is not a number" in r.err


def test_get_to_a_file_and_binary_refused_on_a_terminal(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "pics", cwd=repo)
    worktree = env.root / "worktrees" / "pics"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    (worktree / "shot.png").write_bytes(png)
    added = json.loads(env.ok("artifact", "add", "--task", "pics", "--kind", "screenshot",
                              str(worktree / "shot.png"), "--json").out)[0]
    assert added["mime"] == "image/png"
    out = env.root.parent / "copy.png"
    env.ok("artifact", "get", "pics", str(added["id"]), "-o", str(out))
    assert out.read_bytes() == png
    # Piped: the bytes as they are.
    piped = subprocess.run([*AGENT, "artifact", "get", "pics", str(added["id"])], env=env.env,
                           capture_output=True, timeout=scaled(30))
    assert piped.returncode == 0 and piped.stdout == png
    # A terminal: refused, nothing written.
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([*AGENT, "artifact", "get", "pics", str(added["id"])],
                              env=env.env, stdout=slave, stderr=subprocess.PIPE,
                              timeout=scaled(30))
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 2
    assert b"is binary (image/png); write it to a file with -o PATH" in proc.stderr


def test_merge_and_apply_commands(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "quick", "--name", "feature", cwd=repo)
    env.wait_status("feature", "completed")
    wait_for(lambda: by_kind(env, "feature", "patch"), 10, "capture")
    r = env.ok("merge", "feature", "--dry-run")
    assert r.out == "would fast-forward main to agent/feature (1 commit)\n"
    assert git("rev-list", "--count", "main", cwd=repo) == "1"
    (repo / "README.md").write_text("dirty\n")
    r = env.agent("merge", "feature")
    assert r.code == 4 and "has uncommitted changes (README.md)" in r.err
    r = env.agent("merge", "feature", "--dry-run")
    assert r.code == 4 and "but merging now would be refused" in r.err
    git("checkout", "-q", "README.md", cwd=repo)
    # apply: uncommitted in this checkout.
    env.ok("apply", "feature", cwd=repo)
    assert git("status", "--porcelain", cwd=repo) == "?? DEMO_NOTES.md"
    (repo / "DEMO_NOTES.md").unlink()
    r = env.ok("merge", "feature")
    assert r.out.startswith("fast-forwarded main to agent/feature (1 commit) in ")
    row = next(line for line in env.ok("ls").out.splitlines() if "feature" in line)
    assert "completed (merged)" in row
    r = env.ok("kill", "--rm", "feature")
    assert "deleted branch agent/feature (merged into main)" in r.out
