"""What one peer may cost a session worker is bounded (docs/reliability.md, "Resource limits
(worker)"): out of file descriptors it refuses and goes on; a screen at the size cap costs
bounded memory and its repaint fits a frame. The input flood is
tests/reliability/test_slow.py::test_an_input_flood_is_held_back_not_buffered."""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from pathlib import Path
from typing import Any

from agentd.protocol import codec
from agentd.protocol.messages import Failure, Reply, Request
from tests.helpers import Env, alive, scaled, wait_for
from tests.reliability.support import connect


def worker_log(env: Env, sid: str) -> list[dict[str, Any]]:
    """The worker's lines of the structured log (logs/agentd.log, component worker-SID)."""
    lines = (env.root / "logs" / "agentd.log").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["component"] == f"worker-{sid}"]


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
            s = connect(path)
            s.sendall(codec.encode(Request(i, "info", {})))
            extra.append(s)
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
        for s in extra:
            s.close()
    assert info(path)["session"] == sid
    again = wait_for(lambda: [r for r in worker_log(env, sid)
                              if r["message"] == "accepting connections again"], 5,
                     "the worker to log that it accepts again")
    assert len(again) == 1 and again[0]["fields"]["refused"] == 16 - free, again
    assert not any("Traceback" in json.dumps(r) for r in worker_log(env, sid))
    assert alive(worker) and alive(agent)
    assert env.status("fds") == "running"
    kept.close()
