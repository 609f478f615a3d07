"""The benchmark suite's quick mode runs end to end: every case produces its figures, the
reattach repaint is correct, and nothing is left running. No timing is asserted here;
figures belong to `make bench` (docs/performance.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import scaled

REPO = Path(__file__).resolve().parents[2]
CASES = {"throughput", "keystroke", "reattach", "ls", "chatty", "events", "run", "tui"}


@pytest.mark.timeout(600)
def test_quick_benchmark_runs_every_case(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTD_")}
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--json", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=scaled(580))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["mode"] == "quick" and result["errors"] == {}
    assert {r["case"] for r in result["rows"]} == CASES
    for row in result["rows"]:
        assert row["agentd"] is not None, row
    repaint = next(r for r in result["rows"] if r["case"] == "reattach" and r["unit"] == "bool")
    assert repaint["agentd"] == 1.0  # the repainted screen equals pyte's view of the log
    # Every skipped anchor says why.
    assert all(s["reason"] for s in result["skipped"])
