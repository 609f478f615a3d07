"""Case 6: `append_session_events` throughput in batches of 100.

One session (agent `sleep`), one connection to agentd.sock, batches of 100 events sent one
after the other, each waiting for its reply (the daemon replies after the commit). Anchor:
the same batches inserted straight into a scratch copy of the schema with sqlite3 (WAL,
synchronous=NORMAL, one transaction per batch) in the bench process — the storage floor.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from typing import Any

from bench import harness as h

NAME = "events"
TITLE = "6. append_session_events throughput"
BATCH = 100
KINDS = [("progress", "info"), ("tool_call", "info"), ("tool_result", "info"),
         ("message", "info"), ("notify", "notice")]


def batch(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(BATCH):
        kind, attention = KINDS[(n + i) % len(KINDS)]
        out.append({"kind": kind, "attention": attention,
                    "summary": f"step {n * BATCH + i}: ran the tests",
                    "data": {"tool": "Bash", "input": {"command": "pytest -q"}, "i": i}})
    return out


def sqlite_floor(path: str, batches: int, sid: str) -> float:
    from agentd.store import migrations

    db = sqlite3.connect(path, isolation_level=None)
    with contextlib.closing(db):
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        migrations.apply(db)
        db.execute("INSERT INTO tasks (id, name, agent, prompt, status, workspace, base, "
                   "base_commit, branch, worktree, created_at) VALUES "
                   "(1, 't', 'a', '', 'running', '/', 'main', 'x', 'b', '/', 0)")
        prepared = [batch(n) for n in range(batches)]
        t = time.perf_counter()
        for b in prepared:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO events (task_id, session_id, ts, kind, attention, summary, data) "
                "VALUES (1, ?, ?, ?, ?, ?, ?)",
                [(sid, time.time(), e["kind"], e["attention"], e["summary"],
                  json.dumps(e["data"])) for e in b])
            db.execute("COMMIT")
        return batches * BATCH / (time.perf_counter() - t)


def run(ctx: h.Context) -> list[h.Row]:
    from agentd.errors import AgentdError, ProtocolError
    from agentd.protocol.connection import Connection

    batches = 100 if ctx.quick else 500
    reps = 3
    res: dict[str, list[float]] = {}
    with h.scope() as sc:
        d = sc.tmpdir("adbe-")
        repo = h.make_repo(d / "repo")
        root = h.Root(sc, {"idle": ["sleep", "3600"]})
        sid = root.run("events", "idle", repo)
        with Connection.open(root.root / "agentd.sock", timeout=60) as conn:
            try:
                conn.request("append_session_events", {"session": sid, "events": batch(0)})
            except ProtocolError as e:
                ctx.skip(NAME, "agentd", f"the daemon does not know append_session_events: {e}")
                return []
            except AgentdError as e:
                if "unknown request" in str(e):
                    ctx.skip(NAME, "agentd", f"append_session_events is not available: {e}")
                    return []
                raise
            for _ in range(10):  # warm up
                conn.request("append_session_events", {"session": sid, "events": batch(1)})
            for r in range(reps):
                prepared = [batch(n) for n in range(batches)]
                t = time.perf_counter()
                for b in prepared:
                    conn.request("append_session_events", {"session": sid, "events": b})
                res.setdefault("agentd", []).append(batches * BATCH / (time.perf_counter() - t))
                res.setdefault("sqlite", []).append(
                    sqlite_floor(str(d / f"floor{r}.db"), batches, sid))
        h.log(", ".join(f"{k}: " + " ".join(f"{x:,.0f}" for x in v) + " events/s"
                        for k, v in res.items()))
    a = h.median(res["agentd"])
    return [h.Row(NAME, f"events/s, batches of {BATCH} ({batches} batches x {reps})",
                  "events/s", a, {"sqlite3 direct": h.median(res["sqlite"])},
                  goal="≥ 20 000/s", met=(a >= 20000) if a is not None else None,
                  samples=res),
            # A rate that falls from one repetition to the next means a cost that grows
            # with the events already stored.
            h.Row(NAME, f"  first → last repetition ({batches * BATCH * reps:,} stored)",
                  "events/s", res["agentd"][-1], {"first repetition": res["agentd"][0]})]
