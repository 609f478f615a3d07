"""All SQL lives here. `state.db` is SQLite in WAL mode (DESIGN §8).

Every write runs in its own IMMEDIATE transaction and is committed before the caller
acknowledges it, so a kill -9 of any process loses nothing that was acknowledged
(synchronous=NORMAL in WAL mode is durable against process death; only a power loss
may lose the last transactions).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agentd import attention as levels
from agentd import effects, lifecycle
from agentd.errors import AgentdError, TaskNotFound
from agentd.protocol.events import AgentEvent
from agentd.records import Call, Entry
from agentd.store import migrations
from agentd.store.usage import Price, UsageSQL

WAIT = 5.0  # seconds a write waits for another writer's lock (workers, tests)
LOCKED_WINDOW = 1.0  # after a write found the lock taken, later writes do not wait for it
LOCKED = ("state.db is locked by another process (an sqlite3 shell or a backup holding a "
          "write transaction?); nothing was changed: retry once it lets go")
BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)

TASK_COLUMNS = (
    "id, name, agent, prompt, status, status_reason, workspace, base, base_commit, branch, "
    "worktree, created_at, ended_at, exit_code, attention, attention_summary, acked_event, "
    "tokens_in, tokens_out, cost_usd, git_stat, blocked_source, tokens_cache_read, "
    "tokens_cache_write, unpriced_calls, merged_at, merged_into, merged_tip, merged_how"
)


class Store(UsageSQL):
    """`wait`: how long a write waits for a lock another process holds, then fails with
    one line saying so. The daemon, whose event loop runs every write, waits briefly, and
    for LOCKED_WINDOW after a failure not at all, so an outside lock never stalls it; reads
    never wait for writers in WAL mode."""

    def __init__(self, path: Path, wait: float = WAIT) -> None:
        self.path = path
        self.on_commit: Callable[[], None] | None = None  # wakes event followers
        self.price: Price | None = None  # prices a call (agentd.pricing.Pricer)
        self.wait_ms = int(wait * 1000)
        self.locked_until = 0.0
        self.db = sqlite3.connect(path, isolation_level=None, timeout=wait,
                                  check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute(f"PRAGMA busy_timeout={self.wait_ms}")
            migrations.apply(self.db)
        except sqlite3.OperationalError as e:
            self.db.close()
            if e.sqlite_errorcode in BUSY_CODES:
                raise AgentdError(f"{path}: {LOCKED}") from None
            raise

    def close(self) -> None:
        self.db.close()

    def _begin(self) -> None:
        quick = time.monotonic() < self.locked_until
        if quick:
            self.db.execute("PRAGMA busy_timeout=0")
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode not in BUSY_CODES:
                raise
            self.locked_until = time.monotonic() + LOCKED_WINDOW
            raise AgentdError(LOCKED) from None
        finally:
            if quick:
                self.db.execute(f"PRAGMA busy_timeout={self.wait_ms}")
        self.locked_until = 0.0

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        self._begin()
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        if self.on_commit is not None:
            self.on_commit()

    # -- tasks ---------------------------------------------------------------------------

    def task_names(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT name FROM tasks")}

    def insert_task(self, **fields: Any) -> dict[str, Any]:
        fields.setdefault("created_at", time.time())
        fields["status"] = lifecycle.next_status(None, "start")
        cols = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        with self.write() as db:
            task_id = db.execute(f"INSERT INTO tasks ({cols}) VALUES ({marks})",
                                 tuple(fields.values())).lastrowid
            assert task_id is not None
            self._event(db, task_id, None, "task_created", "info",
                        f"task {fields['name']} created on {fields['branch']}",
                        {"agent": fields["agent"], "base": fields["base"]})
        return self.task_by_id(task_id)

    def task_by_id(self, task_id: int) -> dict[str, Any]:
        row = self.db.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?",
                              (task_id,)).fetchone()
        if row is None:
            raise TaskNotFound(f"no task with id {task_id}")
        return dict(row)

    def find_task(self, ref: str) -> dict[str, Any]:
        """A task by name, or by the id of one of its sessions."""
        row = self.db.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE name = ?",
                              (ref,)).fetchone()
        if row is None:
            row = self.db.execute(
                f"SELECT {', '.join('t.' + c.strip() for c in TASK_COLUMNS.split(','))} "
                "FROM tasks t JOIN sessions s ON s.task_id = t.id WHERE s.id = ?",
                (ref,)).fetchone()
        if row is None:
            raise TaskNotFound(f"no task or session named {ref!r} (see 'agent ls --all')")
        return dict(row)

    def list_tasks(self, include_old: bool, now: float | None = None) -> list[dict[str, Any]]:
        now = now or time.time()
        sql = f"SELECT {TASK_COLUMNS} FROM tasks"
        args: tuple[Any, ...] = ()
        if not include_old:
            sql += " WHERE ended_at IS NULL OR ended_at >= ?"
            args = (now - 86400,)
        return [dict(r) for r in self.db.execute(sql + " ORDER BY id", args)]

    def delete_task(self, task_id: int) -> None:
        with self.write() as db:
            db.execute("DELETE FROM tasks WHERE id = ?", (task_id,))

    def set_merged(self, task_id: int, into: str, tip: str, how: str) -> None:
        with self.write() as db:
            db.execute("UPDATE tasks SET merged_at = ?, merged_into = ?, merged_tip = ?, "
                       "merged_how = ? WHERE id = ?", (time.time(), into, tip, how, task_id))
            name = db.execute("SELECT name FROM tasks WHERE id = ?", (task_id,)).fetchone()
            self._event(db, task_id, None, "merged", "info",
                        f"{name[0]} merged into {into} ({how})",
                        {"into": into, "tip": tip, "how": how})

    def set_git_stat(self, task_id: int, stat: dict[str, Any]) -> None:
        with self.write() as db:
            db.execute("UPDATE tasks SET git_stat = ? WHERE id = ?", (json.dumps(stat), task_id))

    # -- lifecycle -----------------------------------------------------------------------

    def apply(self, task_id: int, event: str, reason: str | None = None,
              session_id: str | None = None, exit_code: int | None = None,
              attention: str = "info", evidence: str | None = None) -> str | None:
        """Feed a lifecycle input to a task; record the change. Returns the new status."""
        with self.write() as db:
            return self._apply(db, task_id, event, reason, session_id, exit_code, attention,
                               evidence)

    def _apply(self, db: sqlite3.Connection, task_id: int, event: str, reason: str | None,
               session_id: str | None, exit_code: int | None, attention: str,
               evidence: str | None = None) -> str | None:
        row = db.execute("SELECT name, status FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            return None
        new = lifecycle.next_status(row["status"], event)
        if new is None:
            return None
        ended = new in lifecycle.ENDED
        blocked_source = (evidence or lifecycle.AGENT) if new == lifecycle.BLOCKED else None
        db.execute(
            "UPDATE tasks SET status = ?, status_reason = ?, ended_at = ?, "
            "exit_code = CASE WHEN ? THEN NULL ELSE COALESCE(?, exit_code) END, "
            "blocked_source = ? WHERE id = ?",
            (new, reason, time.time() if ended else None, event == "start", exit_code,
             blocked_source, task_id))
        summary = f"{row['name']} is {new}" + (f": {reason}" if reason else "")
        self._event(db, task_id, session_id, "status_changed", attention, summary,
                    {"from": row["status"], "to": new, "exit_code": exit_code})
        return new

    # -- sessions ------------------------------------------------------------------------

    def add_session(self, task_id: int, session_id: str, argv: list[str],
                    agent: str | None = None, prompt: str | None = None,
                    resumes: str | None = None, start: str | None = None,
                    records: dict[str, Any] | None = None,
                    size: tuple[int, int] | None = None) -> None:
        """A new session of `agent` in the task. `start`: the reason to feed the task the
        lifecycle input `start` in the same transaction (an ended task runs again).
        `records`: where the session's agent keeps the records the daemon reads
        (integration, agent, roots; daemon/records.py), or None. `size`: the terminal size it
        starts at (read_log tells clients)."""
        cols, rows = size or (None, None)
        with self.write() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM sessions WHERE task_id = ?",
                             (task_id,)).fetchone()[0] + 1
            db.execute("INSERT INTO sessions (id, task_id, seq, argv, started_at, agent, "
                       "prompt, resumes, records, cols, rows) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (session_id, task_id, seq, json.dumps(argv), time.time(), agent,
                        prompt, resumes, json.dumps(records) if records else None, cols,
                        rows))
            if start is not None:
                self._event(db, task_id, session_id, "session_added", "info", start,
                            {"agent": agent, "resumes": resumes})
                self._apply(db, task_id, "start", start, session_id, None, "info")

    def sessions_of(self, task_id: int) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(
            "SELECT * FROM sessions WHERE task_id = ? ORDER BY seq", (task_id,))]

    def conversation_of(self, task_id: int, agent: str) -> dict[str, Any] | None:
        """The task's latest session of `agent` (its conversation is what a resume
        continues), preferring one whose conversation id is known."""
        row = self.db.execute(
            "SELECT * FROM sessions WHERE task_id = ? AND agent = ? "
            "ORDER BY agent_session_id IS NOT NULL DESC, seq DESC LIMIT 1",
            (task_id, agent)).fetchone()
        return dict(row) if row else None

    @staticmethod
    def _others_live(db: sqlite3.Connection, task_id: int, session_id: str) -> bool:
        return db.execute("SELECT 1 FROM sessions WHERE task_id = ? AND id != ? AND "
                          "ended_at IS NULL LIMIT 1", (task_id, session_id)).fetchone() \
            is not None

    def session(self, session_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return dict(row) if row else None

    def latest_session(self, task_id: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM sessions WHERE task_id = ? ORDER BY seq DESC "
                              "LIMIT 1", (task_id,)).fetchone()
        return dict(row) if row else None

    def session_ids(self, task_id: int) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM sessions WHERE task_id = ?",
                                              (task_id,))]

    def latest_session_ids(self) -> dict[int, str]:
        """Each task's latest session, in one query (agent ls runs no query per task)."""
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT task_id, id FROM sessions s WHERE seq = "
            "(SELECT MAX(seq) FROM sessions WHERE task_id = s.task_id)")}

    def live_sessions(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(
            "SELECT s.*, t.name AS task_name FROM sessions s JOIN tasks t ON t.id = s.task_id "
            "WHERE s.ended_at IS NULL")]

    def session_started(self, session_id: str, worker_pid: int, agent_pid: int | None,
                        worker_ident: str | None = None,
                        agent_ident: str | None = None) -> None:
        with self.write() as db:
            row = db.execute("SELECT task_id FROM sessions WHERE id = ?",
                             (session_id,)).fetchone()
            db.execute("UPDATE sessions SET worker_pid = ?, agent_pid = ?, worker_ident = ?, "
                       "agent_ident = ? WHERE id = ?",
                       (worker_pid, agent_pid, worker_ident, agent_ident, session_id))
            if row and agent_pid:
                self._event(db, row[0], session_id, "session_started", "info",
                            f"session {session_id} started (pid {agent_pid})",
                            {"pid": agent_pid, "worker_pid": worker_pid})

    def finish_session(self, session_id: str, exit_code: int | None, reason: str) -> bool:
        """Record how a session ended, once. Returns False when it was already recorded."""
        with self.write() as db:
            row = db.execute("SELECT task_id, ended_at, exit_code, lost FROM sessions "
                             "WHERE id = ?", (session_id,)).fetchone()
            if row is None or not lifecycle.exit_report_counts(
                    row["ended_at"] is not None, bool(row["lost"]), row["exit_code"]):
                return False
            db.execute("UPDATE sessions SET ended_at = ?, exit_code = ?, end_reason = ?, "
                       "settled = 0 WHERE id = ?", (time.time(), exit_code, reason, session_id))
            self._event(db, row["task_id"], session_id, "session_exited", "info",
                        f"session {session_id} {reason}", {"exit_code": exit_code})
            if lifecycle.session_end_decides(self._others_live(db, row["task_id"],
                                                               session_id)):
                event = "exit_ok" if exit_code == 0 else "exit_error"
                attention = "notice" if exit_code == 0 else "action"
                self._apply(db, row["task_id"], event, reason, session_id, exit_code,
                            attention)
            return True

    def mark_lost(self, session_id: str, reason: str) -> bool:
        """Give a session up for lost (its worker is gone without an exit status)."""
        with self.write() as db:
            row = db.execute("SELECT task_id, ended_at FROM sessions WHERE id = ?",
                             (session_id,)).fetchone()
            if row is None or row["ended_at"] is not None:
                return False
            db.execute("UPDATE sessions SET ended_at = ?, end_reason = ?, lost = 1, "
                       "settled = 0 WHERE id = ?", (time.time(), reason, session_id))
            if lifecycle.session_end_decides(self._others_live(db, row["task_id"],
                                                               session_id)):
                self._apply(db, row["task_id"], "vanish", reason, session_id, None, "action")
            return True

    def unsettled_sessions(self) -> list[dict[str, Any]]:
        """Sessions that ended (or were lost) whose end the daemon has not processed yet:
        also those that ended while the daemon was down."""
        return [dict(r) for r in self.db.execute(
            "SELECT s.*, t.name AS task_name FROM sessions s JOIN tasks t ON t.id = s.task_id "
            "WHERE s.ended_at IS NOT NULL AND s.settled = 0 ORDER BY s.ended_at")]

    def settle(self, session_id: str) -> None:
        with self.write() as db:
            db.execute("UPDATE sessions SET settled = 1 WHERE id = ?", (session_id,))

    # -- artifacts -----------------------------------------------------------------------

    ARTIFACT_COLUMNS = ("id, task_id, session_id, ts, kind, path, description, data, stored, "
                        "size, sha256, mime")

    def add_artifacts(self, task_id: int, session_id: str | None,
                      records: list[dict[str, Any]], attention: str) -> list[int]:
        """Record artifacts agentd keeps (captured or registered), each with its `artifact`
        event, in one transaction. Returns their ids."""
        now = time.time()
        ids = []
        with self.write() as db:
            for r in records:
                art_id = db.execute(
                    "INSERT INTO artifacts (task_id, session_id, ts, kind, path, description, "
                    "data, stored, size, sha256, mime) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (task_id, session_id, now, r["kind"], r["path"], r["description"],
                     json.dumps(r["data"]), r["stored"], r["size"], r["sha256"],
                     r["mime"])).lastrowid
                assert art_id is not None
                ids.append(art_id)
                data = {"id": art_id, "type": r["kind"], "path": r["path"],
                        "stored": r["stored"], "size": r["size"], "sha256": r["sha256"],
                        "mime": r["mime"]}
                if "tests" in r["data"]:
                    data["tests"] = r["data"]["tests"]
                self._event(db, task_id, session_id, "artifact", attention,
                            r["description"], data)
        return ids

    def artifacts(self, task_id: int) -> list[dict[str, Any]]:
        return [self._artifact_row(r) for r in self.db.execute(
            f"SELECT {self.ARTIFACT_COLUMNS} FROM artifacts WHERE task_id = ? ORDER BY id",
            (task_id,))]

    def artifact(self, task_id: int, artifact_id: int) -> dict[str, Any] | None:
        row = self.db.execute(f"SELECT {self.ARTIFACT_COLUMNS} FROM artifacts "
                              "WHERE task_id = ? AND id = ?", (task_id, artifact_id)).fetchone()
        return self._artifact_row(row) if row else None

    def latest_artifact(self, task_id: int, kind: str) -> dict[str, Any] | None:
        row = self.db.execute(f"SELECT {self.ARTIFACT_COLUMNS} FROM artifacts "
                              "WHERE task_id = ? AND kind = ? ORDER BY id DESC LIMIT 1",
                              (task_id, kind)).fetchone()
        return self._artifact_row(row) if row else None

    @staticmethod
    def _artifact_row(row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        d["data"] = json.loads(d["data"] or "{}")
        return d

    # -- events --------------------------------------------------------------------------

    def add_event(self, task_id: int | None, session_id: str | None, kind: str,
                  attention: str, summary: str, data: dict[str, Any] | None = None) -> int:
        with self.write() as db:
            return self._event(db, task_id, session_id, kind, attention, summary, data or {})

    def _event(self, db: sqlite3.Connection, task_id: int | None, session_id: str | None,
               kind: str, attention: str, summary: str, data: dict[str, Any],
               ts: float | None = None) -> int:
        event_id = db.execute(
            "INSERT INTO events (task_id, session_id, ts, kind, attention, summary, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (task_id, session_id, ts or time.time(), kind, attention, summary,
             json.dumps(data))).lastrowid
        assert event_id is not None
        if task_id is not None:
            self._raise_attention(db, task_id, attention, summary)
        return event_id

    @staticmethod
    def _raise_attention(db: sqlite3.Connection, task_id: int, level: str,
                         summary: str) -> None:
        """A task's attention: the highest level among its events not yet acknowledged
        (the latest of them gives the summary)."""
        row = db.execute("SELECT attention FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is not None and (row[0] is None or levels.rank(level) >= levels.rank(row[0])):
            db.execute("UPDATE tasks SET attention = ?, attention_summary = ? WHERE id = ?",
                       (level, summary, task_id))

    def append_agent_events(self, task_id: int, session_id: str,
                            events: list[AgentEvent]) -> tuple[int, int]:
        """Store a validated batch in one transaction, with the effects `effects.plan`
        gives it on the task as it is now. Returns (first, last) event id."""
        now = time.time()
        with self.write() as db:
            rows = [(task_id, session_id, e.ts or now, e.kind, e.attention, e.summary,
                     json.dumps(e.data)) for e in events]
            db.executemany("INSERT INTO events (task_id, session_id, ts, kind, attention, "
                           "summary, data) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
            row = db.execute("SELECT status, attention, blocked_source, prompt FROM tasks "
                             "WHERE id = ?", (task_id,)).fetchone()
            fx = effects.plan(effects.TaskState(row[0], row[1], row[2]), events)
            self._execute(db, task_id, session_id, fx, now, row[3])
        return last - len(events) + 1, last

    def _execute(self, db: sqlite3.Connection, task_id: int, session_id: str,
                 fx: effects.Effects, now: float, prompt: str = "") -> None:
        if fx.attention:
            db.execute("UPDATE tasks SET attention = ?, attention_summary = ? WHERE id = ?",
                       (*fx.attention, task_id))
        if fx.thread:
            # An agent telling its prompt back is the prompt entry the thread starts with.
            self._upsert_entries(db, task_id, session_id, (
                Entry(f"prompt:{session_id}", ts, role, "prompt", content)
                if role == "user" and prompt and content.get("text") == prompt else
                Entry(None, ts, role, kind, content) for ts, role, kind, content in fx.thread),
                now)
        if fx.usage:
            for ts, d in fx.usage:
                call = Call(None, ts or now, d.get("model"), d.get("tokens_in", 0),
                            d.get("tokens_out", 0), d.get("cache_read_tokens", 0),
                            d.get("cache_write_tokens", 0))
                # An agent that reports its own cost is taken at its word.
                cost = (float(d["cost_usd"]), "agent") if "cost_usd" in d else None
                self._upsert_call(db, task_id, session_id, None, "event", call, cost)
            self._totals(db, task_id)
        if fx.artifacts:
            db.executemany(
                "INSERT INTO artifacts (task_id, session_id, ts, kind, path, description, data, "
                "stored, size, sha256, mime) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(task_id, session_id, a.ts or now, a.kind, a.path, a.description, a.data,
                  a.stored, a.size, a.sha256, a.mime) for a in fx.artifacts])
        for tr in fx.transitions:
            self._apply(db, task_id, tr.input, tr.reason, session_id, None, "info",
                        tr.evidence)
        if fx.blocked_source:
            db.execute("UPDATE tasks SET blocked_source = ? WHERE id = ?",
                       (fx.blocked_source, task_id))
        if fx.conversation:
            db.execute("UPDATE sessions SET agent_session_id = ? WHERE id = ?",
                       (fx.conversation, session_id))

    def last_event_id(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def events(self, since: int = 0, task_id: int | None = None, min_level: int = 0,
               limit: int = 1000) -> list[dict[str, Any]]:
        sql = ("SELECT e.id, t.name AS task, e.session_id AS session, e.ts, e.kind, "
               "e.attention, e.summary, e.data FROM events e LEFT JOIN tasks t "
               "ON t.id = e.task_id WHERE e.id > ?")
        args: list[Any] = [since]
        if task_id is not None:
            sql += " AND e.task_id = ?"
            args.append(task_id)
        if min_level:
            wanted = levels.LEVELS[min_level:]
            sql += f" AND e.attention IN ({', '.join('?' for _ in wanted)})"
            args.extend(wanted)
        sql += " ORDER BY e.id LIMIT ?"
        args.append(limit)
        out = []
        for r in self.db.execute(sql, args):
            d = dict(r)
            d["data"] = json.loads(d["data"])
            out.append(d)
        return out

    def recent_events(self, task_id: int, limit: int) -> list[dict[str, Any]]:
        """The task's last `limit` events, oldest first."""
        if limit <= 0:
            return []
        first = self.db.execute(
            "SELECT MIN(id) FROM (SELECT id FROM events WHERE task_id = ? ORDER BY id DESC "
            "LIMIT ?)", (task_id, limit)).fetchone()[0]
        return self.events(first - 1, task_id=task_id, limit=limit) if first else []

    def thread_tail(self, task_id: int, limit: int) -> list[dict[str, Any]]:
        """The task's last `limit` thread entries, oldest first."""
        rows = self.db.execute(
            "SELECT * FROM thread_entries WHERE task_id = ? ORDER BY id DESC LIMIT ?",
            (task_id, max(limit, 0))).fetchall()
        return [dict(r) for r in reversed(rows)]

    def usage_by_session(self, task_id: int) -> dict[str | None, dict[str, Any]]:
        """Each session's usage totals: every token count column of the usage table
        (whatever columns it has), summed, and the cost (None when no row has one)."""
        out: dict[str | None, dict[str, Any]] = {}
        for r in self.db.execute("SELECT * FROM usage WHERE task_id = ?", (task_id,)):
            row = dict(r)
            totals = out.setdefault(row.get("session_id"), {"cost_usd": None})
            for key, value in row.items():
                if key == "cost_usd":
                    if value is not None:
                        totals["cost_usd"] = (totals["cost_usd"] or 0) + value
                elif ("tokens" in key or key.startswith("cache_")) and isinstance(value, int):
                    totals[key] = totals.get(key, 0) + value
        return out

    def ack(self, task_id: int, session_id: str | None = None, kind: str = "acknowledged",
            summary: str | None = None, data: dict[str, Any] | None = None) -> None:
        """Record what acknowledged the task (an info event), then clear its attention."""
        with self.write() as db:
            if summary:
                self._event(db, task_id, session_id, kind, "info", summary, data or {})
            db.execute("UPDATE tasks SET attention = NULL, attention_summary = NULL, "
                       "acked_event = (SELECT COALESCE(MAX(id), 0) FROM events) WHERE id = ?",
                       (task_id,))
