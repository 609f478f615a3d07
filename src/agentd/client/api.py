"""`AgentdClient`: everything a client asks of agentd, as typed calls over a transport.

Every CLI command (and next the TUI) goes through here. The client never reads the daemon's
files: logs, session sockets, config all come through requests, so the same client works
against a daemon it reaches only through a byte stream.

Import-light: `agent ls` imports this module. Each call opens its own connection (one
round trip); streams keep theirs open while they are iterated.
"""

from __future__ import annotations

from agentd.client import daemonctl
from agentd.errors import AgentdError, DaemonError, ProtocolError, from_wire
from agentd.protocol.messages import Failure, Output, Push, Reply
from agentd.protocol.views import EventView, SessionView, TaskView

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from agentd.client.transport import UnixTransport
    from agentd.protocol.connection import Connection


class NotAvailable(AgentdError):
    """The daemon does not know this request yet (it comes with a later version)."""

    def __init__(self, request: str) -> None:
        super().__init__(f"not available yet: this agentd does not answer {request!r}")
        self.request = request


def _task_and_session(info: dict[str, Any]) -> tuple[TaskView, SessionView]:
    """`get_session` / `attach_session` reply: a task object plus where its session is."""
    session = SessionView.from_wire({
        "id": info.get("session"), "socket": info.get("socket"), "log": info.get("log"),
        "ended": info.get("session_ended"), "exit_code": info.get("session_exit_code"),
        "detach_key": info.get("detach_key")})
    return TaskView.from_wire(info), session


