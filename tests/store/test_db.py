"""state.db: the schema and its migrations, WAL mode, and the Store's writes."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentd.errors import TaskNotFound
from agentd.protocol.events import validate_batch
from agentd.store import migrations
from agentd.store.db import Store

SCHEMA = {
    "migrations": ["name", "applied_at"],
    "tasks": [
        "id", "name", "agent", "prompt", "status", "status_reason", "workspace", "base",
        "base_commit", "branch", "worktree", "created_at", "ended_at", "exit_code",
        "attention", "attention_summary", "acked_event", "tokens_in", "tokens_out",
        "cost_usd", "git_stat", "blocked_source", "tokens_cache_read", "tokens_cache_write",
        "unpriced_calls", "merged_at", "merged_into", "merged_tip", "merged_how",
    ],
    "sessions": [
        "id", "task_id", "seq", "argv", "worker_pid", "agent_pid", "started_at", "ended_at",
        "exit_code", "end_reason", "lost", "settled", "worker_ident", "agent_ident", "agent",
        "prompt", "agent_session_id", "resumes", "records", "cols", "rows",
    ],
    "events": ["id", "task_id", "session_id", "ts", "kind", "attention", "summary", "data"],
    "thread_entries": ["id", "task_id", "session_id", "ts", "role", "kind", "content",
                       "entry_key"],
    "artifacts": ["id", "task_id", "session_id", "ts", "kind", "path", "description", "data",
                  "stored", "size", "sha256", "mime"],
    "usage": ["id", "task_id", "session_id", "ts", "model", "tokens_in", "tokens_out",
              "cost_usd", "cache_read", "cache_write", "call_key", "agent", "source",
              "price_source"],
    "record_files": ["task_id", "path", "session_id", "offset", "state"],
}
INDEXES = {"sessions_task", "events_task", "thread_task", "artifacts_task", "usage_task",
           "usage_call", "thread_entry"}


def schema_of(db: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: [c[1] for c in db.execute(f"PRAGMA table_info({t})")] for t in tables}


def indexes_of(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state.db")
    try:
        yield s
    finally:
        s.close()


def new_task(store: Store, name: str = "fix-tests", **extra: Any) -> dict[str, Any]:
    fields = {"name": name, "agent": "demo", "prompt": "fix the tests", "workspace": "/r",
              "base": "main", "base_commit": "c0ffee", "branch": f"agent/{name}",
              "worktree": f"/w/{name}", **extra}
    return store.insert_task(**fields)


def task_with_session(store: Store, name: str = "fix-tests",
                      sid: str = "s1") -> dict[str, Any]:
    task = new_task(store, name)
    store.add_session(task["id"], sid, ["demo"])
    store.session_started(sid, 100, 101)
    return task


def kinds(store: Store, task_id: int) -> list[str]:
    return [e["kind"] for e in store.events(task_id=task_id)]


# -- schema and migrations -----------------------------------------------------------------


def test_fresh_db_has_exactly_the_schema(store: Store) -> None:
    assert schema_of(store.db) == SCHEMA
    assert indexes_of(store.db) == INDEXES
    applied = [r[0] for r in store.db.execute("SELECT name FROM migrations ORDER BY rowid")]
    assert applied == ["m001_initial", "m002_lifecycle_columns", "m003_process_identity",
                       "m004_session_agents", "m005_usage_records", "m006_artifacts_and_merge",
                       "m007_session_size"]
    assert [fn.__name__ for fn in migrations.MIGRATIONS] == applied


def test_migrations_are_numbered_in_order() -> None:
    numbers = [fn.__name__.split("_", 1)[0] for fn in migrations.MIGRATIONS]
    assert numbers == [f"m{i:03d}" for i in range(1, len(numbers) + 1)]


def test_applying_twice_is_a_no_op(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    try:
        assert migrations.apply(db) == [fn.__name__ for fn in migrations.MIGRATIONS]
        before = schema_of(db)
        assert migrations.apply(db) == []
        assert schema_of(db) == before
        count = db.execute("SELECT COUNT(*) FROM migrations").fetchone()[0]
        assert count == len(migrations.MIGRATIONS)
    finally:
        db.close()


def test_reopening_keeps_data_and_schema(tmp_path: Path) -> None:
    first = Store(tmp_path / "state.db")
    new_task(first)
    first.close()
    second = Store(tmp_path / "state.db")
    try:
        assert schema_of(second.db) == SCHEMA
        assert second.task_names() == {"fix-tests"}
    finally:
        second.close()


def test_wal_mode_is_on(store: Store) -> None:
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # WAL is a property of the file: another connection sees it too.
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_writes_are_committed_when_the_call_returns(store: Store) -> None:
    task = task_with_session(store)
    assert not store.db.in_transaction
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("SELECT status FROM tasks WHERE id = ?",
                             (task["id"],)).fetchone() == ("running",)
        store.finish_session("s1", 0, "exited with code 0")
        assert not store.db.in_transaction
        assert other.execute("SELECT status FROM tasks").fetchone() == ("completed",)
    finally:
        other.close()


# -- tasks ---------------------------------------------------------------------------------


def test_insert_task(store: Store) -> None:
    task = new_task(store)
    assert task["status"] == "running"
    assert task["name"] == "fix-tests"
    assert task["ended_at"] is None and task["exit_code"] is None
    assert task["attention"] == "info"
    assert task["acked_event"] == 0
    assert kinds(store, task["id"]) == ["task_created"]
    assert store.task_names() == {"fix-tests"}
    assert store.find_task("fix-tests")["id"] == task["id"]


def test_task_names_are_unique(store: Store) -> None:
    new_task(store)
    with pytest.raises(sqlite3.IntegrityError):
        new_task(store)
    assert store.task_names() == {"fix-tests"}
    assert not store.db.in_transaction


def test_find_task_by_session_id(store: Store) -> None:
    task = task_with_session(store, sid="abc123")
    assert store.find_task("abc123")["id"] == task["id"]
    with pytest.raises(TaskNotFound, match="'nope'"):
        store.find_task("nope")


def test_list_tasks_hides_tasks_ended_long_ago(store: Store) -> None:
    task_with_session(store, "old", "s-old")
    task_with_session(store, "live", "s-live")
    store.finish_session("s-old", 0, "exited")
    later = time.time() + 2 * 86400
    assert [t["name"] for t in store.list_tasks(include_old=True, now=later)] == ["old", "live"]
    assert [t["name"] for t in store.list_tasks(include_old=False, now=later)] == ["live"]


def test_delete_task_cascades(store: Store) -> None:
    task = task_with_session(store)
    store.delete_task(task["id"])
    assert store.task_names() == set()
    assert store.session("s1") is None
    assert store.events(task_id=task["id"]) == []


# -- lifecycle -----------------------------------------------------------------------------


def test_apply_follows_the_lifecycle_table(store: Store) -> None:
    task = task_with_session(store)
    assert store.apply(task["id"], "wait", "asks a question", attention="action") == "blocked"
    assert store.apply(task["id"], "wait") is None  # already blocked: nothing recorded
    assert store.apply(task["id"], "resume") == "running"
    assert store.apply(task["id"], "kill", "stopped by the user") == "killed"
    t = store.task_by_id(task["id"])
    assert t["status"] == "killed"
    assert t["status_reason"] == "stopped by the user"
    assert t["ended_at"] is not None
    changes = [e["data"] for e in store.events(task_id=task["id"])
               if e["kind"] == "status_changed"]
    assert [(c["from"], c["to"]) for c in changes] == [
        ("running", "blocked"), ("blocked", "running"), ("running", "killed")]


def test_apply_to_unknown_task_is_none(store: Store) -> None:
    assert store.apply(999, "kill") is None


def test_apply_rejects_unknown_input(store: Store) -> None:
    task = new_task(store)
    with pytest.raises(ValueError):
        store.apply(task["id"], "explode")
    assert store.task_by_id(task["id"])["status"] == "running"
    assert not store.db.in_transaction


@pytest.mark.parametrize(("code", "status", "attention"), [
    (0, "completed", "notice"), (3, "failed", "action"), (None, "failed", "action")])
def test_finish_session(store: Store, code: int | None, status: str, attention: str) -> None:
    task = task_with_session(store)
    assert store.finish_session("s1", code, f"exited with code {code}") is True
    t = store.task_by_id(task["id"])
    assert t["status"] == status
    assert t["exit_code"] == code
    assert t["attention"] == attention
    assert t["ended_at"] is not None
    session = store.session("s1")
    assert session is not None
    assert session["ended_at"] is not None
    assert session["exit_code"] == code
    assert session["end_reason"] == f"exited with code {code}"


def test_finish_session_is_idempotent(store: Store) -> None:
    task = task_with_session(store)
    assert store.finish_session("s1", 0, "exited with code 0") is True
    events = store.events(task_id=task["id"])
    assert store.finish_session("s1", 1, "exited again") is False
    assert store.events(task_id=task["id"]) == events
    t = store.task_by_id(task["id"])
    assert (t["status"], t["exit_code"]) == ("completed", 0)
    assert store.finish_session("no-such-session", 0, "x") is False


def test_killed_task_stays_killed_when_its_session_exits(store: Store) -> None:
    task = task_with_session(store)
    store.apply(task["id"], "kill", "stopped by the user")
    assert store.finish_session("s1", -15, "killed by signal 15") is True
    t = store.task_by_id(task["id"])
    assert t["status"] == "killed"
    assert t["status_reason"] == "stopped by the user"


def test_the_last_session_to_end_decides_the_status(store: Store) -> None:
    task = task_with_session(store, sid="first")
    store.finish_session("first", 1, "exited with code 1")
    store.add_session(task["id"], "second", ["demo"], "demo", "again", start="resumed")
    t = store.task_by_id(task["id"])
    assert (t["status"], t["exit_code"], t["ended_at"]) == ("running", None, None)
    store.add_session(task["id"], "third", ["demo"], "codex", "review", start="reviewer")
    assert store.latest_session(task["id"])["id"] == "third"
    # The latest ends first: the second still runs, so the task does.
    store.finish_session("third", 0, "exited with code 0")
    assert store.task_by_id(task["id"])["status"] == "running"
    store.finish_session("second", 2, "exited with code 2")
    t = store.task_by_id(task["id"])
    assert (t["status"], t["exit_code"]) == ("failed", 2)
    assert [(s["id"], s["seq"], s["agent"], s["prompt"]) for s in store.sessions_of(
        task["id"])] == [("first", 1, None, None), ("second", 2, "demo", "again"),
                         ("third", 3, "codex", "review")]
    assert kinds(store, task["id"]).count("session_added") == 2


def test_a_lost_session_beside_a_live_one_leaves_the_task_running(store: Store) -> None:
    task = task_with_session(store, sid="first")
    store.add_session(task["id"], "second", ["demo"], "demo", "", start="added")
    store.mark_lost("first", "its worker vanished")
    assert store.task_by_id(task["id"])["status"] == "running"
    store.mark_lost("second", "its worker vanished too")
    assert store.task_by_id(task["id"])["status"] == "lost"


def test_the_conversation_event_sets_the_sessions_conversation(store: Store) -> None:
    task = new_task(store)
    store.add_session(task["id"], "s1", ["demo"], "demo", "fix it")
    store.add_session(task["id"], "s2", ["demo"], "demo", "")
    assert store.conversation_of(task["id"], "demo")["id"] == "s2"  # the latest one
    store.append_agent_events(task["id"], "s1", validate_batch(
        [{"kind": "conversation", "summary": "c", "data": {"id": "conv-1"}}]))
    assert store.session("s1")["agent_session_id"] == "conv-1"
    assert store.session("s2")["agent_session_id"] is None
    # A resume continues the latest session whose conversation is known.
    assert store.conversation_of(task["id"], "demo")["id"] == "s1"
    assert store.conversation_of(task["id"], "codex") is None


def test_card_reads_events_thread_and_usage_per_session(store: Store) -> None:
    task = task_with_session(store, sid="s1")
    store.add_session(task["id"], "s2", ["demo"], "demo", "")
    for sid, n in (("s1", 10), ("s2", 5), ("s2", 1)):
        store.append_agent_events(task["id"], sid, validate_batch([
            {"kind": "message", "summary": f"m{n}", "data": {"role": "user"}},
            {"kind": "usage", "summary": "u", "data": {"tokens_in": n, "tokens_out": 1}}]))
    assert store.usage_by_session(task["id"]) == {
        "s1": {"tokens_in": 10, "tokens_out": 1, "cache_read": 0, "cache_write": 0,
               "cost_usd": None},
        "s2": {"tokens_in": 6, "tokens_out": 2, "cache_read": 0, "cache_write": 0,
               "cost_usd": None}}
    assert [json.loads(t["content"])["summary"] for t in store.thread_tail(task["id"], 2)] == [
        "m5", "m1"]
    every = store.events(task_id=task["id"])
    assert store.recent_events(task["id"], 3) == every[-3:]
    assert store.recent_events(task["id"], 0) == []
    assert store.recent_events(task["id"], 10_000) == every


def test_mark_lost(store: Store) -> None:
    task = task_with_session(store)
    assert [s["id"] for s in store.live_sessions()] == ["s1"]
    store.mark_lost("s1", "its session worker vanished")
    t = store.task_by_id(task["id"])
    assert t["status"] == "lost"
    assert t["status_reason"] == "its session worker vanished"
    assert t["attention"] == "action"
    assert store.live_sessions() == []
    # Marking again, or an unknown session, changes nothing.
    events = store.events(task_id=task["id"])
    store.mark_lost("s1", "again")
    store.mark_lost("unknown", "x")
    assert store.events(task_id=task["id"]) == events


@pytest.mark.parametrize(("code", "status"), [(0, "completed"), (2, "failed")])
def test_late_exit_report_after_lost_tells_the_truth(store: Store, code: int,
                                                     status: str) -> None:
    """lifecycle.py: (lost, exit_ok) -> completed, (lost, exit_error) -> failed. The worker's
    late report arrives through finish_session (daemon handler or direct SQLite write)."""
    task = task_with_session(store)
    store.mark_lost("s1", "its session worker vanished")
    assert store.finish_session("s1", code, f"exited with code {code}") is True
    t = store.task_by_id(task["id"])
    assert (t["status"], t["exit_code"]) == (status, code)
    # ...once: the session is no longer lost-without-a-status.
    assert store.finish_session("s1", 9, "exited with code 9") is False


def test_lost_is_a_column_not_a_reason_prefix(store: Store) -> None:
    task_with_session(store)
    store.mark_lost("s1", "lost: a reason that happens to look like the old marker")
    s = store.session("s1")
    assert s is not None
    assert (s["lost"], s["end_reason"]) == (1, "lost: a reason that happens to look like "
                                               "the old marker")
    # A session that ended normally is not lost, whatever its reason says.
    task_with_session(store, "other", "s2")
    store.finish_session("s2", 0, "lost: not really")
    assert store.finish_session("s2", 1, "again") is False


def test_ended_sessions_wait_to_be_settled_once(store: Store) -> None:
    task_with_session(store)
    task_with_session(store, "other", "s2")
    assert store.unsettled_sessions() == []
    store.finish_session("s1", 0, "exited with code 0")
    store.mark_lost("s2", "its worker vanished")
    assert [s["id"] for s in store.unsettled_sessions()] == ["s1", "s2"]
    store.settle("s1")
    store.settle("s2")
    assert store.unsettled_sessions() == []
    # A lost session reporting its real exit later is settled again.
    store.finish_session("s2", 3, "exited with code 3")
    assert [s["id"] for s in store.unsettled_sessions()] == ["s2"]


def test_m002_carries_markers_over_from_the_old_text(tmp_path: Path) -> None:
    """A state.db written before m002: the lost marker in end_reason and a blocked task's
    screen summary become columns."""
    db = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    migrations.m001_initial(db)
    db.execute("INSERT INTO migrations VALUES ('m001_initial', 0)")
    for n, (status, reason) in enumerate([("blocked", "screen shows 'Proceed?'"),
                                          ("blocked", "no output for 30s"),
                                          ("blocked", "asks permission to use Bash"),
                                          ("running", "screen shows 'x'")]):
        db.execute("INSERT INTO tasks (id, name, agent, prompt, status, status_reason, "
                   "workspace, base, base_commit, branch, worktree, created_at) VALUES "
                   "(?, ?, 'a', '', ?, ?, '/r', 'main', 'c', 'b', '/w', 0)",
                   (n + 1, f"t{n}", status, reason))
    db.execute("INSERT INTO sessions (id, task_id, seq, argv, started_at, ended_at, end_reason) "
               "VALUES ('a', 1, 1, '[]', 0, 1, 'lost: its worker vanished'), "
               "('b', 2, 1, '[]', 0, 1, 'exited with code 0'), ('c', 3, 1, '[]', 0, NULL, NULL)")
    db.close()
    store = Store(tmp_path / "old.db")
    try:
        rows = store.db.execute("SELECT name, blocked_source FROM tasks ORDER BY id")
        assert [tuple(r) for r in rows] == [("t0", "screen"), ("t1", "idle"), ("t2", "agent"),
                                            ("t3", None)]
        rows = store.db.execute("SELECT id, lost, settled, end_reason FROM sessions ORDER BY id")
        assert [tuple(r) for r in rows] == [("a", 1, 1, "its worker vanished"),
                                            ("b", 0, 1, "exited with code 0"),
                                            ("c", 0, 0, None)]
    finally:
        store.close()


# -- events and attention ------------------------------------------------------------------


def test_attention_is_the_highest_unacked_level(store: Store) -> None:
    task = new_task(store)
    tid = task["id"]

    def attention() -> tuple[str | None, str | None]:
        t = store.task_by_id(tid)
        return t["attention"], t["attention_summary"]

    store.add_event(tid, None, "progress", "info", "reading files")
    assert attention() == ("info", "reading files")
    store.add_event(tid, None, "question", "action", "approve rm -rf build?")
    assert attention() == ("action", "approve rm -rf build?")
    store.add_event(tid, None, "progress", "notice", "tests pass")
    store.add_event(tid, None, "progress", "info", "writing")
    assert attention() == ("action", "approve rm -rf build?")  # lower levels do not hide it
    store.add_event(tid, None, "question", "action", "approve push?")
    assert attention() == ("action", "approve push?")  # the newest of the highest level

    store.ack(tid)
    assert attention() == (None, None)
    assert store.task_by_id(tid)["acked_event"] == store.last_event_id()

    store.add_event(tid, None, "progress", "notice", "committed")
    assert attention() == ("notice", "committed")
    store.ack(tid)
    store.add_event(tid, None, "progress", "info", "idle")
    assert attention() == ("info", "idle")


def test_ack_touches_only_its_task(store: Store) -> None:
    a, b = new_task(store, "a"), new_task(store, "b")
    store.add_event(a["id"], None, "q", "action", "a needs you")
    store.add_event(b["id"], None, "q", "action", "b needs you")
    store.ack(a["id"])
    assert store.task_by_id(a["id"])["attention"] is None
    assert store.task_by_id(b["id"])["attention"] == "action"


def test_add_event_and_query(store: Store) -> None:
    task = task_with_session(store)
    first = store.last_event_id()
    eid = store.add_event(task["id"], "s1", "tool_call", "notice", "ran pytest",
                          {"cmd": ["pytest"], "ok": True})
    assert eid == store.last_event_id() > first
    global_id = store.add_event(None, None, "task_removed", "info", "gone")
    assert store.task_by_id(task["id"])["attention_summary"] == "ran pytest"

    events = store.events(since=first)
    assert [e["id"] for e in events] == [eid, global_id]
    e = events[0]
    assert e == {"id": eid, "task": "fix-tests", "session": "s1", "ts": e["ts"],
                 "kind": "tool_call", "attention": "notice", "summary": "ran pytest",
                 "data": {"cmd": ["pytest"], "ok": True}}
    assert events[1]["task"] is None
    assert [x["id"] for x in store.events(since=first, task_id=task["id"])] == [eid]
    assert store.events(min_level=2) == []
    assert [x["id"] for x in store.events(min_level=1)] == [eid]
    assert len(store.events(limit=2)) == 2
