"""Slow and stalled peers, and a full disk: the agent and everybody else go on, memory stays
bounded, the user is told (docs/reliability.md). A watcher that never reads its output is
tests/client/test_attach.py::test_stalled_client_does_not_stall_the_agent."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentd.protocol import codec
from agentd.protocol.messages import Input, Reply, Request
from tests.helpers import Env, scaled, wait_for
from tests.reliability.support import connect, round_trip, rss_kib

# Puts its terminal in raw mode (as a TUI agent does: no line discipline to take or drop
# input for it), then reads nothing until the file named by its argument exists.
DEAF = 'stty raw -echo; while [ ! -e "$0" ]; do sleep 0.05; done; exec cat > /dev/null'


def flood(s: socket.socket, total: int, stall: float, within: float,
          start: int = 0) -> tuple[int, bool]:
    """Send at least `total` bytes of INPUT frames (64 KiB each, the last one whole) on
    non-blocking `s`, for at most `within` seconds, `start` bytes into the stream: the bytes
    sent, and whether the socket took nothing for `stall` seconds (the peer stopped
    reading)."""
    chunk = memoryview(codec.encode(Input(b"y" * 65536)))
    sent, deadline = 0, time.monotonic() + scaled(within)
    while (sent < total or (start + sent) % len(chunk)) and time.monotonic() < deadline:
        if not select.select([], [s], [], stall)[1]:
            return sent, True
        try:
            sent += s.send(chunk[(start + sent) % len(chunk):])
        except BlockingIOError:
            pass
    return sent, False


def test_an_input_flood_is_held_back_not_buffered(env: Env, repo: Path) -> None:
    """A client floods 50 MB of INPUT at an agent that does not read (its terminal in raw
    mode): the worker takes about 1 MiB, then stops reading that client (back-pressure: its
    socket takes nothing for a second), its memory stays flat, and it still answers
    everybody else at once. Once the agent reads, the rest of the flood goes through."""
    go = env.root.parent / "go"
    env.write_config((env.root / "config.toml").read_text() + '[agents.deaf]\ncommand = "sh"\n'
                     f'args = ["-c", {json.dumps(DEAF)}, "{go}"]\nprompt = "none"\n')
    env.ok("run", "--agent", "deaf", "--name", "deaf", cwd=repo)
    sid = env.task("deaf")["session"]
    worker, agent = env.session_pids()[0]
    assert worker and agent

    def raw() -> bool:
        fd = os.open(f"/proc/{agent}/fd/0", os.O_RDONLY | os.O_NOCTTY)
        try:
            return not termios.tcgetattr(fd)[3] & termios.ICANON
        finally:
            os.close(fd)

    wait_for(raw, 10, "the agent's terminal in raw mode")
    path = env.root / "sessions" / f"{sid}.sock"
    before = rss_kib(worker)
    decoder = codec.Decoder()
    with connect(path) as s:
        s.setblocking(False)
        # Measured: 1.2 MB (1 MiB held by the worker, the rest in the socket's buffers and
        # the PTY's), then the socket stays full; RSS +1 MB.
        sent, stalled = flood(s, 50 << 20, 1.0, 20)
        assert stalled and sent < 4 << 20, f"the worker took {sent} bytes"
        assert rss_kib(worker) - before < 16 * 1024
        with connect(path) as other:
            started = time.monotonic()
            other.sendall(codec.encode(Request(1, "info", {})))
            reply = codec.Decoder().feed(other.recv(65536))
        assert time.monotonic() - started < scaled(1)
        assert reply and reply[0].result["session"] == sid  # type: ignore[union-attr]
        go.touch()  # the agent reads: the worker takes the flood again (~0.5 s for 50 MB)
        more, stalled = flood(s, (50 << 20) - sent, 5.0, 30, start=sent)
        assert not stalled and sent + more >= 50 << 20
        s.settimeout(scaled(10))
        s.sendall(codec.encode(Request(1, "info", {})))  # in step: the frames were whole
        while not (answered := [m for m in decoder.feed(s.recv(65536))
                                if isinstance(m, Reply)]):
            pass
        assert answered[0].result["session"] == sid
        assert rss_kib(worker) - before < 16 * 1024
    assert env.status("deaf") == "running"


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
    with open(ballast, "wb", buffering=0) as f:  # fill what is left (unbuffered: nothing
        try:                                     # is left over to fail again at close)
            while True:
                f.write(b"\0" * 65536)
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
