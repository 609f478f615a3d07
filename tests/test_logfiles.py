"""The raw PTY log: rotation at a cap, and the list of its files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


# -- a full disk never takes the session down -------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_writes_to_a_full_disk_are_counted_and_reported_once() -> None:
    log = RawLog(Path("/dev/full"), max_bytes=1 << 30, keep=1)
    try:
        log.write(b"hello\n")
        log.write(b"world\n")
        assert log.dropped == 12
        problem = log.problem()
        assert problem is not None and "No space left on device" in problem
        assert log.problem() is None  # once per episode
    finally:
        log.close()


def test_writing_resumes_after_a_failure(tmp_path: Path) -> None:
    log = RawLog(tmp_path / "s.log", max_bytes=1 << 20, keep=1)
    real = log.fd
    log.fd = os.open("/dev/full", os.O_WRONLY)  # the disk fills up
    log.write(b"lost\n")
    assert log.problem() is not None
    os.close(log.fd)
    log.fd = real  # space again
    log.write(b"kept\n")
    assert log.failing is None
    log.fd = os.open("/dev/full", os.O_WRONLY)
    log.write(b"lost again\n")
    assert log.problem() is not None  # a new episode is reported again
    os.close(log.fd)
    log.fd = real
    log.close()
    assert (tmp_path / "s.log").read_bytes() == b"kept\n"
    assert log.dropped == len(b"lost\n") + len(b"lost again\n")
