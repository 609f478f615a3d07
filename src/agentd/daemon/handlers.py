"""The daemon's requests, one method each (see docs/protocol.md for their contracts)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from agentd import PROTOCOL_VERSION, __version__, lifecycle
from agentd.attention import LEVELS
from agentd.errors import TaskNotFound, UsageError
from agentd.protocol.events import validate_batch
from agentd.protocol.messages import Push

if TYPE_CHECKING:
    from agentd.daemon.main import Daemon
    from agentd.daemon.server import Peer


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def task_view(t: dict[str, Any], session: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": t["name"], "agent": t["agent"], "status": t["status"],
        "status_reason": t["status_reason"], "attention": t["attention"],
        "attention_summary": t["attention_summary"], "prompt": t["prompt"],
        "branch": t["branch"], "base": t["base"], "base_commit": t["base_commit"],
        "worktree": t["worktree"], "workspace": t["workspace"],
        "created_at": iso(t["created_at"]), "ended_at": iso(t["ended_at"]),
        "elapsed_seconds": round((t["ended_at"] or time.time()) - t["created_at"], 3),
        "exit_code": t["exit_code"], "tokens_in": t["tokens_in"],
        "tokens_out": t["tokens_out"], "cost_usd": t["cost_usd"],
        "session": session["id"] if session else None,
    }


def event_view(row: dict[str, Any]) -> dict[str, Any]:
    ts = row["ts"]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
    return {"id": row["id"], "task": row["task"], "session": row["session"], "ts": stamp,
            "kind": row["kind"], "attention": row["attention"], "summary": row["summary"],
            "data": row["data"]}


class Handlers:
    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon

    async def h_hello(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return {"version": __version__, "protocol": PROTOCOL_VERSION}

    async def h_daemon_info(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        d = self.d
        running = [t["name"] for t in d.store.list_tasks(include_old=False)
                   if t["status"] in lifecycle.ACTIVE]
        return {
            "version": __version__, "protocol": PROTOCOL_VERSION, "pid": d.pid,
            "started_at": iso(d.started_at), "root": str(d.paths.root),
            "data_dir": str(d.paths.data), "socket": str(d.paths.socket),
            "pidfile": str(d.paths.pidfile), "config": str(d.paths.config),
            "db": str(d.paths.db), "logs": str(d.paths.logs),
            "worktrees": str(d.paths.worktrees), "artifacts": str(d.paths.artifacts),
            "sessions": str(d.paths.sessions), "running_tasks": running,
        }

    async def h_daemon_stop(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        self.d.request_stop(upgrade=False)
        return {"pid": self.d.pid}

    async def h_daemon_upgrade(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        self.d.request_stop(upgrade=True)
        return {"pid": self.d.pid, "version": __version__}

    async def h_create_session(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task = await self.d.tasks.create(p)
        view = task_view(task)
        view["session"] = task["session"]
        view["start_error"] = task["start_error"]
        return view

    async def h_list_sessions(self, p: dict[str, Any], peer: Peer) -> list[dict[str, Any]]:
        store = self.d.store
        tasks = store.list_tasks(include_old=bool(p.get("all")))
        latest = store.latest_session_ids()
        return [task_view(t, {"id": latest[t["id"]]} if t["id"] in latest else None)
                for t in tasks]

    async def h_get_session(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task = self.d.store.find_task(p["name"])
        session = self.d.tasks.session_of(task)
        if p["name"] != task["name"]:  # addressed by session id
            session = self.d.store.session(p["name"]) or session
        if p.get("attaching") and session["ended_at"] is None:
            self.d.store.ack(task["id"], session["id"], "attached",
                             f"a client attached to {task['name']}")
        view = task_view(task, session)
        view["socket"] = str(self.d.paths.session_socket(session["id"]))
        view["log"] = str(self.d.paths.session_log(session["id"]))
        view["session_ended"] = session["ended_at"] is not None
        view["session_exit_code"] = session["exit_code"]
        return view

    async def h_send_input(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return await self.d.tasks.send_input(p["name"], str(p.get("text", "")),
                                             list(p.get("keys", [])), bool(p.get("enter")))

    async def h_append_session_events(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        session = self.d.store.session(str(p.get("session", "")))
        if session is None:
            raise TaskNotFound(f"unknown session {p.get('session')!r}: 'session' must be the "
                               "AGENTD_SESSION_ID of a managed session")
        events = validate_batch(p.get("events"))
        first, last = self.d.store.append_agent_events(session["task_id"], session["id"], events)
        return {"count": len(events), "first_id": first, "last_id": last}

    async def h_stream_events(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        store = self.d.store
        task_id = store.find_task(p["task"])["id"] if p.get("task") else None
        level = p.get("attention") or "info"
        if level not in LEVELS:
            raise UsageError(f"attention must be one of {', '.join(LEVELS)}")
        since = store.last_event_id() if p.get("from_now") else int(p.get("since") or 0)
        if since < 0:  # -N: the last N events
            since = max(0, store.last_event_id() + since)
        query: dict[str, Any] = {"task_id": task_id, "min_level": LEVELS.index(level)}
        if not p.get("follow"):
            for row in store.events(since, **query, limit=1_000_000):
                peer.send(Push("event", event_view(row)))
                since = row["id"]
            return {"last_id": since}
        peer.tasks.add(asyncio.create_task(self._follow(peer, since, query)))
        return {"following": True, "since": since}

    async def _follow(self, peer: Peer, since: int, query: dict[str, Any]) -> None:
        wake = self.d.hub.subscribe()
        try:
            while not peer.closed:
                wake.clear()
                rows = self.d.store.events(since, **query, limit=1000)
                for row in rows:
                    peer.send(Push("event", event_view(row)))
                    since = row["id"]
                if rows:
                    await peer.drain()
                else:
                    # Everything committed so far was looked at (no await since the
                    # query): a filtered follower must not rescan it on every commit.
                    since = max(since, self.d.store.last_event_id())
                    await wake.wait()
        finally:
            self.d.hub.unsubscribe(wake)

    async def h_ack(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task = self.d.store.find_task(p["name"])
        previous = task["attention"]
        self.d.store.ack(task["id"], None, "acknowledged", f"{task['name']} acknowledged",
                         {"was": previous})
        return {"name": task["name"], "was": previous}

    async def h_client_detached(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        task = self.d.store.find_task(p["name"])
        self.d.store.add_event(task["id"], p.get("session"), "detached", "info",
                               f"a client detached from {task['name']}",
                               {"reason": p.get("reason")})
        return {}

    async def h_attach_session(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """Where to attach (the worker's socket), recording the attach and acknowledging
        the task's attention. The bytes then flow between client and worker only."""
        return await self.h_get_session({**p, "attaching": True}, peer)

    async def h_kill_session(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return await self.d.tasks.kill(p["name"], bool(p.get("rm")), bool(p.get("force")))

    async def h_session_diff(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        return await self.d.tasks.diff(p["name"], bool(p.get("stat")), bool(p.get("color")))

    async def h_session_exited(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        session = self.d.store.session(p["session"])
        if session is None:
            raise TaskNotFound(f"unknown session {p['session']!r}")
        recorded = self.d.store.finish_session(p["session"], p.get("exit_code"),
                                               str(p.get("reason", "exited")))
        return {"recorded": recorded}

    async def h_read_log(self, p: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """The session's raw log as OUTPUT frames, then the reply; with `follow`, the reply
        first, then the log as it grows, then a `log_end` push (docs/protocol.md)."""
        from agentd.daemon import logs

        task = self.d.store.find_task(p["name"])
        session = self.d.tasks.session_of(task)
        if p["name"] != task["name"]:  # addressed by session id
            session = self.d.store.session(p["name"]) or session
        sid = session["id"]

        def ended() -> bool:
            row = self.d.store.session(sid)
            return row is None or row["ended_at"] is not None

        return await logs.read_log(peer, sid, self.d.paths.session_log(sid), ended,
                                   bool(p.get("follow")))