class AgentdClient:
    def __init__(self, transport: UnixTransport | None = None, start: bool = True) -> None:
        """`start`: start a local daemon on demand when none answers."""
        self.transport = transport or daemonctl.local()
        self.start = start

    def connect(self, timeout: float | None = 60, start: bool | None = None) -> Connection:
        return daemonctl.connect(self.transport, self.start if start is None else start,
                                 timeout)

    def call(self, name: str, params: dict[str, Any] | None = None,
             start: bool | None = None, timeout: float | None = 60) -> Any:
        """One request on a connection of its own; its result."""
        with self.connect(timeout, start) as conn:
            return conn.request(name, params or {})

    # -- tasks -----------------------------------------------------------------------------

    def list_tasks(self, all: bool = False) -> list[TaskView]:
        return [TaskView.from_wire(t) for t in self.call("list_sessions", {"all": all})]

    def get_task(self, name: str) -> TaskView:
        return self.get_session(name)[0]

    def get_session(self, name: str) -> tuple[TaskView, SessionView]:
        """A task (by name or session id) and its latest (or that) session."""
        return _task_and_session(self.call("get_session", {"name": name}))

    def create_task(self, workspace: str, prompt: list[str], env: dict[str, str],
                    cols: int, rows: int, name: str | None = None, agent: str | None = None,
                    base: str | None = None) -> tuple[TaskView, str | None]:
        """The new task, and why its agent failed to start (None when it started)."""
        task = self.create_task_reply(workspace, prompt, env, cols, rows, name, agent, base)
        return TaskView.from_wire(task), task.get("start_error")

    def create_task_reply(self, workspace: str, prompt: list[str], env: dict[str, str],
                          cols: int, rows: int, name: str | None = None,
                          agent: str | None = None, base: str | None = None) -> dict[str, Any]:
        """`create_session`'s whole reply: the task object plus `start_error`, `setup` (the
        setup commands that run first) and `included` (.worktreeinclude files copied)."""
        reply: dict[str, Any] = self.call("create_session", {
            "name": name, "agent": agent, "base": base, "workspace": workspace,
            "prompt": prompt, "env": env, "cols": cols, "rows": rows})
        return reply

    def start_session(self, name: str, prompt: list[str], env: dict[str, str], cols: int,
                      rows: int, agent: str | None = None,
                      resume: bool = False) -> tuple[TaskView, dict[str, Any]]:
        """Another session in the task `name`: of `agent` (default: the task's), with
        `resume` one continuing that agent's conversation. The task, and the reply's
        `session_agent`, `resumed` (the session continued, or None) and `start_error`."""
        reply: dict[str, Any] = self.call("start_session", {
            "name": name, "agent": agent, "prompt": prompt, "resume": resume, "env": env,
            "cols": cols, "rows": rows})
        return TaskView.from_wire(reply), {k: reply.get(k) for k in (
            "session_agent", "resumed", "start_error")}

    def task_card(self, name: str, events: int = 10, thread: int = 10) -> dict[str, Any]:
        """`show_task`: the task object with its sessions, last events and thread tail."""
        card: dict[str, Any] = self.call("show_task", {"name": name, "events": events,
                                                        "thread": thread})
        return card

    def kill(self, name: str, rm: bool = False, force: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self.call("kill_session",
                                           {"name": name, "rm": rm, "force": force})
        return result

    def diff(self, name: str, stat: bool = False, color: bool = False) -> str:
        return str(self.call("session_diff",
                             {"name": name, "stat": stat, "color": color})["diff"])

    def send_input(self, name: str, text: str = "", keys: list[str] | None = None,
                   enter: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self.call("send_input", {
            "name": name, "text": text, "keys": keys or [], "enter": enter})
        return result

    def ack(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("ack", {"name": name})
        return result

    # -- events ----------------------------------------------------------------------------

    def emit(self, session: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Append events to a managed session's task (append_session_events)."""
        result: dict[str, Any] = self.call("append_session_events",
                                           {"session": session, "events": events})
        return result

    def events(self, since: int = 0, task: str | None = None,
               attention: str = "info") -> Iterator[EventView]:
        """The stored events after `since` (negative: the last N), oldest first."""
        with self.connect() as conn:
            req = conn.send_request("stream_events", {"task": task, "since": since,
                                                      "attention": attention})
            while True:
                msg = conn.recv()
                if isinstance(msg, Push) and msg.name == "event":
                    yield EventView.from_wire(msg.data)
                elif isinstance(msg, Reply) and msg.id == req:
                    return
                elif isinstance(msg, Failure):
                    raise from_wire(msg.code, msg.message)

    def event_stream(self, since: int = 0, task: str | None = None, attention: str = "info",
                     from_now: bool = False, start: bool | None = None,
                     timeout: float | None = None) -> Connection:
        """A connection following the event log: its pushes are `event`s (for a caller
        polling several connections; `follow_events` iterates one)."""
        conn = self.connect(timeout, start)
        try:
            conn.request("stream_events", {"task": task, "since": since, "follow": True,
                                           "attention": attention, "from_now": from_now})
        except BaseException:
            conn.close()
            raise
        return conn

    def follow_events(self, since: int = 0, task: str | None = None, attention: str = "info",
                      from_now: bool = False) -> Iterator[EventView]:
        """Stored events after `since`, then new ones as they are committed, until the
        daemon goes away (DaemonError; follow again with `since` = the last id)."""
        with self.event_stream(since, task, attention, from_now) as conn:
            while True:
                msg = conn.recv()
                if isinstance(msg, Push) and msg.name == "event":
                    yield EventView.from_wire(msg.data)

    # -- artifacts and bringing work home (docs/artifacts.md) ------------------------------

    def add_artifact(self, name: str, paths: list[str], kind: str = "file",
                     description: str | None = None,
                     outside: bool = False) -> list[dict[str, Any]]:
        """Register files (absolute paths) with a task, or with the session `name` ids;
        all or none."""
        return list(self.call("add_artifact", {
            "name": name, "paths": paths, "kind": kind, "description": description,
            "outside": outside})["artifacts"])

    def artifacts(self, name: str) -> list[dict[str, Any]]:
        return list(self.call("list_artifacts", {"name": name})["artifacts"])

    def artifact_bytes(self, name: str, artifact_id: int) -> Iterator[bytes]:
        """An artifact's content, streamed (OUTPUT frames, then the reply)."""
        with self.connect() as conn:
            req = conn.send_request("get_artifact", {"name": name, "id": artifact_id})
            while True:
                msg = conn.recv()
                if isinstance(msg, Output):
                    yield msg.data
                elif isinstance(msg, Reply) and msg.id == req:
                    return
                elif isinstance(msg, Failure):
                    raise from_wire(msg.code, msg.message)

    def merge(self, name: str, into: str | None = None, squash: bool = False,
              dry_run: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self.call("merge_task", {
            "name": name, "into": into, "squash": squash, "dry_run": dry_run}, timeout=600)
        return result

    def apply(self, name: str, workspace: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("apply_patch", {"name": name,
                                                           "workspace": workspace})
        return result

    # -- usage and threads -----------------------------------------------------------------

    def usage(self, name: str | None = None, by: str | None = None,
              since: str | None = None) -> dict[str, Any]:
        """Token and cost totals (usage_report), overall or grouped `by` task, agent,
        model or day, of one task or all, since a date."""
        result: dict[str, Any] = self.call("usage_report",
                                           {"name": name, "by": by, "since": since})
        return result

    def thread(self, name: str) -> dict[str, Any]:
        """A task's thread: entries in order, each tool call with its result."""
        result: dict[str, Any] = self.call("get_thread", {"name": name})
        return result

    def follow_thread(self, name: str) -> Iterator[dict[str, Any]]:
        """A task's thread entries as they are stored, until the daemon goes away."""
        with self.connect(None) as conn:
            conn.request("get_thread", {"name": name, "follow": True})
            while True:
                msg = conn.recv()
                if isinstance(msg, Push) and msg.name == "thread_entry":
                    yield msg.data

    # -- sessions --------------------------------------------------------------------------

    def attach_info(self, name: str, read_only: bool = False) -> tuple[TaskView, SessionView]:
        """Where to attach; the daemon records the attach (and, unless `read_only`,
        acknowledges the task's attention)."""
        return _task_and_session(self.call("attach_session",
                                           {"name": name, "read_only": read_only}))

    def open_session(self, session: SessionView, timeout: float | None = None) -> Connection:
        """A connection to the session's worker; raises OSError when it cannot be reached."""
        return self.transport.connect_session(session, timeout)

    def client_detached(self, name: str, session: str | None, reason: str,
                        via: Connection | None = None) -> None:
        """Tell the daemon a client detached (over `via` when given, then closed)."""
        with via or self.connect(5, start=False) as conn:
            conn.request("client_detached", {"name": name, "session": session,
                                             "reason": reason})

    def snapshot(self, name: str) -> dict[str, Any]:
        """The session's screen as text: lines, cursor, size (the worker's `snapshot`)."""
        task, session = self.get_session(name)
        if session.ended:
            raise DaemonError(f"the session of {task.name} has ended; see "
                              f"'agent logs {task.name}'")
        with self.open_session(session, timeout=10) as conn:
            result: dict[str, Any] = conn.request("snapshot")
        return result

    def read_log(self, name: str, follow: bool = False) -> Iterator[bytes]:
        """The session's raw output, oldest first; with `follow`, then what it appends
        until the session ends."""
        with self.connect(None if follow else 60) as conn:
            req = conn.send_request("read_log", {"name": name, "follow": follow})
            while True:
                msg = conn.recv()
                if isinstance(msg, Output):
                    yield msg.data
                elif isinstance(msg, Reply) and msg.id == req:
                    if not msg.result.get("following"):
                        return
                elif isinstance(msg, Push) and msg.name == "log_end":
                    return
                elif isinstance(msg, Failure):
                    raise from_wire(msg.code, msg.message)

    def log_text(self, name: str, follow: bool = False, tail: int = 0) -> Iterator[str]:
        """The session's output as plain text, line by line (agentd.plaintext): lines as
        they scroll off the session's screen, then its final screen. `tail`: from the log's
        last `tail` bytes only (its first line may then be cut)."""
        from agentd.plaintext import PlainText

        text = PlainText()
        with self.connect(None if follow else 60) as conn:
            req = conn.send_request("read_log", {"name": name, "follow": follow,
                                                 "tail": tail})
            while True:
                msg = conn.recv()
                if isinstance(msg, Output):
                    yield from text.feed(msg.data)
                elif isinstance(msg, Push) and msg.name == "log_size":
                    text = PlainText(int(msg.data["cols"]), int(msg.data["rows"]))
                elif isinstance(msg, Reply) and msg.id == req:
                    if not msg.result.get("following"):
                        break
                elif isinstance(msg, Push) and msg.name == "log_end":
                    break
                elif isinstance(msg, Failure):
                    raise from_wire(msg.code, msg.message)
        yield from text.screen()

    def optional(self, name: str, params: dict[str, Any] | None = None) -> Any:
        """A request this daemon may not know yet (a newer feature): its result, or
        NotAvailable when the daemon answers "unknown request"."""
        try:
            return self.call(name, params)
        except ProtocolError as e:
            if "unknown request" in str(e):
                raise NotAvailable(name) from None
            raise

    # -- config ----------------------------------------------------------------------------

    def list_agents(self) -> tuple[str, list[str]]:
        """The default agent and every agent name, in config order, the default first."""
        result = self.call("list_agents")
        return str(result["default"]), [str(a["name"]) for a in result["agents"]]

    def client_settings(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("client_settings")
        return result

    # -- the daemon ------------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("hello")
        return result

    def daemon_info(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("daemon_info")
        return result

    def stop(self) -> dict[str, Any]:
        """Ask a running daemon to stop (DaemonError when none runs); its pid."""
        result: dict[str, Any] = self.call("daemon_stop", start=False)
        return result

    def upgrade(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("daemon_upgrade")
        return result
