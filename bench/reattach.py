"""Case 3: reattach to a session with 10 MB of history.

The session cats 10 MB of mixed coloured lines, draws a final marker last, then idles. Each
sample times a fresh `agent attach` from process spawn until the marker is repainted on the
client's PTY, then detaches (Ctrl-]). p95 over N attaches, compared with `tmux attach` to a
pane that printed the same bytes (dtach keeps no screen, so it has nothing to repaint).

Correctness: the repainted screen, read with pyte, must equal pyte's rendering of the raw
bytes of the session log ($AGENTD_DIR/logs/<session>.log): text, colours, attributes and
cursor. The full run renders the whole log (pyte is slow, ≈ 1 MB/s); --quick renders its
last 512 KB from a line start (the content carries no state older than that).
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Any

from bench import harness as h

NAME = "reattach"
TITLE = "3. Reattach repaint with 10 MB of history"
HISTORY = 10 * h.MB
QUICK_TAIL = 512 * 1024


def final_tail(marker: bytes) -> bytes:
    # Ends in a known state: a coloured status line, then the marker drawn last.
    return (b"\x1b[0m\x1b[1;32m\xe2\x9c\x93 all done\x1b[0m  \x1b[38;5;208mtokens 12345"
            b"\x1b[0m\r\n\x1b[7mREVERSE\x1b[27m \x1b[4munder\x1b[24m " + marker)


def _palette() -> dict[str, str]:
    """pyte names SGR 30-37/90-97 colours but gives 38;5;0-15 as hex: the same colours on
    any terminal (palette entries 0-15), so both spellings compare equal."""
    import pyte.graphics as g

    names: dict[str, str] = {}
    for table, base in ((g.FG_ANSI, 30), (g.BG_ANSI, 40), (g.FG_AIXTERM, 82),
                        (g.BG_AIXTERM, 92)):
        for code, name in table.items():
            if name != "default":
                names[name] = g.FG_BG_256[code - base]
    return names


def screen_of(data: bytes) -> dict[str, Any]:
    import pyte

    screen = pyte.Screen(h.COLS, h.ROWS)
    pyte.ByteStream(screen).feed(data)
    pal = _palette()
    cells = []
    for y in range(h.ROWS):
        row = screen.buffer[y]
        cells.append([(row[x].data, pal.get(row[x].fg, row[x].fg), pal.get(row[x].bg, row[x].bg),
                       row[x].bold, row[x].italics, row[x].underscore, row[x].reverse,
                       row[x].strikethrough)
                      for x in range(h.COLS)])
    return {"cells": cells, "cursor": (screen.cursor.x, screen.cursor.y),
            "hidden": screen.cursor.hidden,
            "text": [line.rstrip() for line in screen.display]}


def compare(got: dict[str, Any], want: dict[str, Any]) -> str | None:
    """None when equal, else the first difference."""
    for y in range(h.ROWS):
        if got["cells"][y] != want["cells"][y]:
            for x in range(h.COLS):
                if got["cells"][y][x] != want["cells"][y][x]:
                    return (f"row {y} col {x}: repainted {got['cells'][y][x]} vs "
                            f"log {want['cells'][y][x]}; row text repainted "
                            f"{got['text'][y]!r} vs log {want['text'][y]!r}")
    if got["cursor"] != want["cursor"]:
        return f"cursor at {got['cursor']} vs {want['cursor']}"
    if got["hidden"] != want["hidden"]:
        return f"cursor hidden {got['hidden']} vs {want['hidden']}"
    return None


def log_bytes(path: Path, tail: int | None) -> bytes:
    data = path.read_bytes()
    if tail is not None and len(data) > tail:
        cut = data.index(b"\n", len(data) - tail) + 1
        data = b"\x1b[0m" + data[cut:]
    return data


def attach_once(sc: h.Scope, argv: list[str], env: dict[str, str], marker: bytes,
                detach: bytes) -> tuple[float, bytes]:
    pty = h.Pty(sc, argv, env)
    t_seen, got = pty.expect(marker, 30, keep=True)
    ms = (t_seen - pty.t_spawn) * 1000
    got += pty.drain(0.05, limit=2)
    pty.write(detach)
    if pty.wait(10) is None:
        raise TimeoutError(f"{argv[0]} did not exit after the detach key")
    return ms, got


def run(ctx: h.Context) -> list[h.Row]:
    n = 5 if ctx.quick else 20
    res: dict[str, list[float]] = {}
    correct: bool | None = None
    detail = ""
    with h.scope() as sc:
        d = sc.tmpdir("adbr-")
        marker = b"REPAINT-END-" + os.urandom(5).hex().encode()
        data = d / "history.txt"
        h.write_content(data, HISTORY, colour=True, tail=final_tail(marker), seed=3)
        argv = ["sh", "-c", 'cat "$1"; exec sleep 3600', "sh", str(data)]
        repo = h.make_repo(d / "repo")

        # agentd
        root = h.Root(sc, {"hist": argv})
        sid = root.run("hist", "hist", repo)
        logf = root.session_log(sid)
        h.wait_for(lambda: logf.exists() and marker in logf.read_bytes()[-4096:], 120,
                   "the history in the session log", interval=0.05)
        worker = root.worker_pid(sid)
        if worker:
            h.quiet_cpu([worker])  # the session idles: its screen model has caught up
        h.log(f"history: {logf.stat().st_size / h.MB:.1f} MB in {logf.name}")
        first: bytes | None = None
        ok_all = True
        for _ in range(n):
            ms, got = attach_once(sc, [*h.AGENT, "attach", "hist"], root.env, marker, b"\x1d")
            res.setdefault("agentd", []).append(ms)
            if first is None:
                first = got
            elif got.split(marker)[0] != first.split(marker)[0]:
                ok_all = False
        h.log("agentd: " + ", ".join(f"{x:.0f}" for x in res["agentd"]) + " ms")
        assert first is not None
        t = time.monotonic()
        tail = QUICK_TAIL if ctx.quick else None
        want = screen_of(log_bytes(logf, tail))
        got_screen = screen_of(first)
        diff = compare(got_screen, want)
        correct = diff is None and ok_all
        detail = diff or ("" if ok_all else "repaints differed between attaches")
        h.log(f"repaint {'matches' if correct else 'DIFFERS from'} pyte's rendering of the "
              f"{'last 512 KB of the ' if tail else ''}log ({time.monotonic() - t:.1f} s)"
              + (f": {detail}" if detail else ""))
        root.stop()

        # tmux
        if h.tool("tmux"):
            tm = h.Tmux(sc, "hist")
            tm.new_session("h", shlex.join(argv))
            h.wait_for(lambda: marker.decode() in tm.cmd("capture-pane", "-p", "-t", "h"), 120,
                       "the history in the tmux pane", interval=0.05)
            if tm.server_pid:
                h.quiet_cpu([tm.server_pid])
            for _ in range(n):
                ms, _ = attach_once(sc, tm.attach_argv("h"), tm.env, marker, b"\x02d")
                res.setdefault("tmux", []).append(ms)
            h.log("tmux: " + ", ".join(f"{x:.0f}" for x in res["tmux"]) + " ms")
            tm.kill()
        else:
            ctx.skip(NAME, "tmux", "tmux is not installed (apt-get install tmux)")
        ctx.skip(NAME, "dtach", "dtach keeps no screen state: a reattach repaints nothing")

    py = python_start(n)
    rows = []
    for p in (50, 95):
        a = h.percentile(res.get("agentd", []), p)
        rows.append(h.Row(
            NAME, f"attach→repainted p{p} (N={n})", "ms", a,
            {"tmux": h.percentile(res.get("tmux", []), p), "python -c pass": py},
            goal="≤ 50 ms p95" if p == 95 else None,
            met=(a <= 50) if (p == 95 and a is not None) else None, higher_is_better=False,
            samples=res if p == 95 else {}))
    rows.append(h.Row(NAME, "repaint equals pyte(log)", "bool",
                      None if correct is None else float(correct), {},
                      goal="equal", met=correct, note=detail))
    return rows


def python_start(n: int) -> float | None:
    import subprocess

    xs = []
    for _ in range(max(n, 10)):
        t = time.perf_counter()
        subprocess.run([h.PY, "-c", "pass"], check=True)
        xs.append((time.perf_counter() - t) * 1000)
    return h.percentile(xs, 50)
