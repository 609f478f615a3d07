"""The requests a session worker answers on its socket (docs/protocol.md §7): one `req_<name>`
handler each, and the dispatcher that checks a request against its declaration
(`agentd.protocol.requests.WORKER`) before its handler runs.

A handler returns its result or raises an AgentdError; it sees only checked parameters, so any
other exception is a bug: the client gets an `error` reply, the traceback goes to the log,
and the session goes on."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from typing import Any

from agentd.errors import AgentdError, Conflict
from agentd.jsonlog import JsonLog
from agentd.keys import key_bytes
from agentd.protocol.messages import Failure, Message, Output, Reply, Request
from agentd.protocol.requests import WORKER, validate
from agentd.worker.clients import INTERACTIVE, Client, Clients
from agentd.worker.inputs import InputQueue
from agentd.worker.process import AgentProcess
from agentd.worker.screen import Screen
from agentd.worker.watch import ScreenWatch


class Followed:
    """A result whose reply is followed by more frames to the same client."""

    __slots__ = ("result", "frames")

    def __init__(self, result: Any, *frames: Message) -> None:
        self.result, self.frames = result, frames


class Requests:
    def __init__(self, *, session: str, task: str, agent: AgentProcess, screen: Screen,
                 clients: Clients, inputs: InputQueue, watch: ScreenWatch,
                 terminate: Callable[[float], None], log: JsonLog) -> None:
        self.session, self.task = session, task
        self.agent = agent
        self.screen = screen
        self.clients = clients
        self.inputs = inputs
        self.watch = watch
        self.terminate = terminate
        self.log = log

    def dispatch(self, c: Client, msg: Request) -> None:
        name = msg.name
        if name not in WORKER:
            self.clients.send(c, Failure(msg.id, "protocol", f"unknown request {name!r}"))
            return
        try:
            result = getattr(self, f"req_{name}")(c, validate(WORKER, name, msg.params))
        except AgentdError as e:
            self.clients.send(c, Failure(msg.id, e.code, e.message))
            return
        except Exception as e:  # noqa: BLE001 - a bug in a handler must not end the session
            self.log("error", f"internal error in {name}", task=self.task, error=repr(e),
                     traceback=traceback.format_exc())
            self.clients.send(c, Failure(msg.id, "error", f"internal error in {name}: {e!r}; "
                                                          "see logs/agentd.log"))
            return
        if isinstance(result, Followed):
            self.clients.send(c, Reply(msg.id, result.result))
            for frame in result.frames:
                self.clients.send(c, frame)
        else:
            self.clients.send(c, Reply(msg.id, result))

    def req_info(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        return {"session": self.session, "task": self.task, "pid": self.agent.pid,
                "worker_pid": os.getpid(), "cols": self.screen.cols, "rows": self.screen.rows,
                "interactive": self.clients.interactive is not None,
                "watchers": self.clients.watchers, "exited": self.agent.exited}

    def req_attach(self, c: Client, p: dict[str, Any]) -> Followed:
        """The reply, then a snapshot of the screen; live output follows."""
        mode, seat = p["mode"], self.clients.interactive
        if mode == INTERACTIVE and seat not in (None, c):
            if not p["force"]:
                raise Conflict(f"session {self.session} already has an interactive client; "
                               "use 'agent attach --force' to take over, or --read-only")
            self.clients.detach(seat, "taken over by another client")
        self.clients.attach(c, mode)
        if mode == INTERACTIVE and p["cols"] > 0 and p["rows"] > 0:
            self.resize(p["cols"], p["rows"])
        return Followed(self.req_info(c, p), Output(self.screen.snapshot()))

    def req_resize(self, c: Client, p: dict[str, Any]) -> None:
        if c is self.clients.interactive:
            self.resize(p["cols"], p["rows"])

    def resize(self, cols: int, rows: int) -> None:
        if (cols, rows) != (self.screen.cols, self.screen.rows):
            self.screen.resize(cols, rows)
            self.agent.resize(cols, rows)

    def req_detach(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        target = c if c.attached else self.clients.interactive
        if target is None:
            return {"detached": False}
        self.clients.detach(target, p["reason"])
        return {"detached": True}

    def req_flush(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        self.inputs.write()
        return {"pending": self.inputs.pending}

    def req_keys(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        """Named keys, typed after any input already queued. Enter after text waits a
        moment, so a TUI that batches fast input as a paste still sees it as a key."""
        data = b"".join(key_bytes(k, self.screen.app_cursor) for k in p["names"])
        self.inputs.send(data)
        self.watch.saw_input(time.monotonic())
        count = len(data)
        if p["enter"]:
            self.inputs.send(b"\r", delay=p["enter_delay"])
            count += 1
        return {"bytes": count}

    def req_snapshot(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        col, row, visible = self.screen.cursor()
        return {"lines": self.screen.text(), "cursor": [col, row], "cursor_visible": visible,
                "cols": self.screen.cols, "rows": self.screen.rows}

    def req_terminate(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        self.terminate(p["grace"])
        return {"pid": self.agent.pid}
