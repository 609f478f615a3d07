"""Numbered schema migrations. Append a function; never edit one that has shipped."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = []


def migration(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    MIGRATIONS.append(fn)
    return fn


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run statements inside the caller's transaction (executescript would COMMIT)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            agent TEXT NOT NULL,
            prompt TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT,
            workspace TEXT NOT NULL,
            base TEXT NOT NULL,
            base_commit TEXT NOT NULL,
            branch TEXT NOT NULL,
            worktree TEXT NOT NULL,
            created_at REAL NOT NULL,
            ended_at REAL,
            exit_code INTEGER,
            attention TEXT,
            attention_summary TEXT,
            acked_event INTEGER NOT NULL DEFAULT 0,
            tokens_in INTEGER,
            tokens_out INTEGER,
            cost_usd REAL,
            git_stat TEXT
        );
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            argv TEXT NOT NULL,
            worker_pid INTEGER,
            agent_pid INTEGER,
            started_at REAL NOT NULL,
            ended_at REAL,
            exit_code INTEGER,
            end_reason TEXT
        );
        CREATE INDEX sessions_task ON sessions(task_id, seq);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id INTEGER REFERENCES tasks(id) ON DELETE CASCADE,
            session_id TEXT,
            ts REAL NOT NULL,
            kind TEXT NOT NULL,
            attention TEXT NOT NULL,
            summary TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_task ON events(task_id, id);
        CREATE TABLE thread_entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            session_id TEXT,
            ts REAL NOT NULL,
            role TEXT NOT NULL,
            kind TEXT NOT NULL,
            content TEXT NOT NULL
        );
        CREATE INDEX thread_task ON thread_entries(task_id, id);
        CREATE TABLE artifacts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            session_id TEXT,
            ts REAL NOT NULL,
            kind TEXT NOT NULL,
            path TEXT,
            description TEXT,
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX artifacts_task ON artifacts(task_id);
        CREATE TABLE usage (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            session_id TEXT,
            ts REAL NOT NULL,
            model TEXT,
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL
        );
        CREATE INDEX usage_task ON usage(task_id);
        """
    )


@migration
def m002_lifecycle_columns(db: sqlite3.Connection) -> None:
    """Where a block came from and whether a session was given up for lost become columns
    (they were recognised from the wording of status_reason and end_reason); `settled`
    marks a session whose end the daemon has processed (artifact capture hangs there)."""
    _script(
        db,
        """
        ALTER TABLE tasks ADD COLUMN blocked_source TEXT;
        ALTER TABLE sessions ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;
        UPDATE sessions SET lost = 1, end_reason = substr(end_reason, 7)
            WHERE end_reason LIKE 'lost: %';
        UPDATE sessions SET settled = 1 WHERE ended_at IS NOT NULL;
        UPDATE tasks SET blocked_source = CASE
            WHEN status_reason LIKE 'screen shows%' THEN 'screen'
            WHEN status_reason LIKE 'no output for%' THEN 'idle'
            ELSE 'agent' END
            WHERE status = 'blocked'
        """
    )


@migration
def m003_process_identity(db: sqlite3.Connection) -> None:
    """A pid alone is not proof: the worker's and the agent's identity (boot id and start
    time, procs.identity) are kept with them."""
    _script(
        db,
        """
        ALTER TABLE sessions ADD COLUMN worker_ident TEXT;
        ALTER TABLE sessions ADD COLUMN agent_ident TEXT
        """
    )


@migration
def m004_session_agents(db: sqlite3.Connection) -> None:
    """A task may have sessions of several agents: each session records its agent (the
    config name), its prompt, the agent's own id for its conversation (Claude Code's
    session id, Codex's thread id, ...: what `agent resume` continues) and the agentd
    session whose conversation it continues, if any."""
    _script(
        db,
        """
        ALTER TABLE sessions ADD COLUMN agent TEXT;
        ALTER TABLE sessions ADD COLUMN prompt TEXT;
        ALTER TABLE sessions ADD COLUMN agent_session_id TEXT;
        ALTER TABLE sessions ADD COLUMN resumes TEXT;
        UPDATE sessions SET agent = (SELECT agent FROM tasks WHERE tasks.id = task_id);
        UPDATE sessions SET prompt = (SELECT prompt FROM tasks WHERE tasks.id = task_id)
            WHERE seq = 1
        """
    )


@migration
def m005_usage_records(db: sqlite3.Connection) -> None:
    """Usage and threads read from each agent's own record files (docs/usage.md): raw
    token figures per API call (cache reads and writes apart) with the price's source, so
    costs can be recomputed; a key per call and per thread entry, so a line read twice
    counts once; each record file's read offset and parser state; the integration and
    record roots of each session."""
    _script(
        db,
        """
        ALTER TABLE usage ADD COLUMN cache_read INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE usage ADD COLUMN cache_write INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE usage ADD COLUMN call_key TEXT;
        ALTER TABLE usage ADD COLUMN agent TEXT;
        ALTER TABLE usage ADD COLUMN source TEXT;
        ALTER TABLE usage ADD COLUMN price_source TEXT;
        CREATE UNIQUE INDEX usage_call ON usage(task_id, call_key);
        ALTER TABLE thread_entries ADD COLUMN entry_key TEXT;
        CREATE UNIQUE INDEX thread_entry ON thread_entries(task_id, entry_key);
        ALTER TABLE tasks ADD COLUMN tokens_cache_read INTEGER;
        ALTER TABLE tasks ADD COLUMN tokens_cache_write INTEGER;
        ALTER TABLE tasks ADD COLUMN unpriced_calls INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sessions ADD COLUMN records TEXT;
        CREATE TABLE record_files (
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            session_id TEXT,
            offset INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (task_id, path)
        )
        """
    )


@migration
def m006_artifacts_and_merge(db: sqlite3.Connection) -> None:
    """Artifacts become files agentd keeps (`stored`, relative to `<data>/artifacts/<task>/`,
    with size, sha256 and mime type; `path` stays where the agent had it); a task records
    the merge that brought it home (`merged_at`, the target branch, the branch tip merged,
    how)."""
    _script(
        db,
        """
        ALTER TABLE artifacts ADD COLUMN stored TEXT;
        ALTER TABLE artifacts ADD COLUMN size INTEGER;
        ALTER TABLE artifacts ADD COLUMN sha256 TEXT;
        ALTER TABLE artifacts ADD COLUMN mime TEXT;
        ALTER TABLE tasks ADD COLUMN merged_at REAL;
        ALTER TABLE tasks ADD COLUMN merged_into TEXT;
        ALTER TABLE tasks ADD COLUMN merged_tip TEXT;
        ALTER TABLE tasks ADD COLUMN merged_how TEXT
        """
    )


@migration
def m007_session_size(db: sqlite3.Connection) -> None:
    """The terminal size a session started at: `read_log` tells clients, so its bytes can
    be replayed through an emulator at the size they were drawn for (agentd.plaintext)."""
    _script(
        db,
        """
        ALTER TABLE sessions ADD COLUMN cols INTEGER;
        ALTER TABLE sessions ADD COLUMN rows INTEGER
        """
    )


def apply(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in order; return the names applied now."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    done = {row[0] for row in db.execute("SELECT name FROM migrations")}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            if fn.__name__ in {r[0] for r in db.execute("SELECT name FROM migrations")}:
                db.execute("ROLLBACK")
                continue
            fn(db)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (fn.__name__, time.time()))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(fn.__name__)
    return applied
