"""Reading each live session's record files (transcripts, rollouts) as they grow: usage and
thread entries go to the store with the file's new offset (docs/usage.md).

Every `POLL_SECONDS` the watcher looks at the size of each file it knows for a live session
(one stat per file) and reads what was appended, complete lines only; it looks for new
files of a session every `DISCOVER_SECONDS`. A hook that names a transcript, and any hook
event at all, makes it read that session at once (`poke`): a Stop hook fires before Claude
Code writes its turn's last line, so that line is read on the next look, not lost. When a
session ends its files are read one last time.

Everything here runs on the event loop's thread, like every other store call.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import traceback
from typing import Any

from agentd.agents import integration
from agentd.agents.base import RecordReader
from agentd.jsonlog import JsonLog
from agentd.store.db import Store

POLL_SECONDS = 1.0
DISCOVER_SECONDS = 3.0
CLOCK_SLACK = 2.0  # a record file last written this long before its session began is not its


def records_of(session: dict[str, Any]) -> tuple[RecordReader, dict[str, Any]] | None:
    """The reader of a session's records and what it was started with (sessions.records)."""
    raw = session.get("records")
    if not raw:
        return None
    rec = json.loads(raw)
    reader = integration(rec["integration"]).record_reader()
    return (reader, rec) if reader is not None else None


class RecordWatcher:
    def __init__(self, store: Store, log: JsonLog) -> None:
        self.store = store
        self.log = log
        self.wake = asyncio.Event()
        self.poked: set[str] = set()
        self.stamps: dict[tuple[int, str], int] = {}
        self.discovered: dict[str, float] = {}  # session -> when its files were looked for

    def poke(self, session_id: str) -> None:
        self.poked.add(session_id)
        self.wake.set()

    def hinted(self, session: dict[str, Any], paths: list[str]) -> None:
        """Record files an agent's hook named (Claude Code's transcript_path): taken when
        they are JSON-lines files under the roots the session keeps its records in."""
        found = records_of(session)
        if found is None:
            return
        roots = [os.path.realpath(r) for r in found[1].get("roots", [])]
        good = [p for p in paths if p.endswith(".jsonl") and any(
            os.path.realpath(p).startswith(r.rstrip("/") + "/") for r in roots)]
        if good:
            self.store.add_record_files(session["task_id"], session["id"], good)

    async def run_forever(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), POLL_SECONDS)
            except TimeoutError:
                pass
            self.wake.clear()
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep watching
                self.log("error", "reading record files failed", error=traceback.format_exc())

    def tick(self) -> None:
        now = time.time()
        poked, self.poked = self.poked, set()
        for s in self.store.live_sessions():
            due = now - self.discovered.get(s["id"], 0) >= DISCOVER_SECONDS
            self.read_session(s, discover=due or s["id"] in poked, force=s["id"] in poked)

    def final_read(self, session: dict[str, Any]) -> None:
        """A session ended: everything its agent wrote is there now."""
        self.read_session(session, discover=True, force=True)
        self.discovered.pop(session["id"], None)

    def read_session(self, s: dict[str, Any], discover: bool, force: bool) -> None:
        found = records_of(s)
        if found is None:
            return
        reader, rec = found
        task = self.store.task_by_id(s["task_id"])
        if discover:
            self.discovered[s["id"]] = time.time()
            known = self.store.record_files(task["id"])
            # A session's files are written after it began; earlier sessions' files of the
            # task are known already (record_files), so they are not looked for again.
            since = max(task["created_at"], s["started_at"]) - CLOCK_SLACK
            new = [p for p in reader.discover(rec.get("roots", []), task["worktree"], since)
                   if p not in known]
            if new:
                self.store.add_record_files(task["id"], s["id"], new)
                force = True
        for path, (offset, state, owner) in self.store.record_files_owned(task["id"]).items():
            file_reader = reader if owner.get("integration") == rec["integration"] else \
                integration(owner["integration"]).record_reader()
            if file_reader is None:
                continue
            self._read(task, s["id"], owner.get("agent") or task["agent"], path, offset,
                       state, file_reader, force)

    def _read(self, task: dict[str, Any], session_id: str, agent: str, path: str,
              offset: int, state: dict[str, Any], reader: RecordReader, force: bool) -> None:
        key = (task["id"], path)
        stamp = reader.stamp(path)
        if stamp < 0 or (stamp == self.stamps.get(key) and not force):
            return
        try:
            batch, end = reader.read(path, offset, state, task["worktree"])
        except OSError as e:
            self.log("warning", "cannot read a record file", task=task["name"], path=path,
                     error=str(e))
            return
        if end != offset or batch.calls or batch.entries or batch.bad:
            self.store.record_read(task["id"], session_id, agent, path, end, state,
                                   batch.calls, batch.entries, batch.bad)
        if batch.more:
            self.wake.set()  # more than one read's worth: go on at once
        else:
            self.stamps[key] = stamp
