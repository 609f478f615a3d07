"""The typed views that cross process boundaries, one definition each: a task, a session
and an event as the daemon shows them to clients, and the spec the daemon hands a session
worker. Each is built and checked here (`from_row` in the daemon, `from_wire` in a client
or worker) and turned back into JSON by `to_wire`.

Plain slotted classes, not dataclasses: `agent ls` builds task views on its start-up path,
where importing dataclasses costs more than the views themselves.
"""

from __future__ import annotations

import time

from agentd.errors import ProtocolError, UsageError
from agentd.protocol.requests import Param, validate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def iso(ts: float | None) -> str | None:
    """UTC ISO 8601 to the second, as task objects carry times."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_ms(ts: float) -> str:
    """UTC ISO 8601 with milliseconds, as events carry times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


class _View:
    __slots__: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> Any:
        """From a peer's JSON. Fields it lacks read as None (an older peer); fields this
        version does not know are dropped (a newer one)."""
        if not isinstance(d, dict):
            raise ProtocolError(f"expected a {cls.__name__} object, got {type(d).__name__}")
        view = cls.__new__(cls)
        for k in cls.__slots__:
            object.__setattr__(view, k, d.get(k))
        return view

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _View) and type(self) is type(other) and (
            self.to_wire() == other.to_wire())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_wire()!r})"


class TaskView(_View):
    """A task as `create_session`, `list_sessions` and `get_session` return it
    (docs/protocol.md, "The task object")."""

    __slots__ = ("name", "agent", "status", "status_reason", "attention", "attention_summary",
                 "prompt", "branch", "base", "base_commit", "worktree", "workspace",
                 "created_at", "ended_at", "elapsed_seconds", "exit_code", "tokens_in",
                 "tokens_out", "cost_usd", "usage", "session", "merged_at", "merged_into")

    if TYPE_CHECKING:
        name: str
        agent: str
        status: str
        status_reason: str | None
        attention: str | None
        attention_summary: str | None
        prompt: str
        branch: str
        base: str
        base_commit: str
        worktree: str
        workspace: str
        created_at: str
        ended_at: str | None
        elapsed_seconds: float
        exit_code: int | None
        tokens_in: int | None
        tokens_out: int | None
        cost_usd: float | None
        usage: dict[str, Any] | None
        session: str | None
        merged_at: str | None
        merged_into: str | None

    @classmethod
    def from_row(cls, t: dict[str, Any], session_id: str | None,
                 now: float | None = None) -> TaskView:
        """From the store's task row and the id of its latest session."""
        view = cls.__new__(cls)
        for k in ("name", "agent", "status", "status_reason", "attention", "attention_summary",
                  "prompt", "branch", "base", "base_commit", "worktree", "workspace",
                  "exit_code", "tokens_in", "tokens_out"):
            object.__setattr__(view, k, t[k])
        unpriced = t.get("unpriced_calls") or 0
        # cost_usd: null until some call is priced, and while any call cannot be
        # (docs/usage.md); usage.cost_usd is what the priced calls cost.
        view.cost_usd = None if unpriced else t["cost_usd"]
        view.usage = None if t["tokens_in"] is None and t["tokens_out"] is None else {
            "input_tokens": (t["tokens_in"] or 0) - (t.get("tokens_cache_read") or 0)
            - (t.get("tokens_cache_write") or 0),
            "output_tokens": t["tokens_out"] or 0,
            "cache_read_tokens": t.get("tokens_cache_read") or 0,
            "cache_write_tokens": t.get("tokens_cache_write") or 0,
            "cost_usd": t["cost_usd"], "unpriced_calls": unpriced}
        view.created_at = iso(t["created_at"])  # type: ignore[assignment]
        view.ended_at = iso(t["ended_at"])
        view.elapsed_seconds = round((t["ended_at"] or now or time.time()) - t["created_at"], 3)
        view.session = session_id
        view.merged_at = iso(t.get("merged_at"))
        view.merged_into = t.get("merged_into")
        return view


