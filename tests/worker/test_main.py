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
