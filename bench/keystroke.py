"""Case 2: keystroke round trip through an attached client.

The agent is a tiny raw-mode echo program. The bench writes one byte into the client's PTY
master and times until the echoed byte comes back out of it (escape sequences a
multiplexer adds around it are ignored), one keystroke every ~2 ms after the previous echo.
Contenders: `agent attach` on its direct path (the worker reads the keys from the client's
terminal and writes the echo to it) and on its relay path (`AGENTD_ATTACH=relay`: the client
carries the bytes), `tmux attach`, `dtach -a`, and the echo program's own PTY (no
multiplexer: the floor). Figures in milliseconds.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

from bench import harness as h

NAME = "keystroke"
TITLE = "2. Keystroke round trip"

ECHO = r"""
import os, sys, time, tty
ready = sys.argv[1]
tty.setraw(0)
while not os.path.exists(ready):
    os.write(1, b"BENCH-READY\r\n")
    time.sleep(0.05)
os.write(1, b"\x1b[2J\x1b[H")
col = 0
while True:
    d = os.read(0, 1024)
    if not d:
        break
    if col >= 100:  # start the line again (before the echo, so the echo stays visible)
        d = b"\r\x1b[K" + d
        col = 0
    col += len(d)
    os.write(1, d)
"""

PACE = 0.002
WARMUP = 20
KEYS = b"abcdefghijklmnopqrstuvwxyz"


CPU: dict[str, float] = {}  # µs of CPU per keystroke, client + server processes


def measure(pty: h.Pty, ready: Path, n: int, label: str = "",
            server: int | None = None) -> list[float]:
    pty.expect(b"BENCH-READY", 30)
    ready.touch()
    pty.drain(0.3)
    pids = [pty.proc.pid] + ([server] if server else [])
    cpu0 = [h.cpu_seconds(p) or 0.0 for p in pids]
    out: list[float] = []
    next_send = time.perf_counter()
    for i in range(WARMUP + n):
        key = KEYS[i % len(KEYS): i % len(KEYS) + 1]
        delay = next_send - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        acc = b""
        t0 = time.perf_counter()
        pty.write(key)
        while True:
            data = pty.read(10)
            if data is None:
                raise TimeoutError(f"no echo of {key!r} within 10 s")
            if not data:
                raise EOFError("the client's terminal closed")
            acc += data
            if key in h.visible(acc):
                t1 = time.perf_counter()
                break
        next_send = t0 + PACE
        if i >= WARMUP:
            out.append((t1 - t0) * 1000)
    cpu = sum((h.cpu_seconds(p) or 0.0) - c for p, c in zip(pids, cpu0, strict=True))
    if label:
        CPU[label] = cpu / (WARMUP + n) * 1e6
    return out


def run(ctx: h.Context) -> list[h.Row]:
    n = 200 if ctx.quick else 2000
    res: dict[str, list[float]] = {}
    CPU.clear()
    with h.scope() as sc:
        d = sc.tmpdir("adbk-")
        prog = d / "echo.py"
        prog.write_text(ECHO)
        repo = h.make_repo(d / "repo")
        env = {**os.environ, **h.TERM_ENV}

        def argv(tag: str) -> tuple[list[str], Path]:
            ready = d / f"ready-{tag}"
            return [h.PY, "-I", "-S", str(prog), str(ready)], ready

        def agentd(path: str) -> list[float]:
            label = "agentd" if path == "direct" else "agentd relay"
            a, ready = argv(path)
            root = h.Root(sc, {"echo": a})
            name = f"echo-{path}"  # one repository: one branch per task
            sid = root.run(name, "echo", repo)
            return measure(h.Pty(sc, [*h.AGENT, "attach", name],
                                 {**root.env, "AGENTD_ATTACH": path}), ready, n,
                           label, root.worker_pid(sid))

        def tmux() -> list[float]:
            a, ready = argv("tmux")
            tm = h.Tmux(sc, "keys")
            tm.new_session("k", shlex.join(a))
            return measure(h.Pty(sc, tm.attach_argv("k"), tm.env), ready, n, "tmux",
                           tm.server_pid)

        def dtach() -> list[float]:
            a, ready = argv("dtach")
            sock = d / "k.sock"
            master = h.dtach_master(sc, sock, a)
            return measure(h.Pty(sc, h.dtach_attach_argv(sock), env), ready, n, "dtach",
                           master.pid)

        def raw() -> list[float]:
            a, ready = argv("raw")
            return measure(h.Pty(sc, a, env), ready, n)

        plan = [("agentd", lambda: agentd("direct")),
                ("agentd relay", lambda: agentd("relay")), ("raw PTY", raw)]
        if h.tool("tmux"):
            plan.append(("tmux", tmux))
        else:
            ctx.skip(NAME, "tmux", "tmux is not installed (apt-get install tmux)")
        if h.tool("dtach"):
            plan.append(("dtach", dtach))
        else:
            ctx.skip(NAME, "dtach", "dtach is not installed (apt-get install dtach)")
        for label, fn in plan:
            try:
                res[label] = fn()
                h.log(f"{label}: p50 {h.percentile(res[label], 50):.3f} ms, "
                      f"p99 {h.percentile(res[label], 99):.3f} ms over {len(res[label])}")
            except Exception as e:  # noqa: BLE001 - reported, the others go on
                ctx.skip(NAME, label, f"failed: {type(e).__name__}: {e}")
    rows = []
    for p in (50, 99):
        vals = {k: h.percentile(v, p) for k, v in res.items()}
        a, t = vals.get("agentd"), vals.get("tmux")
        rows.append(h.Row(
            NAME, f"round trip p{p} ({n} keys)", "ms", a,
            {k: vals.get(k) for k in ("tmux", "dtach", "raw PTY")},
            goal="≤ tmux", met=(a <= t) if (a is not None and t is not None) else None,
            higher_is_better=False,
            samples={k: [round(x, 4) for x in v] for k, v in res.items()} if p == 50 else {},
            note="direct path: the worker reads the client's terminal"))
    for p in (50, 99):
        vals = {k: h.percentile(v, p) for k, v in res.items()}
        rows.append(h.Row(
            NAME, f"round trip p{p}, relay path", "ms", vals.get("agentd relay"),
            {k: vals.get(k) for k in ("tmux", "dtach", "raw PTY")}, higher_is_better=False,
            note="AGENTD_ATTACH=relay: the client carries keys and output (read-only "
                 "watchers, no local terminal)"))
    rows.append(h.Row(NAME, "CPU per keystroke, client + server", "µs", CPU.get("agentd"),
                      {k: CPU.get(k) for k in ("agentd relay", "tmux", "dtach")},
                      higher_is_better=False,
                      note="from /proc/<pid>/schedstat of the attach client and the worker / "
                           "tmux server / dtach master, over the whole run"))
    return rows
