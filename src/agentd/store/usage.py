"""The SQL of usage, threads and record files (part of the Store; see store/db.py).

A call with a key (read from an agent's records) is stored once per task: seen again, it
keeps the largest figure of each kind and is priced again. A task's totals are summed from
its calls after every write, so they never drift from the rows they come from.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from agentd.records import Call, Entry

Price = Callable[[Call], tuple[float | None, str | None]]

USAGE_BY = {"task": "t.name", "agent": "COALESCE(u.agent, t.agent)",
            "model": "COALESCE(u.model, '?')",
            "day": "strftime('%Y-%m-%d', u.ts, 'unixepoch', 'localtime')"}


class UsageSQL:
    db: sqlite3.Connection
    price: Price | None
    write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _event: Callable[..., int]

    def _upsert_call(self, db: sqlite3.Connection, task_id: int, session_id: str | None,
                     agent: str | None, source: str, call: Call,
                     cost: tuple[float | None, str | None] | None = None) -> None:
        row = None
        if call.key is not None:
            row = db.execute("SELECT id, ts, model, tokens_in, tokens_out, cache_read, "
                             "cache_write FROM usage WHERE task_id = ? AND call_key = ?",
                             (task_id, call.key)).fetchone()
        if row is not None:
            seen = Call(call.key, row["ts"], row["model"], row["tokens_in"], row["tokens_out"],
                        row["cache_read"], row["cache_write"], call.provider)
            merged = seen.merge(call)
            if merged.figures() == seen.figures() and merged.model == seen.model:
                return  # nothing new: a repeated line
            call = merged
        if cost is None:
            cost = self.price(call) if self.price is not None else (None, None)
        values = (task_id, session_id, call.ts or time.time(), call.model, call.input,
                  call.output, call.cache_read, call.cache_write, cost[0], call.key, agent,
                  source, cost[1])
        if row is not None:
            db.execute("UPDATE usage SET model = ?, tokens_in = ?, tokens_out = ?, "
                       "cache_read = ?, cache_write = ?, cost_usd = ?, price_source = ? "
                       "WHERE id = ?", (call.model, call.input, call.output, call.cache_read,
                                        call.cache_write, cost[0], cost[1], row["id"]))
            return
        db.execute("INSERT INTO usage (task_id, session_id, ts, model, tokens_in, tokens_out, "
                   "cache_read, cache_write, cost_usd, call_key, agent, source, price_source) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)

    @staticmethod
    def _totals(db: sqlite3.Connection, task_id: int) -> None:
        """The task's totals from its calls. tokens_in counts all input: uncached, cache
        reads and cache writes (docs/usage.md)."""
        db.execute(
            "UPDATE tasks SET (tokens_in, tokens_out, tokens_cache_read, tokens_cache_write, "
            "cost_usd, unpriced_calls) = (SELECT SUM(tokens_in + cache_read + cache_write), "
            "SUM(tokens_out), SUM(cache_read), SUM(cache_write), SUM(cost_usd), "
            "COALESCE(SUM(cost_usd IS NULL), 0) FROM usage WHERE task_id = ?) WHERE id = ?",
            (task_id, task_id))

    @staticmethod
    def _upsert_entries(db: sqlite3.Connection, task_id: int, session_id: str | None,
                        entries: Iterable[Entry], now: float) -> None:
        """A keyed entry seen again keeps its place; its content is the latest, and a
        message once known to be the final result stays one."""
        db.executemany(
            "INSERT INTO thread_entries (task_id, session_id, ts, role, kind, content, "
            "entry_key) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, entry_key) DO "
            "UPDATE SET content = excluded.content, kind = CASE WHEN excluded.kind = "
            "'result' THEN 'result' ELSE thread_entries.kind END",
            [(task_id, session_id, e.ts or now, e.role, e.kind, json.dumps(e.content),
              e.key) for e in entries])

    # -- record files ----------------------------------------------------------------------

    def record_files(self, task_id: int) -> dict[str, tuple[int, dict[str, Any]]]:
        return {r[0]: (r[1], json.loads(r[2])) for r in self.db.execute(
            "SELECT path, offset, state FROM record_files WHERE task_id = ?", (task_id,))}

    def record_files_owned(self, task_id: int
                           ) -> dict[str, tuple[int, dict[str, Any], dict[str, Any]]]:
        """Each record file of a task with its offset, state, and the `records` of the
        session that found it (which integration reads it)."""
        return {r[0]: (r[1], json.loads(r[2]), json.loads(r[3] or "{}")) for r in self.db.execute(
            "SELECT f.path, f.offset, f.state, s.records FROM record_files f JOIN sessions s "
            "ON s.id = f.session_id WHERE f.task_id = ? ORDER BY f.rowid", (task_id,))}

    def add_record_files(self, task_id: int, session_id: str, paths: Iterable[str]) -> None:
        with self.write() as db:
            db.executemany("INSERT OR IGNORE INTO record_files (task_id, path, session_id) "
                           "VALUES (?, ?, ?)", [(task_id, p, session_id) for p in paths])

    def record_read(self, task_id: int, session_id: str, agent: str | None, path: str,
                    offset: int, state: dict[str, Any], calls: list[Call],
                    entries: list[Entry], bad: list[tuple[int, str]]) -> None:
        """What one read of a record file gave, with the offset and state after it: one
        transaction, so a crash re-reads the same lines and counts them once."""
        now = time.time()
        merged: dict[str | None, Call] = {}
        for call in calls:  # a message's lines in one read: priced once, with its last figures
            seen = merged.get(call.key) if call.key is not None else None
            merged[call.key if call.key is not None else str(id(call))] = \
                seen.merge(call) if seen is not None else call
        with self.write() as db:
            for call in merged.values():
                self._upsert_call(db, task_id, session_id, agent, "records", call)
            if calls:
                self._totals(db, task_id)
            self._upsert_entries(db, task_id, session_id, entries, now)
            for at, why in bad:
                self._event(db, task_id, session_id, "record_skipped", "notice",
                            f"skipped a bad line of {path.rsplit('/', 1)[-1]} at byte {at}: "
                            f"{why}", {"path": path, "offset": at, "reason": why})
            db.execute("INSERT INTO record_files (task_id, path, session_id, offset, state) "
                       "VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id, path) DO UPDATE SET "
                       "offset = excluded.offset, state = excluded.state",
                       (task_id, path, session_id, offset, json.dumps(state)))

    def add_thread_entry(self, task_id: int, session_id: str | None, entry: Entry) -> None:
        with self.write() as db:
            self._upsert_entries(db, task_id, session_id, [entry], time.time())

    # -- queries ---------------------------------------------------------------------------

    def thread(self, task_id: int, after: int = 0, limit: int = 10000) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, session_id, ts, role, kind, content FROM thread_entries "
            "WHERE task_id = ? AND id > ? ORDER BY id LIMIT ?", (task_id, after, limit))
        out = []
        for r in rows:
            d = dict(r)
            d["content"] = json.loads(d["content"])
            out.append(d)
        return out

    def usage_report(self, by: str | None, task_id: int | None,
                     since: float | None) -> list[dict[str, Any]]:
        group = USAGE_BY[by] if by else "'total'"
        sql = (f"SELECT {group} AS key, COUNT(*) AS calls, SUM(u.tokens_in) AS input, "
               "SUM(u.tokens_out) AS output, SUM(u.cache_read) AS cache_read, "
               "SUM(u.cache_write) AS cache_write, SUM(u.cost_usd) AS cost_usd, "
               "SUM(u.cost_usd IS NULL) AS unpriced FROM usage u JOIN tasks t "
               "ON t.id = u.task_id WHERE 1")
        args: list[Any] = []
        if task_id is not None:
            sql += " AND u.task_id = ?"
            args.append(task_id)
        if since is not None:
            sql += " AND u.ts >= ?"
            args.append(since)
        sql += f" GROUP BY {group} ORDER BY MIN(u.ts)"
        return [dict(r) for r in self.db.execute(sql, args) if r["calls"]]
