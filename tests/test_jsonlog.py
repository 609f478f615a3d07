"""The structured log is capped: a storm of lines, also through a descriptor held open on it
(the daemon's and workers' standard error), never takes more than about twice the cap."""

from __future__ import annotations

import os
from pathlib import Path

from agentd.jsonlog import JsonLog


def test_a_log_storm_stays_within_twice_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "agentd.log"
    log = JsonLog(path, "test", max_bytes=64 * 1024)
    stderr = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # held, like fd 2
    try:
        for i in range(20_000):
            log("error", "storm", n=i)
            if i % 10 == 0:
                os.write(stderr, b"Traceback (most recent call last): ...\n" * 4)
            total = sum(p.stat().st_size for p in tmp_path.iterdir())
            assert total <= 2 * 64 * 1024 + 4096, total
        # The held descriptor writes into the live file, not into an unlinked one.
        assert os.fstat(stderr).st_ino == path.stat().st_ino
        assert os.fstat(stderr).st_nlink == 1
    finally:
        os.close(stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agentd.log", "agentd.log.1"]
    assert path.read_text().splitlines()[-1].endswith('"fields": {"n": 19999}}')
