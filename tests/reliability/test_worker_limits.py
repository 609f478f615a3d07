"""What one peer may cost a session worker is bounded (docs/reliability.md, "Resource limits
(worker)"): out of file descriptors it refuses and goes on; a screen at the size cap costs
bounded memory and its repaint fits a frame. The input flood is
tests/reliability/test_slow.py::test_an_input_flood_is_held_back_not_buffered."""

from __future__ import annotations

import fcntl
import json
import os
import resource
import socket
import struct
import sys
import termios
import time
from pathlib import Path
from typing import Any

from agentd.protocol import codec
from agentd.protocol.messages import Failure, Output, Push, Reply, Request
from agentd.worker.screen import MAX_SNAPSHOT
from tests.helpers import Env, alive, scaled, wait_for
from tests.reliability.support import connect


def worker_log(env: Env, sid: str) -> list[dict[str, Any]]:
    """The worker's lines of the structured log (logs/agentd.log, component worker-SID).
    A worker's standard error goes there too: a traceback would be lines of plain text."""
    text = (env.root / "logs" / "agentd.log").read_text()
    assert "Traceback" not in text, text[-3000:]
    records = [json.loads(line) for line in text.splitlines()]
    return [r for r in records if r["component"] == f"worker-{sid}"]


def cpu_seconds(pid: int) -> float:
    """Time the process has spent on a CPU (the first field of /proc/PID/schedstat, ns)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def answer(s: socket.socket) -> Reply | Failure | None:
    """The next reply on `s`, or None if the worker closed the connection."""
    decoder = codec.Decoder()
    while True:
        try:
            chunk = s.recv(1 << 16)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        for m in decoder.feed(chunk):
            if isinstance(m, Reply | Failure):
                return m


def info(path: Path) -> dict[str, Any]:
    with connect(path) as s:
        s.sendall(codec.encode(Request(1, "info", {})))
        reply = answer(s)
    assert isinstance(reply, Reply), reply
    return dict(reply.result)


def test_out_of_file_descriptors_the_worker_refuses_and_goes_on(env: Env, repo: Path) -> None:
    """A running worker's open-files limit lowered to two above what it holds (prlimit on
    its pid), then 16 clients: two are served, the others are refused (an error frame, then
    closed), none left waiting; the worker neither dies nor spins, logs the episode once,
    still serves the connection it has, and once the limit is back it accepts again and
    says so. The agent runs on throughout."""
    env.ok("run", "--agent", "sleeper", "--name", "fds", cwd=repo)
    sid = env.task("fds")["session"]
    worker, agent = env.session_pids()[0]
    assert worker and agent
    path = env.root / "sessions" / f"{sid}.sock"
    kept = connect(path)  # a connection made before the limit: it must be served throughout
    kept.sendall(codec.encode(Request(1, "info", {})))
    assert isinstance(answer(kept), Reply)  # accepted: its descriptor is among those counted
    fds = [int(fd) for fd in os.listdir(f"/proc/{worker}/fd")]
    limit = max(fds) + 3  # descriptors are numbered below the limit: two free slots, or more
    free = limit - len(fds)  # with gaps below the highest descriptor
    old = resource.prlimit(worker, resource.RLIMIT_NOFILE)
    resource.prlimit(worker, resource.RLIMIT_NOFILE, (limit, old[1]))
    extra: list[socket.socket] = []
    try:
        for i in range(16):
            extra.append(s := connect(path))
            try:
                s.sendall(codec.encode(Request(i, "info", {})))
            except BrokenPipeError:
                pass  # refused already: its error frame waits to be read
        spent = cpu_seconds(worker)
        time.sleep(1)
        busy = cpu_seconds(worker) - spent
        assert busy < 0.5, f"the worker spun: {busy:.2f} s of CPU in 1 s"
        assert alive(worker) and alive(agent)
        # Each client is answered or closed; one is refused every ACCEPT_PAUSE (0.2 s).
        for s in extra:
            s.settimeout(scaled(10))
        outcomes = [answer(s) for s in extra]
        served = [r for r in outcomes if isinstance(r, Reply)]
        assert len(served) == free, outcomes
        refused = [r for r in outcomes if not isinstance(r, Reply)]
        assert all(isinstance(r, Failure) and r.id is None and r.code == "error"
                   and "out of file descriptors" in r.message for r in refused), refused
        kept.sendall(codec.encode(Request(2, "info", {})))
        reply = answer(kept)
        assert isinstance(reply, Reply) and reply.result["session"] == sid
        lines = [r for r in worker_log(env, sid) if "out of file descriptors" in r["message"]]
        assert len(lines) == 1, lines
        assert lines[0]["level"] == "error" and lines[0]["fields"]["error"]
    finally:
        resource.prlimit(worker, resource.RLIMIT_NOFILE, old)
        for s in [*extra, kept]:
            s.close()
    assert info(path)["session"] == sid
    again = wait_for(lambda: [r for r in worker_log(env, sid)
                              if r["message"] == "accepting connections again"], 5,
                     "the worker to log that it accepts again")
    assert len(again) == 1 and again[0]["fields"]["refused"] == 16 - free, again
    assert alive(worker) and alive(agent)
    assert env.status("fds") == "running"


# Paints every cell of its terminal in its own true colours (foreground and background: the
# largest repaint a cell can need) whenever the size changes, 50 rows at a time with a pause
# so the worker's emulator keeps up, then appends the size to a file; ticks in the corner.
PAINTER = r"""
import os, signal, sys, time
done, pause = sys.argv[1], float(sys.argv[2])
changed = [True]
signal.signal(signal.SIGWINCH, lambda *_: changed.append(True))
out = sys.stdout.buffer
n = 0
while True:
    if len(changed) > 0:
        changed.clear()
        cols, rows = os.get_terminal_size(0)
        for r in range(rows):
            out.write(f"\x1b[{r + 1};1H".encode() + "".join(
                f"\x1b[38;2;{(r + c) % 256};{c % 256};{r % 256};48;2;{c % 256};"
                f"{r * 7 % 256};{c * 3 % 256}m#" for c in range(cols)).encode())
            if r % 50 == 49:
                out.flush()
                time.sleep(pause)
        out.write(b"\x1b[m")
        out.flush()
        with open(done, "a") as f:
            f.write(f"{cols}x{rows}\n")
    n += 1
    out.write(f"\x1b[1;1H{n % 10}".encode())
    out.flush()
    time.sleep(0.05)