class SessionView(_View):
    """Where a task's session is, as `get_session` and `attach_session` add it to the task."""

    __slots__ = ("id", "socket", "log", "ended", "exit_code", "detach_key")

    if TYPE_CHECKING:
        id: str
        socket: str
        log: str
        ended: bool
        exit_code: int | None
        detach_key: str | None

    @classmethod
    def from_row(cls, s: dict[str, Any], socket: str, log: str,
                 detach_key: str | None = None) -> SessionView:
        view = cls.__new__(cls)
        view.id, view.socket, view.log = s["id"], socket, log
        view.ended = s["ended_at"] is not None
        view.exit_code = s["exit_code"]
        view.detach_key = detach_key
        return view


class SessionRecord(_View):
    """One session of a task as `get_task` lists it: which agent, when, how it ended, and
    the agent's own conversation id (what `agent resume` continues)."""

    __slots__ = ("id", "seq", "agent", "prompt", "started_at", "ended_at", "exit_code",
                 "end_reason", "live", "lost", "agent_session_id", "resumes", "usage")

    if TYPE_CHECKING:
        id: str
        seq: int
        agent: str | None
        prompt: str | None
        started_at: str
        ended_at: str | None
        exit_code: int | None
        end_reason: str | None
        live: bool
        lost: bool
        agent_session_id: str | None
        resumes: str | None
        usage: dict[str, Any]

    @classmethod
    def from_row(cls, s: dict[str, Any], usage: dict[str, Any] | None = None) -> SessionRecord:
        view = cls.__new__(cls)
        for k in ("id", "seq", "agent", "prompt", "exit_code", "end_reason",
                  "agent_session_id", "resumes"):
            object.__setattr__(view, k, s.get(k))
        view.started_at = iso(s["started_at"])  # type: ignore[assignment]
        view.ended_at = iso(s["ended_at"])
        view.live = s["ended_at"] is None
        view.lost = bool(s.get("lost"))
        view.usage = usage or {}
        return view


class EventView(_View):
    """An event as `stream_events` pushes it (docs/events.md)."""

    __slots__ = ("id", "task", "session", "ts", "kind", "attention", "summary", "data")

    if TYPE_CHECKING:
        id: int
        task: str | None
        session: str | None
        ts: str
        kind: str
        attention: str
        summary: str
        data: dict[str, Any]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventView:
        view = cls.__new__(cls)
        for k in ("id", "task", "session", "kind", "attention", "summary", "data"):
            object.__setattr__(view, k, row[k])
        view.ts = iso_ms(row["ts"])
        return view


WORKER_SPEC: dict[str, Param] = {
    "session_id": Param("str", required=True), "task": Param("str", required=True),
    "argv": Param("strs", required=True), "env": Param("env", required=True),
    "cwd": Param("str", required=True),
    "cols": Param("int", required=True, lo=1, hi=1000),
    "rows": Param("int", required=True, lo=1, hi=1000),
    "socket": Param("str", required=True), "log": Param("str", required=True),
    "log_max_bytes": Param("int", required=True, lo=4096, hi=1 << 53),
    "log_keep": Param("int", required=True, lo=0, hi=1000),
    "prompt_mode": Param("str", required=True, choices=("arg", "type", "none")),
    "prompt": Param("str", ""), "daemon_socket": Param("str", required=True),
    "db": Param("str", required=True),
    "waiting_patterns": Param("strs", []), "busy_patterns": Param("strs", []),
    "idle_seconds": Param("num", 0.0, lo=0, hi=1 << 30),
}


class WorkerSpec(_View):
    """What the daemon tells a new session worker (written to `sessions/<id>.json`, 0600)."""

    __slots__ = tuple(WORKER_SPEC)

    if TYPE_CHECKING:
        session_id: str
        task: str
        argv: list[str]
        env: dict[str, str]
        cwd: str
        cols: int
        rows: int
        socket: str
        log: str
        log_max_bytes: int
        log_keep: int
        prompt_mode: str
        prompt: str
        daemon_socket: str
        db: str
        waiting_patterns: list[str]
        busy_patterns: list[str]
        idle_seconds: float

    def __init__(self, **fields: Any) -> None:
        checked = self.check(fields)
        for k in self.__slots__:
            object.__setattr__(self, k, checked[k])

    @staticmethod
    def check(fields: dict[str, Any]) -> dict[str, Any]:
        try:
            return validate({"worker spec": WORKER_SPEC}, "worker spec", fields)
        except UsageError as e:
            raise ProtocolError(str(e)) from None

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> WorkerSpec:
        if not isinstance(d, dict):
            raise ProtocolError("worker spec: must be an object")
        return cls(**d)
