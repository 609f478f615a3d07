"""The daemon's requests, one method each (docs/protocol.md §6 has their contracts).

Each `h_<name>(p, peer)` receives parameters already checked against the request's
declaration in `agentd.protocol.requests.DAEMON` (types, ranges, defaults filled in), does
its work through the collaborators it was given — never through the daemon object — and
returns the reply's result or raises an AgentdError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentd import PROTOCOL_VERSION, __version__, lifecycle
from agentd.attention import RANK
from agentd.config import Config
from agentd.daemon import logs
from agentd.daemon.hub import Hub
from agentd.daemon.sessions import Sessions
from agentd.daemon.tasks import Tasks
from agentd.errors import TaskNotFound
from agentd.paths import Paths
from agentd.protocol.events import validate_batch
from agentd.protocol.messages import Push
from agentd.protocol.views import EventView, SessionView, TaskView, iso
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
                 load_config: Callable[[], Config], control: Control) -> None:
        self.paths = paths
        self.store = store
        self.tasks = tasks
        self.sessions = sessions
        self.hub = hub
        self.load_config = load_config
        self.control = control

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
        return view

    async def h_list_sessions(self, p: dict[str, Any], peer: Peer) -> list[dict[str, Any]]:
        tasks = self.store.list_tasks(include_old=p["all"])
        latest = self.store.latest_session_ids()
        return [TaskView.from_row(t, latest.get(t["id"])).to_wire() for t in tasks]

    def _locate(self, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The task a reference names and the session it means: a task name means its
        latest session, a session id that session."""
        task = self.store.find_task(ref)
        session = self.tasks.session_of(task)
        if ref != task["name"]:  # addressed by session id
            session = self.store.session(ref) or session
        return task, session

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
        first, last = self.store.append_agent_events(session["task_id"], session["id"], events)
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
        recorded = await self.sessions.ended(p["session"], p["exit_code"], p["reason"])
        return {"recorded": recorded}

    async def h_read_log(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """The session's raw log as OUTPUT frames, then the reply; with `follow`, the reply
        first, then the log as it grows, then a `log_end` push (docs/protocol.md)."""
        _, session = self._locate(p["name"])
        sid = session["id"]

        def ended() -> bool:
            row = self.store.session(sid)
            return row is None or row["ended_at"] is not None

        return await logs.read_log(peer, sid, self.paths.session_log(sid), ended, p["follow"])
