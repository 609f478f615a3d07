"""The raw PTY log: rotation at a cap, and the list of its files."""

from __future__ import annotations

from pathlib import Path

from agentd.logfiles import RawLog, log_files


def test_log_files_lists_every_rotation_oldest_first(tmp_path: Path) -> None:
    log = RawLog(tmp_path / "s.log", max_bytes=10, keep=12)
    written = b"".join(b"%02d........\n" % i for i in range(14))
    for i in range(0, len(written), 13):
        log.write(written[i:i + 13])
    log.close()
    files = log_files(tmp_path / "s.log")
    assert [f.name for f in files][:2] == ["s.log.12", "s.log.11"]
    assert all(f.stat().st_size == 10 for f in files[:-1])  # never past the cap
    kept = b"".join(f.read_bytes() for f in files)
    assert written.endswith(kept) and len(kept) > 120  # the newest output, in order
