"""Case 4: `agent ls` with 100 tasks and 1 M events.

100 tasks are created through the daemon (create_session on its socket; agent `true`, so
each gets a real worktree, session and exit). The daemon is stopped, 1 M rows are
bulk-inserted into `events` with sqlite3 (columns read from the live schema), the daemon is
started again, and `agent ls` (the installed console script, as a user runs it, output to a
pipe) is timed as a subprocess, interpreter start-up included. Anchor: `python -c pass`
from the same venv. Median over N runs.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from bench import harness as h

NAME = "ls"
TITLE = "4. agent ls with 100 tasks and 1 M events"
TASKS = 100
EVENTS = 1_000_000
KINDS = [("progress", "info"), ("tool_call", "info"), ("tool_result", "info"),
         ("message", "info"), ("usage", "info"), ("notify", "notice"), ("artifact", "notice")]


def fill_events(root: h.Root, count: int) -> None:
    """Bulk-insert `count` events spread over every session, in one SQL statement."""
    with contextlib.closing(root.db()) as db:
        cols = {r[1]: (r[2].upper(), r[3], r[4]) for r in db.execute("PRAGMA table_info(events)")}
        known = {"task_id": "s.task_id", "session_id": "s.sid", "ts": ":t0 + c.i * :step",
                 "kind": "k.kind", "attention": "k.attention",
                 "summary": "k.kind || ' #' || c.i || ': step ' || (c.i % 97)",
                 "data": "'{\"i\": ' || c.i || ', \"tool\": \"Bash\"}'"}
        names = [c for c in known if c in cols]
        exprs = [known[c] for c in names]
        for c, (typ, notnull, default) in cols.items():  # columns added since, if required
            if c not in known and c != "id" and notnull and default is None:
                names.append(c)
                exprs.append("0" if ("INT" in typ or "REAL" in typ) else "''")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN")
        db.execute("CREATE TEMP TABLE s (n INTEGER PRIMARY KEY, task_id INTEGER, sid TEXT)")
        db.execute("INSERT INTO s (n, task_id, sid) SELECT row_number() OVER (ORDER BY id) - 1, "
                   "task_id, id FROM sessions")
        nsess = db.execute("SELECT COUNT(*) FROM s").fetchone()[0]
        db.execute("CREATE TEMP TABLE k (n INTEGER PRIMARY KEY, kind TEXT, attention TEXT)")
        db.executemany("INSERT INTO k VALUES (?, ?, ?)",
                       [(i, kind, att) for i, (kind, att) in enumerate(KINDS)])
        db.execute(
            f"WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < :n - 1) "
            f"INSERT INTO events ({', '.join(names)}) SELECT {', '.join(exprs)} FROM c "
            f"JOIN s ON s.n = c.i % :nsess JOIN k ON k.n = (c.i * 7919) % :nkinds",
            {"n": count, "nsess": nsess, "nkinds": len(KINDS), "t0": time.time() - 2 * 86400,
             "step": 2 * 86400 / count})
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def timed(argv: list[str], env: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.run(argv, env=env, capture_output=True, stdin=subprocess.DEVNULL)
        out.append((time.perf_counter() - t) * 1000)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {p.stderr.decode()[-300:]}")
    return out


def run(ctx: h.Context) -> list[h.Row]:
    n = 10 if ctx.quick else 30
    with h.scope() as sc:
        d = sc.tmpdir("adbl-")
        repo = h.make_repo(d / "repo")
        root = h.Root(sc, {"true": ["true"]})
        root.ensure_daemon()
        t = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: root.create(f"task-{i:03d}", "true", repo), range(TASKS)))
        h.log(f"{TASKS} tasks created through the daemon in {time.monotonic() - t:.1f} s")
        h.wait_for(lambda: all(e is not None for *_, e in root.sessions()), 60,
                   "every `true` session to end", interval=0.1)
        root.stop_daemon()
        t = time.monotonic()
        fill_events(root, EVENTS)
        with contextlib.closing(root.db()) as db:
            total = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        h.log(f"{total:,} events in state.db ({time.monotonic() - t:.1f} s to insert)")
        root.ensure_daemon()  # starts the daemon again
        listed = json.loads(root.cli("ls", "--json").stdout)
        if len(listed) != TASKS:
            ctx.notes.append(f"ls: agent ls --json listed {len(listed)} tasks, not {TASKS}")
        for _ in range(3):  # warm the page cache and the daemon
            root.cli("ls")
        res: dict[str, list[float]] = {}
        for _ in range(2):  # interleave, so background load hits both alike
            res.setdefault("ls", []).extend(timed([*h.AGENT, "ls"], root.env, n // 2))
            res.setdefault("ls --json", []).extend(timed([*h.AGENT, "ls", "--json"], root.env,
                                                         n // 2))
            res.setdefault("py", []).extend(timed([h.PY, "-c", "pass"], root.env, n // 2))
        h.log(", ".join(f"{k}: median {h.median(v):.1f} ms" for k, v in res.items()))
    a = h.median(res["ls"])
    return [
        h.Row(NAME, f"agent ls, {TASKS} tasks / {total:,} events (N={len(res['ls'])})", "ms", a,
              {"python -c pass": h.median(res["py"])}, goal="≤ 50 ms median",
              met=(a <= 50) if a is not None else None, higher_is_better=False,
              samples=res),
        h.Row(NAME, "agent ls --json, same", "ms", h.median(res["ls --json"]),
              {"python -c pass": h.median(res["py"])}, higher_is_better=False),
    ]