"""


class Peer:
    """One connection to a worker, read with one decoder throughout."""

    def __init__(self, path: Path) -> None:
        self.sock = connect(path, timeout=20)
        self.decoder = codec.Decoder()
        self.pending: list[Any] = []

    def next(self) -> Any:
        while not self.pending:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise AssertionError("the worker closed the connection")
            self.pending += self.decoder.feed(chunk)
        return self.pending.pop(0)

    def request(self, req_id: int, name: str, **params: Any) -> Reply | Failure:
        """Send a request; its reply (what comes before it is dropped)."""
        self.sock.sendall(codec.encode(Request(req_id, name, params)))
        while True:
            m = self.next()
            if isinstance(m, Reply | Failure) and m.id == req_id:
                return m

    def close(self) -> None:
        self.sock.close()


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


def pty_size(agent: int) -> tuple[int, int]:
    """(cols, rows) of the agent's terminal, asked of the PTY itself."""
    fd = os.open(f"/proc/{agent}/fd/0", os.O_RDONLY | os.O_NOCTTY)
    try:
        rows, cols, _, _ = struct.unpack("4H", fcntl.ioctl(fd, termios.TIOCGWINSZ, bytes(8)))
    finally:
        os.close(fd)
    return cols, rows


def test_a_screen_at_the_size_cap_costs_bounded_memory(env: Env, repo: Path) -> None:
    """An interactive client resizes a live session to 1000 × 1000, the cap, while its agent
    paints every cell in its own colours; then a watcher attaches and a client asks for the
    screen. The worker stays up and does not spin, its memory grows by a bounded amount,
    each repaint fits MAX_SNAPSHOT, the text is all there; 1001 is refused with a `usage`
    failure and changes nothing."""
    script = env.root.parent / "painter.py"
    script.write_text(PAINTER)
    done = env.root.parent / "painted"
    env.write_config(f'[agents.painter]\ncommand = "{sys.executable}"\n'
                     f'args = ["{script}", "{done}", "{scaled(0.1)}"]\nprompt = "none"\n')
    env.ok("run", "--agent", "painter", "--name", "big", cwd=repo)
    sid = env.task("big")["session"]
    worker, agent = env.session_pids()[0]
    assert worker and agent
    path = env.root / "sessions" / f"{sid}.sock"
    wait_for(lambda: done.exists() and done.read_text() == "120x40\n", 10, "the first paint")
    rss, peak = vm_kib(worker, "VmRSS"), vm_kib(worker, "VmHWM")
    seat = Peer(path)
    try:
        assert isinstance(seat.request(1, "attach", mode="interactive"), Reply)
        assert seat.request(2, "resize", cols=1000, rows=1000) == Reply(2, None)
        for i, (cols, rows, bad) in enumerate([(1001, 1000, "cols"), (1000, 1001, "rows")]):
            r = seat.request(3 + i, "resize", cols=cols, rows=rows)
            assert isinstance(r, Failure) and r.code == "usage" and f"'{bad}'" in r.message, r
        wait_for(lambda: "1000x1000" in done.read_text(), 30, "the paint at 1000 × 1000")
        assert pty_size(agent) == (1000, 1000)
        # The seat read nothing of the ~36 MB: it fell behind, and its resync repaint fits.
        while not (isinstance(m := seat.next(), Push) and m.name == "resync"):
            pass
        resync = seat.next()
        assert isinstance(resync, Output) and len(resync.data) <= MAX_SNAPSHOT + 1  # + CAN
        watcher = Peer(path)
        reply = watcher.request(1, "attach", mode="read-only")
        assert isinstance(reply, Reply) and (reply.result["cols"], reply.result["rows"]) == (
            1000, 1000)
        snap = watcher.next()
        assert isinstance(snap, Output) and len(snap.data) <= MAX_SNAPSHOT
        assert b"\x1b[1000;1H" + b"#" * 1000 in snap.data  # the bottom row, as text
        screen = Peer(path)
        text = screen.request(1, "snapshot")
        screen.close()
        # Two clients attached, the agent ticking: the worker is idle, not repainting.
        spent = cpu_seconds(worker)
        time.sleep(1)
        busy = cpu_seconds(worker) - spent
        assert busy < 0.5, f"the worker spun: {busy:.2f} s of CPU in 1 s"
        watcher.close()
        assert isinstance(text, Reply)
        assert (text.result["cols"], text.result["rows"]) == (1000, 1000)
        assert text.result["lines"][1:] == ["#" * 1000] * 999
        # Measured: RSS 16 MB + 27 MB (avt's 1 000 000 cells, and heap malloc keeps), peak
        # (VmHWM) + 136 MB: a repaint of this screen dumps 36 MB from avt (the Rust string
        # and its copy as a Python str, ~0.4 s) before it is found too big and the text is
        # sent instead. The bounds are ~2.4x those.
        assert vm_kib(worker, "VmRSS") - rss < 64 * 1024
        assert vm_kib(worker, "VmHWM") - peak < 320 * 1024
        assert pty_size(agent) == (1000, 1000)
        assert not [r for r in worker_log(env, sid) if r["level"] == "error"]
        assert alive(worker) and alive(agent)
    finally:
        seat.close()
    assert env.status("big") == "running"
