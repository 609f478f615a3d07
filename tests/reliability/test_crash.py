"""kill -9 of the daemon or of one worker: sessions outlive everything but their own agent,
and nothing acknowledged is lost (docs/reliability.md, "Crashes")."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agentd.protocol.messages import Push, Reply
from tests.helpers import AGENT, Env, alive, scaled, wait_for
from tests.reliability.support import connect, frame, replies
from tests.terminal import Terminal

PROGRAM = Path(__file__).parent.parent / "programs" / "fullscreen.py"
CONFIG = f"""
[agents.sleeper]
command = "sleep"
args = ["600"]
prompt = "none"

[agents.tui]
command = "{sys.executable}"
args = ["{PROGRAM}"]
prompt = "none"
"""


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for t in opened:
        t.close()


def append(env: Env, sid: str, batches: int, tag: str) -> list[int]:
    """Send `batches` batches of 100 events and return the ids the daemon acknowledged."""
    with connect(env.root / "agentd.sock", timeout=60) as s:
        s.sendall(b"".join(frame("append_session_events", {"session": sid, "events": [
            {"kind": "progress", "summary": f"{tag} {b}.{i}"} for i in range(100)]}, b)
            for b in range(batches)))
        acked = []
        for r in replies(s, batches):
            assert isinstance(r, Reply), r
            acked += range(r.result["first_id"], r.result["last_id"] + 1)
    return acked


def stored_ids(env: Env) -> set[int]:
    with connect(env.root / "agentd.sock", timeout=60) as s:
        s.sendall(frame("stream_events", {"since": 0}))
        from agentd.protocol import codec

        decoder = codec.Decoder()
        ids: set[int] = set()
        while True:
            for m in decoder.feed(s.recv(1 << 20)):
                if isinstance(m, Push) and m.name == "event":
                    ids.add(m.data["id"])
                elif isinstance(m, Reply):
                    return ids


def test_kill_9_of_the_daemon_with_20_running_tasks(env: Env, repo: Path,
                                                   terminals: list[Terminal]) -> None:
    env.write_config(CONFIG)
    env.ok("run", "--agent", "tui", "--name", "t0", cwd=repo)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: env.ok("run", "--agent", "sleeper", "--name", f"t{i}",
                                       cwd=repo), range(1, 20)))
    tasks = env.ok("ls", "--json").json()
    assert len(tasks) == 20 and {t["status"] for t in tasks} == {"running"}
    pids = env.session_pids()
    term = Terminal([*AGENT, "attach", "t0"], env.env)
    terminals.append(term)
    term.wait_text("fullscreen test program")
    acked = append(env, tasks[5]["session"], 20, "before")
    daemon = env.daemon_pid()
    assert daemon
    os.kill(daemon, signal.SIGKILL)  # right after the last acknowledgement
    wait_for(lambda: not alive(daemon), 10, "the daemon to die")
    assert all(alive(w) and a and alive(a) for w, a in pids), "an agent or worker died"
    term.send("still-here")
    term.wait_text("typed: still-here")  # the attached client goes on without the daemon
    after = {t["name"]: t for t in env.ok("ls", "--json").json()}  # a new daemon
    assert env.daemon_pid() != daemon
    assert len(after) == 20 and {t["status"] for t in after.values()} == {"running"}
    assert set(acked) <= stored_ids(env), "an acknowledged event was lost"
    term.send("and-after")
    term.wait_text("typed: still-hereand-after")
    assert all(alive(w) and a and alive(a) for w, a in pids)


def test_kill_9_of_one_worker(env: Env, repo: Path) -> None:
    env.write_config(CONFIG)
    for name in ("victim", "other1", "other2"):
        env.ok("run", "--agent", "sleeper", "--name", name, cwd=repo)
    tasks = {t["name"]: t for t in env.ok("ls", "--json").json()}
    acked = {n: append(env, t["session"], 3, n) for n, t in tasks.items()}
    pids = dict(zip(("victim", "other1", "other2"), env.session_pids(), strict=True))
    worker, agent = pids["victim"]
    os.kill(worker, signal.SIGKILL)
    started = time.monotonic()
    env.wait_status("victim", "lost", timeout=5)
    assert time.monotonic() - started < scaled(1.5)
    for name in ("other1", "other2"):
        w, a = pids[name]
        assert alive(w) and a and alive(a)
        assert env.status(name) == "running"
        env.ok("send-input", name, "--", "x")  # still reachable through its worker
    stored = stored_ids(env)
    for ids in acked.values():
        assert set(ids) <= stored
    assert env.task("victim")["attention"] == "action"
    if agent and alive(agent):  # the PTY's hang-up normally ends it; kill cleans up
        env.ok("kill", "victim")
