"""Case 8: the TUI (bare `agent`), side by side with `agent ls` in the same run.

- First paint with 100 tasks: 100 `true` tasks through the daemon; `agent` is started on a
  fresh PTY (120×40) and timed from spawn until the name of the list's first task is on
  the terminal (interpreter start-up and Textual's import included). Anchor: `agent ls`,
  spawn to exit.
- Keystroke to repaint: with those 100 tasks, Down is written to the PTY and timed until
  the app's next output (the moved cursor). Median of N.
- CPU while open and idle, 20 chatty tasks (each printing 10 lines/s, as case 5): the app's
  process CPU over a window, in % of one core (goal ≤ 1 %), with a quiet task selected (the
  list idle: no events, one ELAPSED tick a second); and again with a chatty task in the live
  preview, which repaints with its output (at most 4 times a second).
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from agentd.client.tui.model import order_key
from agentd.protocol.views import TaskView
from bench import harness as h
from bench.chatty import PRINTER, printer_argv
from bench.ls import timed

NAME = "tui"
TITLE = "8. The TUI: first paint, keystroke to repaint, idle CPU"
TASKS = 100
CHATTY = 20


class Reader:
    """Keeps the app's PTY drained (a full PTY would stall it) and notes when bytes came."""

    def __init__(self, pty: h.Pty) -> None:
        self.pty = pty
        self.last = 0.0
        self.count = 0
        self.data = bytearray()
        self.keep = True
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop:
            data = self.pty.read(0.2)
            if data is None:
                continue
            if not data:
                return
            self.last = time.perf_counter()
            self.count += 1
            if self.keep:
                self.data += data

    def wait_text(self, needle: bytes, timeout: float) -> float:
        try:
            h.wait_for(lambda: needle in self.data, timeout, f"{needle!r} on the TUI's screen",
                       interval=0.002)
        except TimeoutError as e:  # say what the app did show, and whether it still runs
            raise TimeoutError(f"{e}; the app {_state(self.pty)}, {len(self.data)} bytes "
                               f"shown, ending {bytes(self.data[-400:])!r}") from None
        return self.last


def _state(pty: h.Pty) -> str:
    code = pty.proc.poll()
    return "still runs" if code is None else f"exited with {code}"


def quit_app(pty: h.Pty, reader: Reader) -> None:
    pty.write(b"q")
    pty.wait(10)
    reader.stop = True


def run(ctx: h.Context) -> list[h.Row]:
    n = 10 if ctx.quick else 30
    window = 5.0 if ctx.quick else 20.0
    rows: list[h.Row] = []
    with h.scope() as sc:
        d = sc.tmpdir("adbt-")
        repo = h.make_repo(d / "repo")
        prog = d / "printer.py"
        prog.write_text(PRINTER)
        root = h.Root(sc, {"true": ["true"], "printer": printer_argv(prog)})
        root.ensure_daemon()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: root.create(f"task-{i:03d}", "true", repo), range(TASKS)))
        h.wait_for(lambda: all(e is not None for *_, e in root.sessions()), 60,
                   "every `true` session to end", interval=0.1)
        # The first row of the list, by the app's own order (its times are to the second,
        # and 100 tasks made by 4 threads straddle seconds in no set way: task-099 may sort
        # below the screen's end).
        top = min((TaskView.from_wire(t) for t in json.loads(root.cli("ls", "--json").stdout)),
                  key=order_key).name.encode()
        paints, keys = [], []
        for _ in range(max(3, n // 3)):
            pty = h.Pty(sc, list(h.AGENT), root.env, cwd=repo)
            reader = Reader(pty)
            seen = reader.wait_text(top, 60)
            paints.append((seen - pty.t_spawn) * 1000)
            time.sleep(0.5)  # the preview's first paint and the first tick settle
            for _ in range(n):
                before = reader.count
                t = time.perf_counter()
                pty.write(b"\x1b[B")
                h.wait_for(lambda r=reader, n=before: r.count > n, 10, "a repaint",
                           interval=0.0005)
                keys.append((reader.last - t) * 1000)
                time.sleep(0.05)
            quit_app(pty, reader)
        ls = timed([*h.AGENT, "ls"], root.env, n)
        h.log(f"first paint {h.median(paints):.0f} ms, keystroke to repaint "
              f"{h.median(keys):.1f} ms, agent ls {h.median(ls):.0f} ms")
        rows += [
            h.Row(NAME, f"first paint, {TASKS} tasks (N={len(paints)})", "ms", h.median(paints),
                  {"agent ls": h.median(ls)}, higher_is_better=False,
                  samples={"paint": paints, "ls": ls}),
            h.Row(NAME, f"keystroke (Down) to repaint (N={len(keys)})", "ms", h.median(keys),
                  {}, goal="≤ 50 ms median", met=(h.median(keys) or 1e9) <= 50,
                  higher_is_better=False, samples={"keys": keys}),
        ]

        for i in range(TASKS):
            root.cli("kill", "--rm", "--force", f"task-{i:03d}")
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: root.create(f"chat-{i:03d}", "printer", repo),
                          range(CHATTY)))
        root.set_agent("quiet", ["sleep", "600"])
        time.sleep(1.1)  # task times are to the second: quiet must be the newest
        root.create("quiet", "quiet", repo)  # listed first, so selected
        for label, keys_first in (("quiet task selected", b""),
                                  ("chatty task previewed", b"\x1b[B")):
            pty = h.Pty(sc, list(h.AGENT), root.env, cwd=repo)
            reader = Reader(pty)
            reader.wait_text(b"chat-0", 60)
            reader.keep = False
            if keys_first:
                pty.write(keys_first)
            time.sleep(2.0)  # settle: the preview attached, first ticks done
            before = h.cpu_seconds(pty.proc.pid)
            t0 = time.monotonic()
            time.sleep(window)
            after = h.cpu_seconds(pty.proc.pid)
            cpu = None if before is None or after is None else (after - before) / (
                time.monotonic() - t0) * 100
            quit_app(pty, reader)
            h.log(f"open and idle, {CHATTY} chatty tasks, {label}: {cpu:.2f}% of a core"
                  if cpu is not None else "idle CPU: not measurable")
            quiet = keys_first == b""
            rows.append(h.Row(NAME, f"CPU open and idle, {CHATTY} chatty tasks, {label}",
                              "% core", cpu, {}, goal="≤ 1 %" if quiet else None,
                              met=(cpu <= 1.0) if cpu is not None and quiet else None,
                              higher_is_better=False))
    return rows
