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

from agentd.errors import AgentdError, Conflict, UsageError
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


ANSWERED = object()  # a handler's result: it has sent its reply itself


class Requests:
    current_id = 0  # of the request being handled

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
        self.current_id = msg.id
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
        if result is ANSWERED:
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

    def req_attach(self, c: Client, p: dict[str, Any]) -> Any:
        """The reply, then a snapshot of the screen; live output follows. With `tty`, the
        client has handed over its terminal with the request: snapshot and output go
        straight to it, and its keys are read from it (docs/protocol.md §8)."""
        mode, seat = p["mode"], self.clients.interactive
        tty, detach_key = -1, b""
        if p["tty"]:
            tty, detach_key = self.take_tty(c, mode, p["detach_key"])
        elif p["detach_key"]:
            raise UsageError("attach: parameter 'detach_key' needs 'tty'")
        if mode == INTERACTIVE and seat not in (None, c):
            if not p["force"]:
                if tty >= 0:
                    os.close(tty)
                raise Conflict(f"session {self.session} already has an interactive client; "
                               "use 'agent attach --force' to take over, or --read-only")
            self.clients.detach(seat, "taken over by another client")
        self.clients.attach(c, mode, tty, detach_key)
        if mode == INTERACTIVE and p["cols"] > 0 and p["rows"] > 0:
            self.resize(p["cols"], p["rows"])
        if c.tty is not None:
            self.clients.send(c, Reply(self.current_id, {**self.req_info(c, p), "tty": True}))
            self.clients.write_tty(c, self.screen.snapshot())
            return ANSWERED  # the reply goes first, then the first paint on the terminal
        return Followed(self.req_info(c, p), Output(self.screen.snapshot()))

    def take_tty(self, c: Client, mode: str, key: str) -> tuple[int, bytes]:
        """The terminal descriptor that came with the request, checked, non-blocking."""
        if mode != INTERACTIVE:
            raise UsageError("attach: parameter 'tty' is for interactive attaches only")
        detach_key = key_bytes(key) if key else b""  # an unknown name is a usage error
        if not c.fds:
            raise UsageError("attach: parameter 'tty' is true but no descriptor came with "
                             "the request (send it with SCM_RIGHTS in the same sendmsg)")
        fd = c.fds.pop()
        if not os.isatty(fd):
            os.close(fd)
            raise UsageError("attach: the descriptor sent with 'tty' is not a terminal")
        os.set_blocking(fd, False)
        return fd, detach_key

    def req_notify(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        """A notification for a direct attacher's terminal (the bell, OSC 9 and OSC 777),
        written where the output stream is between escape sequences."""
        text = "".join(ch for ch in p["text"] if ch.isprintable())[:200]
        data = f"\a\x1b]9;agentd: {text}\x07\x1b]777;notify;agentd;{text}\x07".encode()
        return {"written": self.clients.note(c, data)}

    def req_synced(self, c: Client, p: dict[str, Any]) -> Any:
        """The client has written to its terminal all output before `sync` push `n`."""
        self.clients.synced(c, p["n"])
        return ANSWERED  # no reply: it is sent during floods, and nobody waits for it

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
