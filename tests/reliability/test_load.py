"""Load (docs/reliability.md, "Load"): concurrent runs and listings, and a steady stream of
events to several followers for 30 s. `make soak` (AGENTD_SOAK_SECONDS set) also holds the
rate to 10 000/s, which a shared test machine cannot promise."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentd.protocol import codec
from agentd.protocol.connection import Connection
from agentd.protocol.messages import Push, Reply
from tests.helpers import Env, scaled
from tests.reliability.support import connect, frame, replies

SOAK = os.environ.get("AGENTD_SOAK_SECONDS")
SOAK_SECONDS = float(SOAK or 30)
RATE = 10_000  # events per second


def test_50_concurrent_runs_with_200_concurrent_listings(env: Env, repo: Path) -> None:
    """What `agent run` and `agent ls` send, at once from 250 connections."""
    env.ok("ls")
    sock = env.root / "agentd.sock"

    def run(i: int) -> dict[str, Any]:
        with Connection.open(sock, timeout=scaled(120)) as c:
            return dict(c.request("create_session", {
                "workspace": str(repo), "name": f"load-{i}", "agent": "sleeper"}))

    def ls(_: int) -> list[dict[str, Any]]:
        with Connection.open(sock, timeout=scaled(60)) as c:
            return list(c.request("list_sessions", {}))

    with ThreadPoolExecutor(250) as pool:
        runs = [pool.submit(run, i) for i in range(50)]
        listings = [pool.submit(ls, i) for i in range(200)]
        created = [f.result() for f in runs]
        listed = [f.result() for f in listings]
    assert sorted(t["name"] for t in created) == sorted(f"load-{i}" for i in range(50))
    assert all(t["start_error"] is None for t in created)
    assert all(len(x) <= 50 for x in listed)
    final = env.ok("ls", "--json").json()
    assert len(final) == 50 and {t["status"] for t in final} == {"running"}


@pytest.mark.timeout(120 + SOAK_SECONDS * 4)
def test_10000_events_per_second_to_5_followers(env: Env, repo: Path) -> None:
    """Batches of 100 at up to 10 000 events/s for SOAK_SECONDS; each of 5 followers gets
    every acknowledged event exactly once, in order. `make test` checks the order and
    completeness (the machine is shared) and prints the rate; `make soak` holds it too."""
    env.ok("run", "--agent", "sleeper", "--name", "busy", cwd=repo)
    sid = env.task("busy")["session"]
    sock = env.root / "agentd.sock"
    followers = []
    for _ in range(5):
        s = connect(sock, timeout=60)
        s.sendall(frame("stream_events", {"follow": True, "from_now": True}))
        followers.append(s)
    for s in followers:
        assert isinstance(replies(s, 1)[0], Reply)
    raw = [bytearray() for _ in followers]  # decoded after the run: the test's own CPU
    stop = threading.Event()                  # must not be what limits the rate

    def follow(i: int) -> None:
        s = followers[i]
        while not stop.is_set():
            try:
                raw[i] += s.recv(1 << 20)
            except TimeoutError:
                continue

    threads = [threading.Thread(target=follow, args=(i,), daemon=True) for i in range(5)]
    for s in followers:
        s.settimeout(0.2)
    for t in threads:
        t.start()
    acked: list[int] = []
    with connect(sock, timeout=60) as producer:
        sent = [0]

        def acks() -> None:  # replies are read as they come: batches are pipelined
            decoder = codec.Decoder()
            while len(acked) < sent[0] * 100 or not stop_sending.is_set():
                for r in decoder.feed(producer.recv(1 << 20)):
                    assert isinstance(r, Reply), r
                    acked.extend(range(r.result["first_id"], r.result["last_id"] + 1))

        stop_sending = threading.Event()
        reader = threading.Thread(target=acks, daemon=True)
        reader.start()
        started = time.monotonic()
        batch = [{"kind": "progress", "summary": "tick"}] * 100
        while time.monotonic() - started < SOAK_SECONDS:
            due = started + sent[0] * 100 / RATE
            if time.monotonic() < due:
                time.sleep(due - time.monotonic())
            producer.sendall(frame("append_session_events", {"session": sid,
                                                             "events": batch}, sent[0]))
            sent[0] += 1
        stop_sending.set()
        took = time.monotonic() - started
        reader.join(scaled(30))

    def count(i: int) -> list[int]:
        return [m.data["id"] for m in codec.Decoder().feed(bytes(raw[i]))
                if isinstance(m, Push) and m.name == "event"]
    deadline = time.monotonic() + scaled(30)
    while time.monotonic() < deadline and any(
            raw[i].count(b'"kind":"progress"') < len(acked) for i in range(5)):
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(scaled(5))
    for s in followers:
        s.close()
    rate = len(acked) / took
    print(f"{len(acked)} events in {took:.1f}s: {rate:.0f} events/s to 5 followers")
    if SOAK:  # the rate is held to only on a machine given to the soak (make soak)
        assert rate > RATE * 0.9, f"{rate:.0f} events/s"
    assert len(acked) >= min(SOAK_SECONDS * RATE * 0.3, 10_000)
    wanted = set(acked)
    for g in map(count, range(5)):
        mine = [i for i in g if i in wanted]
        assert mine == acked, "a follower lost, repeated or reordered events"
