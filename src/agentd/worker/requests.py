"""The requests a session worker answers on its socket (docs/protocol.md §7), one
`req_<name>` method each, acting on the `Worker` that owns them."""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING, Any

from agentd.keys import key_bytes
from agentd.procs import signal_group
from agentd.protocol.messages import Failure, Push
from agentd.worker import pty
from agentd.worker.fanout import CONTROL, INTERACTIVE, READ_ONLY, Client

if TYPE_CHECKING:
    from agentd.worker.main import Worker


class Requests:
    def __init__(self, worker: Worker) -> None:
        self.w = worker

    def req_info(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        return {"session": self.w.sid, "task": self.w.spec["task"], "pid": self.w.pid,
                "worker_pid": os.getpid(), "cols": self.w.screen.cols, "rows": self.w.screen.rows,
                "interactive": self.w.interactive is not None,
                "watchers": sum(1 for x in self.w.clients.values() if x.mode == READ_ONLY),
                "exited": self.w.exit_status is not None}

    def req_attach(self, c: Client, p: dict[str, Any]) -> dict[str, Any] | Failure:
        mode = p.get("mode", INTERACTIVE)
        if mode not in (INTERACTIVE, READ_ONLY):
            return Failure(None, "usage", f"unknown attach mode {mode!r}")
        if mode == INTERACTIVE and self.w.interactive not in (None, c):
            if not p.get("force"):
                return Failure(None, "conflict",
                               f"session {self.w.sid} already has an interactive client; "
                               "use 'agent attach --force' to take over, or --read-only")
            self.detach(self.w.interactive, "taken over by another client")
        c.mode = mode
        if self.w.interactive is c and mode != INTERACTIVE:
            self.w.interactive = None
        if mode == INTERACTIVE:
            self.w.interactive = c
            cols, rows = int(p.get("cols") or 0), int(p.get("rows") or 0)
            if cols > 0 and rows > 0:
                self.resize(cols, rows)
        return self.req_info(c, p)

    def req_resize(self, c: Client, p: dict[str, Any]) -> None:
        if c is self.w.interactive:
            self.resize(int(p["cols"]), int(p["rows"]))

    def resize(self, cols: int, rows: int) -> None:
        cols, rows = max(1, min(cols, 1000)), max(1, min(rows, 1000))
        if (cols, rows) == (self.w.screen.cols, self.w.screen.rows):
            return
        self.w.screen.resize(cols, rows)
        if self.w.pty_open:
            pty.set_size(self.w.master, cols, rows)
            signal_group(self.w.pid, signal.SIGWINCH)

    def req_detach(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        target = c if c.attached else self.w.interactive
        if target is None:
            return {"detached": False}
        self.detach(target, p.get("reason", "detached"))
        return {"detached": True}

    def detach(self, c: Client, reason: str) -> None:
        c.send(Push("detached", {"reason": reason}))
        c.mode = CONTROL
        c.closing = True
        if self.w.interactive is c:
            self.w.interactive = None
        self.w.flush_client(c)

    def req_flush(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        self.w.write_pty()
        return {"pending": len(self.w.input_queue)}

    def req_keys(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        """Named keys, typed after any input already queued. Enter after text waits a
        moment, so a TUI that batches fast input as a paste still sees it as a key."""
        data = b"".join(key_bytes(k, self.w.screen.app_cursor) for k in p.get("names", []))
        self.w.send_keys(data)
        self.w.watch.saw_input(time.monotonic())
        count = len(data)
        if p.get("enter"):
            self.w.send_keys(b"\r", delay=float(p.get("enter_delay", 0.1)))
            count += 1
        return {"bytes": count}

    def req_snapshot(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        col, row, visible = self.w.screen.cursor()
        return {"lines": self.w.screen.text(), "cursor": [col, row], "cursor_visible": visible,
                "cols": self.w.screen.cols, "rows": self.w.screen.rows}

    def req_terminate(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        self.w.terminate(float(p.get("grace", 3.0)))
        return {"pid": self.w.pid}
