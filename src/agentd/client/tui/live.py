"""A task's live screen for the preview: the session's output so far (from `read_log`,
through agentd.plaintext: its scrollback) and then the worker's snapshot and stream, from
a read-only attach, fed into a terminal emulator. Runs in a thread of its own; the widget
reads `state()` when told something changed. Watching never acknowledges the task (a
read-only attach is recorded as a `watching` event only)."""

from __future__ import annotations

import codecs
import collections
import select
import socket
import threading
import time

import avt

from agentd.errors import AgentdError
from agentd.plaintext import clean
from agentd.protocol.messages import Output, Push

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from agentd.client.api import AgentdClient
    from agentd.protocol.connection import Connection

TAIL_MAX = 16 << 20
PAINT_EVERY = 0.25  # a chatty session repaints the preview at most 4 times a second

# One line of the screen: runs of (text, pen key); the widget maps pen keys to styles.
Run = tuple[str, "Any"]


def runs_of(line: Any) -> list[tuple[str, Any]]:
    """A line's cells as runs of equal pens; the pen is None for the default one."""
    out: list[tuple[str, Any]] = []
    text: list[str] = []
    pen: Any = None
    for cell in line.cells:
        if cell.width == 0:
            continue
        p = None if cell.pen.is_default() else cell.pen
        if text and p != pen:
            out.append((clean("".join(text)), pen))
            text = []
        pen = p
        text.append(cell.char or " ")
    if text:
        out.append((clean("".join(text)).rstrip() if pen is None else clean("".join(text)),
                    pen))
    return out


class LiveScreen:
    def __init__(self, api: AgentdClient, name: str, scrollback_lines: int,
                 on_change: Callable[[], None]) -> None:
        self.api, self.name = api, name
        self.scrollback: collections.deque[str] = collections.deque(maxlen=scrollback_lines)
        self.screen: list[list[tuple[str, Any]]] = []
        self.cursor: tuple[int, int, bool] = (0, 0, False)
        self.size = (80, 24)
        self.ended = False
        self.status = "connecting…"
        self.lock = threading.Lock()
        self.on_change = on_change
        self.conn: Connection | None = None
        self.stopped = False
        # The history read for the scrollback: enough bytes for its lines, within reason.
        self.tail = min(TAIL_MAX, max(64 * 1024, scrollback_lines * 256))

    def stop(self) -> None:
        """From any thread: end the watch (the thread's recv returns)."""
        self.stopped = True
        conn = self.conn
        if conn is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def run(self) -> None:
        try:
            self._run()
        except (OSError, AgentdError) as e:
            with self.lock:
                self.status = clean(str(e))[:200] or "the session went away"
            self.on_change()

    def _run(self) -> None:
        task, session = self.api.get_session(self.name)
        if session.ended:
            lines = list(self.api.log_text(self.name, tail=self.tail))
            with self.lock:
                self.scrollback.extend(lines)
                self.ended = True
                self.status = f"{task.status}: its output, as text"
            self.on_change()
            return
        history = list(self.api.log_text(self.name, tail=self.tail))
        _, session = self.api.attach_info(self.name, read_only=True)
        conn = self.api.open_session(session, timeout=10)
        conn.sock.settimeout(None)  # a quiet session is not a lost one
        self.conn = conn
        if self.stopped:
            conn.close()
            return
        with conn:
            info = conn.request("attach", {"mode": "read-only"})
            cols, rows = int(info.get("cols") or 80), int(info.get("rows") or 24)
            vt = avt.Vt(cols, rows, scrollback_limit=0)
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            with self.lock:
                # The log's last screen is what the snapshot repaints: keep what scrolled.
                self.scrollback.extend(history[:max(0, len(history) - rows)])
                self.size = (cols, rows)
                self.status = "live (read-only)"
            self._paint(vt, None)
            dirty: set[int] = set()
            painted = 0.0
            while not self.stopped:
                if dirty:  # paint at most every PAINT_EVERY, and once output pauses
                    wait = painted + PAINT_EVERY - time.monotonic()
                    if wait <= 0 or not (conn.pending() or select.select(
                            [conn.sock], [], [], wait)[0]):
                        self._paint(vt, dirty)
                        dirty = set()
                        painted = time.monotonic()
                        continue
                msg = conn.recv()
                if isinstance(msg, Output):
                    chunks = [msg.data]
                    while isinstance(conn.peek(), Output):
                        more = conn.recv()
                        assert isinstance(more, Output)
                        chunks.append(more.data)
                    changed, scrolled = vt.feed_str(decoder.decode(b"".join(chunks)))
                    dirty.update(changed)
                    if scrolled:
                        with self.lock:
                            self.scrollback.extend(clean(line.text.rstrip())
                                                   for line in scrolled)
                elif isinstance(msg, Push) and msg.name in ("exited", "detached"):
                    self._paint(vt, dirty)
                    with self.lock:
                        self.ended = msg.name == "exited"
                        self.status = clean(str(msg.data.get("reason") or msg.name))
                    self.on_change()
                    return

    def _paint(self, vt: Any, changed: set[int] | None) -> None:
        view = vt.view()
        c = vt.cursor
        with self.lock:
            if changed is None or len(self.screen) != len(view):
                self.screen = [runs_of(line) for line in view]
            else:
                for n in changed:
                    if n < len(view):
                        self.screen[n] = runs_of(view[n])
            self.cursor = (c.col, c.row, bool(c.visible))
        self.on_change()

    def state(self) -> tuple[list[str], list[list[tuple[str, Any]]], str]:
        with self.lock:
            return list(self.scrollback), list(self.screen), self.status
