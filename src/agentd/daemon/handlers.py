"""The daemon's requests, one method each (docs/protocol.md §6 has their contracts).

Each `h_<name>(p, peer)` receives parameters already checked against the request's
declaration in `agentd.protocol.requests.DAEMON` (types, ranges, defaults filled in), does
its work through the collaborators it was given — never through the daemon object — and
returns the reply's result or raises an AgentdError.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentd import PROTOCOL_VERSION, __version__, lifecycle
from agentd.attention import RANK
from agentd.config import Config
from agentd.daemon import logs
from agentd.daemon.artifacts import Artifacts
from agentd.daemon.hub import Hub
from agentd.daemon.merge import Merges
from agentd.daemon.records import RecordWatcher
from agentd.daemon.sessions import Sessions
from agentd.daemon.tasks import Tasks
from agentd.daemon.threads import entry_view, note_tool, pair_tools, parse_since, usage_row
from agentd.errors import TaskNotFound, UsageError
from agentd.paths import Paths
from agentd.protocol.events import validate_batch
from agentd.protocol.messages import Output, Push
from agentd.protocol.views import (
    EventView,
    SessionRecord,
    SessionView,
    TaskView,
    iso,
    iso_ms,
)
from agentd.store.db import Store

if TYPE_CHECKING:
    from agentd.daemon.server import Peer


class Control:
    """What the handlers may know and ask of the daemon process itself."""

    def __init__(self, pid: int, started_at: float,
                 request_stop: Callable[[bool], None]) -> None:
        self.pid, self.started_at, self.request_stop = pid, started_at, request_stop


class Handlers:
    def __init__(self, paths: Paths, store: Store, tasks: Tasks, sessions: Sessions, hub: Hub,
                 load_config: Callable[[], Config], control: Control,
                 records: RecordWatcher, artifacts: Artifacts, merges: Merges) -> None:
        self.paths = paths
        self.artifacts = artifacts
        self.merges = merges
        self.store = store
        self.tasks = tasks
        self.sessions = sessions
        self.hub = hub
        self.load_config = load_config
        self.control = control
        self.records = records

    async def h_hello(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return {"version": __version__, "protocol": PROTOCOL_VERSION}

    async def h_daemon_info(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        paths = self.paths
        running = [t["name"] for t in self.store.list_tasks(include_old=False)
                   if t["status"] in lifecycle.ACTIVE]
        return {
            "version": __version__, "protocol": PROTOCOL_VERSION, "pid": self.control.pid,
            "started_at": iso(self.control.started_at), "root": str(paths.root),
            "data_dir": str(paths.data), "socket": str(paths.socket),
            "pidfile": str(paths.pidfile), "config": str(paths.config),
            "db": str(paths.db), "logs": str(paths.logs),
            "worktrees": str(paths.worktrees), "artifacts": str(paths.artifacts),
            "sessions": str(paths.sessions), "running_tasks": running,
        }

    async def h_daemon_stop(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        self.control.request_stop(False)
        return {"pid": self.control.pid}

    async def h_daemon_upgrade(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        self.control.request_stop(True)
        return {"pid": self.control.pid, "version": __version__}

    async def h_create_session(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task = await self.tasks.create(p)
        view = TaskView.from_row(task, task["session"]).to_wire()
        view["start_error"] = task["start_error"]
        view["setup"] = task["setup"]
        view["included"] = task["included"]
        return view

    async def h_start_session(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task = await self.tasks.start_session(p)
        view = TaskView.from_row(task, task["session"]).to_wire()
        view.update(start_error=task["start_error"], session_agent=task["session_agent"],
                    resumed=task["resumed"])
        return view

    async def h_show_task(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """The task's card: the task object, its sessions, the last events and the tail of
        its thread, in one reply."""
        task = self.store.find_task(p["name"])
        sessions = self.store.sessions_of(task["id"])
        usage = self.store.usage_by_session(task["id"])
        view = TaskView.from_row(task, sessions[-1]["id"] if sessions else None).to_wire()
        view["git_stat"] = json.loads(task["git_stat"]) if task["git_stat"] else None
        view["agents"] = list(dict.fromkeys(s["agent"] or task["agent"] for s in sessions))
        view["sessions"] = [SessionRecord.from_row(s, usage.get(s["id"])).to_wire()
                            for s in sessions]
        view["events"] = [EventView.from_row(e).to_wire()
                          for e in self.store.recent_events(task["id"], p["events"])]
        view["thread"] = [{"id": t["id"], "session": t["session_id"], "ts": iso_ms(t["ts"]),
                           "role": t["role"], "kind": t["kind"], "content": t["content"]}
                          for t in self.store.thread_tail(task["id"], p["thread"])]
        return view

    async def h_list_sessions(self, p: dict[str, Any], peer: Peer) -> list[dict[str, Any]]:
        tasks = self.store.list_tasks(include_old=p["all"])
        latest = self.store.latest_session_ids()
        return [TaskView.from_row(t, latest.get(t["id"])).to_wire() for t in tasks]

    def _locate(self, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.tasks.locate(ref)

    def _session_view(self, task: dict[str, Any], session: dict[str, Any],
                      detach_key: str | None = None) -> dict[str, Any]:
        view = TaskView.from_row(task, session["id"]).to_wire()
        where = SessionView.from_row(session, str(self.paths.session_socket(session["id"])),
                                     str(self.paths.session_log(session["id"])), detach_key)
        view.update(socket=where.socket, log=where.log, session_ended=where.ended,
                    session_exit_code=where.exit_code)
        if detach_key is not None:
            view["detach_key"] = detach_key
        return view

    async def h_get_session(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return self._session_view(*self._locate(p["name"]))

    async def h_attach_session(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """Where to attach (the worker's socket) and the detach key. An interactive attach
        to a live session is recorded and acknowledges the task's attention; a read-only
        watcher is recorded only: watching is not answering. The bytes then flow between
        client and worker only."""
        task, session = self._locate(p["name"])
        if session["ended_at"] is None:
            if p["read_only"]:
                self.store.add_event(task["id"], session["id"], "watching", "info",
                                     f"a read-only client attached to {task['name']}", {})
            else:
                self.store.ack(task["id"], session["id"], "attached",
                               f"a client attached to {task['name']}")
        return self._session_view(task, session, self.load_config().detach_key)

    async def h_send_input(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return await self.tasks.send_input(p["name"], p["text"], p["keys"], p["enter"])

    async def h_append_session_events(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        session = self.store.session(p["session"])
        if session is None:
            raise TaskNotFound(f"unknown session {p['session']!r}: 'session' must be the "
                               "AGENTD_SESSION_ID of a managed session")
        events = validate_batch(p["events"])
        task = self.store.task_by_id(session["task_id"])
        events = await self.artifacts.take_events(task, events)
        first, last = self.store.append_agent_events(session["task_id"], session["id"], events)
        if session["records"]:
            hinted = [str(e.data["transcript_path"]) for e in events
                      if isinstance(e.data.get("transcript_path"), str)]
            if hinted:
                self.records.hinted(session, sorted(set(hinted)))
            self.records.poke(session["id"])  # a hook fired: read what the agent wrote
        return {"count": len(events), "first_id": first, "last_id": last}

    async def h_stream_events(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        store = self.store
        task_id = store.find_task(p["task"])["id"] if p["task"] else None
        since = store.last_event_id() if p["from_now"] else p["since"]
        if since < 0:  # -N: the last N events
            since = max(0, store.last_event_id() + since)
        query: dict[str, Any] = {"task_id": task_id, "min_level": RANK[p["attention"]]}
        if not p["follow"]:
            while True:  # in pages, paced by the client's socket
                rows = store.events(since, **query, limit=1000)
                for row in rows:
                    peer.send(Push("event", EventView.from_row(row).to_wire()))
                    since = row["id"]
                    if peer.behind:
                        await peer.drain()
                if len(rows) < 1000:
                    return {"last_id": since}
                await peer.drain()
                if peer.closed:
                    return {"last_id": since}
        peer.follow(self._follow(peer, since, query))
        return {"following": True, "since": since}

    async def _follow(self, peer: Peer, since: int, query: dict[str, Any]) -> None:
        wake = self.hub.subscribe()
        try:
            while not peer.closed:
                wake.clear()
                rows = self.store.events(since, **query, limit=1000)
                for row in rows:
                    peer.send(Push("event", EventView.from_row(row).to_wire()))
                    since = row["id"]
                    if peer.behind:
                        await peer.drain()
                if rows:
                    await peer.drain()
                else:
                    # Everything committed so far was looked at (no await since the
                    # query): a filtered follower must not rescan it on every commit.
                    since = max(since, self.store.last_event_id())
                    await wake.wait()
        finally:
            self.hub.unsubscribe(wake)

    async def h_ack(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task = self.store.find_task(p["name"])
        previous = task["attention"]
        self.store.ack(task["id"], None, "acknowledged", f"{task['name']} acknowledged",
                       {"was": previous})
        return {"name": task["name"], "was": previous}

    async def h_client_detached(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task = self.store.find_task(p["name"])
        self.store.add_event(task["id"], p["session"], "detached", "info",
                             f"a client detached from {task['name']}", {"reason": p["reason"]})
        return {}

    async def h_kill_session(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return await self.tasks.kill(p["name"], p["rm"], p["force"])

    async def h_session_diff(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return await self.tasks.diff(p["name"], p["stat"], p["color"])

    async def h_session_exited(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        if self.store.session(p["session"]) is None:
            raise TaskNotFound(f"unknown session {p['session']!r}")
        recorded = await self.sessions.ended(p["session"], p["exit_code"], p["reason"],
                                             wait=False)
        return {"recorded": recorded}

    # -- artifacts (docs/artifacts.md) -------------------------------------------------------

    async def h_add_artifact(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        if not p["paths"] or not all(x.startswith("/") for x in p["paths"]):
            raise UsageError("add_artifact: parameter 'paths' must be a non-empty list of "
                             "absolute paths")
        task = self.store.find_task(p["name"])
        session = p["name"] if p["name"] != task["name"] else None
        added = await self.artifacts.register(task, session, p["paths"], p["kind"],
                                              p["description"], p["outside"])
        return {"name": task["name"], "artifacts": added}

    async def h_list_artifacts(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task = self.store.find_task(p["name"])
        return {"name": task["name"],
                "artifacts": [self.artifacts.view(r) for r in self.store.artifacts(task["id"])]}

    async def h_get_artifact(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """The artifact's bytes as OUTPUT frames, then the reply (its listing entry)."""
        task = self.store.find_task(p["name"])
        row, path = self.artifacts.locate(task, p["id"])
        with await asyncio.to_thread(path.open, "rb") as f:
            sent = 0
            while not peer.closed and (block := await asyncio.to_thread(f.read, 1 << 20)):
                peer.send(Output(block))
                sent += len(block)
                await peer.drain()
        return {**self.artifacts.view(row), "bytes": sent}

    async def h_merge_task(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return await self.merges.merge(p["name"], p["into"], p["squash"], p["dry_run"])

    async def h_apply_patch(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        if not p["workspace"].startswith("/"):
            raise UsageError("apply_patch: parameter 'workspace' must be an absolute path")
        return await self.merges.apply(p["name"], p["workspace"])

    async def h_read_log(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """The session's raw log as OUTPUT frames, then the reply; with `follow`, the reply
        first, then the log as it grows, then a `log_end` push (docs/protocol.md)."""
        _, session = self._locate(p["name"])
        sid = session["id"]

        def ended() -> bool:
            row = self.store.session(sid)
            return row is None or row["ended_at"] is not None

        size = (session.get("cols") or 80, session.get("rows") or 24)
        return await logs.read_log(peer, sid, self.paths.session_log(sid), ended, p["follow"],
                                   size, p["tail"])

    async def h_list_agents(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """The agents in config order, the default first (for pickers)."""
        config = self.load_config()
        names = [config.default_agent] + [n for n in config.agents if n != config.default_agent]
        return {"default": config.default_agent, "agents": [
            {"name": n, "command": config.agents[n].command,
             "integration": config.agents[n].integration} for n in names]}

    async def h_client_settings(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        config = self.load_config()
        return {"detach_key": config.detach_key, "tui_bell": config.tui_bell,
                "scrollback_lines": config.scrollback_lines}

    async def h_usage_report(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task_id = self.store.find_task(p["name"])["id"] if p["name"] else None
        since = parse_since(p["since"]) if p["since"] else None
        rows = [usage_row(r) for r in self.store.usage_report(p["by"], task_id, since)]
        total = usage_row(self.store.usage_report(None, task_id, since)[0]) if rows else None
        return {"by": p["by"], "since": iso(since), "rows": rows, "total": total}

    async def h_get_thread(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """The task's thread in order, a tool call with its result; with `follow`, the
        reply first, then every entry as a push as it is stored (a result on its own,
        naming its call)."""
        task = self.store.find_task(p["name"])
        if p["follow"]:
            peer.follow(self._follow_thread(peer, task["id"], p["after"], {}))
            return {"task": task["name"], "following": True}
        entries = self.store.thread(task["id"], p["after"])
        last = max((e["id"] for e in entries), default=p["after"])
        return {"task": task["name"], "entries": pair_tools(entries), "last_id": last}

    async def _follow_thread(self, peer: Peer, task_id: int, after: int,
                             tools: dict[str, str]) -> None:
        wake = self.hub.subscribe()
        try:
            while not peer.closed:
                wake.clear()
                entries = self.store.thread(task_id, after, limit=1000)
                for e in entries:
                    note_tool(tools, e)
                    peer.send(Push("thread_entry", entry_view(e, tools)))
                    after = e["id"]
                if entries:
                    await peer.drain()
                else:
                    await wake.wait()
        finally:
            self.hub.unsubscribe(wake)

