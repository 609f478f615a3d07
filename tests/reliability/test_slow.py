"""Slow and stalled peers, and a full disk: the agent and everybody else go on, memory stays
bounded, the user is told (docs/reliability.md). A watcher that never reads its output is
tests/client/test_attach.py::test_stalled_client_does_not_stall_the_agent."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentd.protocol import codec
from agentd.protocol.messages import Input
from tests.helpers import Env, scaled, wait_for
from tests.reliability.support import connect, round_trip, rss_kib


def test_an_input_flood_is_held_back_not_buffered(env: Env, repo: Path) -> None:
    """A client floods INPUT at an agent that never reads it: the worker stops reading that
    client once 1 MiB is held (back-pressure), its memory stays bounded, and it still
    answers everybody else at once."""
    env.ok("run", "--agent", "sleeper", "--name", "deaf", cwd=repo)
    sid = env.task("deaf")["session"]
    worker, _ = env.session_pids()[0]
    assert worker
    path = env.root / "sessions" / f"{sid}.sock"
    before = rss_kib(worker)
    flood = connect(path)
    flood.setblocking(False)
    chunk = codec.encode(Input(b"y" * 65536))
    sent = 0
    try:
        for _ in range(20 * 16 * 4):  # up to 80 MiB, until the worker stops reading
            try:
                sent += flood.send(chunk)
            except BlockingIOError:
                break
        assert sent < 20 << 20, "the worker read everything the flood sent"
        assert rss_kib(worker) - before < 16 * 1024
        with connect(path) as other:
            other.sendall(codec.encode(codec.Request(1, "info", {})))  # type: ignore[attr-defined]
            reply = codec.Decoder().feed(other.recv(65536))
        assert reply and reply[0].result["session"] == sid  # type: ignore[union-attr]
        assert env.status("deaf") == "running"
    finally:
        flood.close()


@pytest.fixture
def small_disk(env: Env) -> Iterator[Path]:
    """A 2 MB tmpfs as the root's logs directory (before the daemon starts)."""
    d = env.root / "logs"
    d.mkdir(mode=0o700)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(d)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        reason = f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode})"
        print(reason)
        pytest.skip(reason)
    try:
        yield d
    finally:
        env.cleanup()  # nothing may hold a file on it
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def test_a_full_disk_under_the_logs_is_reported_and_survived(env: Env, repo: Path,
                                                            small_disk: Path) -> None:
    """The logs on a full 2 MB tmpfs: a session that prints into its full log keeps
    running, the user gets an `error` event, and once space frees the log goes on."""
    env.write_config('[agents.printer]\ncommand = "sh"\n'
                     'args = ["-c", "i=0; while :; do i=$((i+1)); echo line $i '
                     '$(head -c 200 /dev/zero | tr \'\\\\0\' x); sleep 0.001; done"]\n'
                     'prompt = "none"\n')
    env.ok("run", "--agent", "printer", "--name", "printer", cwd=repo)
    ballast = small_disk / "ballast"
    with open(ballast, "wb") as f:  # fill what is left
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass

    def told() -> bool:
        return any(json.loads(line)["kind"] == "error" for line in
                   env.ok("events", "printer", "--json").out.splitlines())

    wait_for(told, 20, "an error event about the session log")
    assert env.status("printer") == "running"
    log = small_disk / f"{env.task('printer')['session']}.log"
    ballast.unlink()
    size = log.stat().st_size
    wait_for(lambda: log.stat().st_size > size, 20, "the log to grow again")
    assert env.status("printer") == "running"
    assert round_trip(env, "hello") < scaled(1)
    env.ok("kill", "printer")
