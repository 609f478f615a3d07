"""The worker's start-up: a spec it cannot use is one JSON line saying why, before it forks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def start(spec: Path) -> tuple[int, list[str]]:
    proc = subprocess.run([sys.executable, "-m", "agentd.worker", str(spec)],
                          capture_output=True, text=True, timeout=30)
    return proc.returncode, proc.stdout.splitlines()


@pytest.mark.parametrize("text, needle", [
    ('{"session_id": "abc"}', "worker spec: parameter 'task' is required"),
    ('{"session_id": 5}', "worker spec: parameter 'session_id' must be a string"),
    ("[1, 2]", "worker spec: must be an object"),
    ("{oops", "cannot read worker spec"),
])
def test_a_bad_spec_is_one_error_line(tmp_path: Path, text: str, needle: str) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(text)
    code, lines = start(spec)
    assert code == 2 and len(lines) == 1
    assert needle in json.loads(lines[0])["error"]


def test_a_missing_spec_is_one_error_line(tmp_path: Path) -> None:
    code, lines = start(tmp_path / "absent.json")
    assert code == 2 and "cannot read worker spec" in json.loads(lines[0])["error"]


def test_the_worker_loads_no_dataclasses() -> None:
    """Every session is one worker process: what it imports, each one pays for in memory
    (dataclasses pulls in inspect, ~1.4 MB per worker)."""
    code = ("import sys, agentd.worker.main\n"
            "print(sorted({'dataclasses', 'inspect'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert out.strip() == "[]"


def test_the_agent_is_forked_before_the_heavy_imports() -> None:
    """`agent run` waits for the agent's start, not for the worker's imports: until the
    agent is spawned, the worker has loaded neither its loop, the emulator, nor the store."""
    code = ("import sys, agentd.worker.main as m; "
            "heavy = [n for n in ('agentd.worker.loop', 'agentd.worker.screen', "
            "'agentd.store.db', 'sqlite3', 'avt', 'pyavt') if n in sys.modules]; "
            "print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_worker_started_ahead_reads_its_spec_from_stdin() -> None:
    """`python -m agentd.worker -` waits for the spec on stdin (the daemon starts it while git
    adds the worktree); stdin closed empty: not needed, it exits quietly; a bad spec there is
    the same one error line as from a file."""
    run = [sys.executable, "-m", "agentd.worker", "-"]
    unused = subprocess.run(run, input="", capture_output=True, text=True, timeout=30)
    assert (unused.returncode, unused.stdout, unused.stderr) == (0, "", "")
    bad = subprocess.run(run, input='{"session_id": 5}', capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 2
    assert "parameter 'session_id' must be a string" in json.loads(bad.stdout)["error"]
