"""A detached worker reads a trickle of output in holds (worker/loop.py HOLD, and
docs/performance.md "Chatty sessions"): it wakes a few times a second instead of once per
line, loses and reorders nothing, and does not hold while anyone is connected."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from agentd.protocol.connection import Connection
from agentd.protocol.messages import Output
from agentd.worker.loop import HOLD, STARTUP
from tests.helpers import Env, scaled, wait_for

LINES = 120
EVERY = 0.025  # 40 lines/s: one wake-up each without the hold
PRINTER = f"""
import os, sys, time
if len(sys.argv) > 1:
    time.sleep(float(sys.argv[1]))
for i in range({LINES}):
    os.write(1, b"line %04d of the trickle\\n" % i)
    time.sleep({EVERY})
os.write(1, b"trickle done\\n")
time.sleep(600)
"""


def printer(env: Env, name: str, wait: float) -> Path:
    prog = env.root.parent / "printer.py"
    prog.write_text(PRINTER)
    env.write_config(env.root.joinpath("config.toml").read_text() + f"""
[agents.{name}]
command = "{sys.executable}"
args = ["-I", "-S", "{prog}", "{wait}"]
prompt = "none"
""")
    return prog


def switches(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


def worker_pid(env: Env, name: str) -> int:
    sid = env.task(name)["session"]
    row = env.db().execute("SELECT worker_pid FROM sessions WHERE id = ?", (sid,)).fetchone()
    return int(row[0])


def test_a_detached_trickle_wakes_the_worker_a_few_times_a_second(env: Env,
                                                                  repo: Path) -> None:
    printer(env, "trickle", STARTUP + 0.5)  # the lines start once holds are allowed
    env.ok("run", "--agent", "trickle", "--name", "t", cwd=repo)
    pid = worker_pid(env, "t")
    log = env.log_of("t")
    wait_for(lambda: b"line 0010" in log.read_bytes(), scaled(20), "the trickle to start")
    before, t0 = switches(pid), time.monotonic()
    time.sleep(1.0)
    woke, took = switches(pid) - before, time.monotonic() - t0
    # 40 lines in that second: a worker reading each line wakes ~40 times; holding, about
    # 1/HOLD times (plus a few for whatever else it is asked).
    assert woke < 40 * took / 2, f"{woke} wake-ups in {took:.2f} s"
    wait_for(lambda: b"trickle done" in log.read_bytes(), scaled(30), "the trickle to end")
    lines = [x for x in log.read_bytes().decode().splitlines() if x.startswith("line ")]
    assert lines == [f"line {i:04d} of the trickle" for i in range(LINES)]


def test_no_hold_while_a_client_is_connected(env: Env, repo: Path) -> None:
    """A watcher gets each line as it is printed: one OUTPUT frame per line, not batches."""
    printer(env, "trickle", STARTUP + 0.5)
    env.ok("run", "--agent", "trickle", "--name", "t", cwd=repo)
    sock = env.root / "sessions" / f"{env.task('t')['session']}.sock"
    frames: list[bytes] = []
    with Connection.open(sock, timeout=scaled(30)) as conn:
        conn.request("attach", {"mode": "read-only", "cols": 80, "rows": 24})
        deadline = time.monotonic() + scaled(30)
        while time.monotonic() < deadline:
            msg = conn.recv()
            if isinstance(msg, Output):
                frames.append(msg.data)
                if b"trickle done" in msg.data:
                    break
    with_lines = [f for f in frames[1:] if b"line " in f]  # [0]: the attach's repaint
    printed = sum(f.count(b"line ") for f in with_lines)
    assert printed >= LINES - 24  # what came before the attach is in the repaint
    # Once watched, a line at a time (a loaded machine may merge a few): far more frames than
    # the holds of a detached worker would make (LINES * EVERY / HOLD of them).
    assert len(with_lines) > 2 * LINES * EVERY / HOLD, (len(with_lines), printed)


ASKER = f"""
import os, select, sys, time, tty
tty.setraw(0)
time.sleep({STARTUP} + 0.5)
for i in range(3):
    os.write(1, b"working %d\\r\\n" % i)  # a short read after a pause: a hold starts
    time.sleep(0.06)
    os.write(1, b"\\x1b[6n")  # where is the cursor? (crossterm waits 2 s for the answer)
    t0 = time.monotonic()
    got = b""
    while not got.endswith(b"R") and time.monotonic() - t0 < 2:
        if select.select([0], [], [], 0.1)[0]:
            got += os.read(0, 64)
    os.write(1, b"answer %d %s\\r\\n" % (i, b"yes" if got.endswith(b"R") else b"no"))
    time.sleep(0.3)
os.write(1, b"asked\\r\\n")
time.sleep(600)
"""


def test_a_detached_agents_terminal_query_is_answered_during_a_hold(env: Env,
                                                                    repo: Path) -> None:
    """A query that arrives while the worker holds is answered when the hold ends (at most
    HOLD later), well within the ~2 s agents wait for an answer."""
    prog = env.root.parent / "asker.py"
    prog.write_text(ASKER)
    env.write_config(env.root.joinpath("config.toml").read_text() + f"""
[agents.asker]
command = "{sys.executable}"
args = ["-I", "-S", "{prog}"]
prompt = "none"
""")
    env.ok("run", "--agent", "asker", "--name", "q", cwd=repo)
    log = env.log_of("q")
    wait_for(lambda: b"asked" in log.read_bytes(), scaled(30), "the agent's questions")
    text = log.read_bytes()
    assert [text.count(b"answer %d yes" % i) for i in range(3)] == [1, 1, 1], text[-300:]
