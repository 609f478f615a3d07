"""opencode's store (≥ 1.2: SQLite `opencode.db`), read by the daemon for usage and the
thread (docs/usage.md).

Not lines in a file: the daemon's "offset" is unused and the reader keeps, in its state, the
latest `time_updated` it has seen of messages and parts, and reads rows updated since, of
the sessions whose `directory` is the task's worktree. An assistant message carries its
tokens (input without the cache, output, reasoning, cache read and write), written again
as it streams: the last figures win. A tool part holds the call and its result.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing

from agentd.agents.base import RecordReader
from agentd.records import (
    RESULT_LIMIT,
    TEXT_LIMIT,
    Batch,
    Call,
    Entry,
    as_int,
    clip,
    short_args,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SESSIONS = "SELECT id FROM session WHERE directory IN (?, ?)"


def _ms(value: Any) -> float | None:
    return value / 1000 if isinstance(value, int | float) and value else None


class OpencodeRecords(RecordReader):
    provider = None  # each message names its provider

    def roots(self, env: dict[str, str]) -> list[str]:
        if env.get("OPENCODE_DATA_DIR"):
            return [env["OPENCODE_DATA_DIR"]]
        home = env.get("HOME") or os.path.expanduser("~")
        data = env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
        return [os.path.join(data, "opencode")]

    def discover(self, roots: list[str], worktree: str, since: float) -> list[str]:
        found = []
        for root in roots:
            path = os.path.join(root, "opencode.db")
            if not os.path.exists(path):
                continue
            try:
                with closing(_open(path)) as db:
                    row = db.execute(_SESSIONS + " AND time_updated >= ? LIMIT 1",
                                     (worktree, os.path.realpath(worktree), since * 1000)
                                     ).fetchone()
            except sqlite3.Error:
                continue
            if row:
                found.append(path)
        return found

    def stamp(self, path: str) -> int:
        """In WAL mode writes land in opencode.db-wal first: either file changing counts."""
        stamp = -1
        for p in (path, path + "-wal"):
            try:
                st = os.stat(p)
            except OSError:
                continue
            stamp = max(stamp, 0) + st.st_mtime_ns + st.st_size
        return stamp

    def read(self, path: str, offset: int, state: dict[str, Any], worktree: str = "",
             limit: int = 1 << 20) -> tuple[Batch, int]:
        batch = Batch()
        dirs = (worktree, os.path.realpath(worktree))
        try:
            with closing(_open(path)) as db:
                self._messages(db, dirs, state, batch)
                self._parts(db, dirs, state, batch)
        except sqlite3.Error as e:
            batch.bad.append((0, f"cannot read opencode's database: {e}"))
        return batch, offset

    def _messages(self, db: sqlite3.Connection, dirs: tuple[str, str], state: dict[str, Any],
                  batch: Batch) -> None:
        seen = state.get("messages", 0)
        rows = db.execute(
            "SELECT id, time_created, time_updated, data FROM message WHERE session_id IN ("
            + _SESSIONS + ") AND time_updated >= ? ORDER BY time_updated, id", (*dirs, seen))
        for mid, created, updated, raw in rows:
            state["messages"] = max(state.get("messages", 0), updated)
            try:
                data = json.loads(raw)
            except ValueError:
                batch.bad.append((0, f"message {mid}: not JSON"))
                continue
            if not isinstance(data, dict):
                continue
            tokens = data.get("tokens")
            if data.get("role") != "assistant" or not isinstance(tokens, dict):
                continue
            cache = tokens.get("cache")
            if not isinstance(cache, dict):
                cache = {}
            batch.calls.append(Call(
                "opencode:" + str(mid), _ms(created), str(data.get("modelID") or "") or None,
                input=as_int(tokens.get("input")),
                output=as_int(tokens.get("output")) + as_int(tokens.get("reasoning")),
                cache_read=as_int(cache.get("read")), cache_write=as_int(cache.get("write")),
                provider=str(data.get("providerID") or "") or None))

    def _parts(self, db: sqlite3.Connection, dirs: tuple[str, str], state: dict[str, Any],
               batch: Batch) -> None:
        seen = state.get("parts", 0)
        rows = db.execute(
            "SELECT p.id, p.message_id, p.time_created, p.time_updated, p.data, "
            "json_extract(m.data, '$.role') FROM part p JOIN message m ON m.id = p.message_id "
            "WHERE p.session_id IN (" + _SESSIONS + ") AND p.time_updated >= ? "
            "ORDER BY p.time_created, p.id", (*dirs, seen))
        for pid, mid, created, updated, raw, role in rows:
            state["parts"] = max(state.get("parts", 0), updated)
            try:
                part = json.loads(raw)
            except ValueError:
                batch.bad.append((0, f"part {pid}: not JSON"))
                continue
            ts = _ms(created)
            kind = part.get("type")
            if kind == "text" and str(part.get("text", "")).strip():
                if part.get("synthetic") or part.get("ignored"):
                    continue
                if role == "user":
                    prompted = state.get("prompt_message")
                    entry_kind = "prompt" if prompted in (None, mid) else "input"
                    state.setdefault("prompt_message", mid)
                    batch.entries.append(Entry("text:" + str(pid), ts, "user", entry_kind,
                                               {"text": clip(str(part["text"]), TEXT_LIMIT)}))
                else:
                    batch.entries.append(Entry("text:" + str(pid), ts, "assistant", "message",
                                               {"text": clip(str(part["text"]), TEXT_LIMIT)}))
            elif kind == "tool":
                call_id = str(part.get("callID") or pid)
                st = part.get("state") if isinstance(part.get("state"), dict) else {}
                batch.entries.append(Entry(
                    "tool:" + call_id, ts, "assistant", "tool_call",
                    {"tool": str(part.get("tool", "?")), "args": short_args(st.get("input")),
                     "call_id": call_id}))
                if st.get("status") in ("completed", "error"):
                    out = st.get("output") if st.get("status") == "completed" else st.get("error")
                    batch.entries.append(Entry(
                        "result:" + call_id, _ms((st.get("time") or {}).get("end")) or ts,
                        "tool", "tool_result",
                        {"call_id": call_id, "output": clip(str(out or ""), RESULT_LIMIT),
                         "is_error": st.get("status") == "error"}))


def _open(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)


READER = OpencodeRecords()
