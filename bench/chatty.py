"""Case 5: many chatty sessions — 100 agents each printing 10 lines/s (quick: 20).

The agent is a tiny Python printer (one line every 100 ms, paced on a monotonic clock).
After the sessions settle, CPU is measured over a window for the daemon
($AGENTD_DIR/agentd.pid) and every session worker (state.db sessions.worker_pid), from
/proc/<pid>/schedstat (on-CPU nanoseconds; utime+stime ticks of /proc/<pid>/stat where it
is missing), and each worker's PSS from /proc/<pid>/smaps_rollup.
Anchors, measured the same way with the same printers: one tmux server holding the same
number of windows, and one `dtach -N` master per printer. CPU in % of one core.
"""

from __future__ import annotations

import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import harness as h

NAME = "chatty"
TITLE = "5. Many chatty sessions (10 lines/s each)"

PRINTER = r"""
import os, time
i = 0
t = time.monotonic()
while True:
    i += 1
    os.write(1, b"line %d %.6f compiling module %d of 400 ... ok\n" % (i, time.time(), i % 400))
    t += 0.1
    time.sleep(max(0.0, t - time.monotonic()))
"""


def cpu_percent(pids: list[int], window: float) -> tuple[float, dict[int, float]]:
    before = {p: h.cpu_seconds(p) for p in pids}
    t0 = time.monotonic()
    time.sleep(window)
    after = {p: h.cpu_seconds(p) for p in pids}
    dt = time.monotonic() - t0
    per = {}
    for p in pids:
        b, a = before[p], after[p]
        if a is not None and b is not None:
            per[p] = (a - b) / dt * 100
    return sum(per.values()), per


def printer_argv(prog: Path) -> list[str]:
    return [h.PY, "-I", "-S", str(prog)]


def run(ctx: h.Context) -> list[h.Row]:
    count = 20 if ctx.quick else 100
    window = 5.0 if ctx.quick else 20.0
    settle = 2.0 if ctx.quick else 3.0
    figures: dict[str, float | None] = {}
    samples: dict[str, list[float]] = {}
    with h.scope() as sc:
        d = sc.tmpdir("adbc-")
        prog = d / "printer.py"
        prog.write_text(PRINTER)
        repo = h.make_repo(d / "repo")

        root = h.Root(sc, {"printer": printer_argv(prog)})
        root.ensure_daemon()
        t = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: root.create(f"chat-{i:03d}", "printer", repo),
                          range(count)))
        h.log(f"{count} sessions started in {time.monotonic() - t:.1f} s")
        time.sleep(settle)
        daemon, workers = root.live_pids()
        if daemon is None or len(workers) != count:
            raise RuntimeError(f"expected a daemon and {count} live workers, found "
                               f"{daemon} and {len(workers)}")
        total, per = cpu_percent([daemon, *workers], window)
        pss = [h.pss_kb(w) for w in workers]
        pss_mb = [p / 1024 for p in pss if p is not None]
        figures["agentd total"] = total
        figures["agentd daemon"] = per.get(daemon)
        figures["agentd workers"] = sum(v for p, v in per.items() if p != daemon)
        figures["agentd worker pss max"] = max(pss_mb) if pss_mb else None
        figures["agentd worker pss median"] = h.median(pss_mb)
        figures["agentd daemon pss"] = (h.pss_kb(daemon) or 0) / 1024
        samples["agentd worker cpu %"] = [round(v, 3) for p, v in per.items() if p != daemon]
        samples["agentd worker pss MB"] = [round(x, 2) for x in pss_mb]
        h.log(f"agentd: {total:.1f}% of a core (daemon {per.get(daemon, 0):.2f}%, "
              f"workers {figures['agentd workers']:.1f}%), worker PSS max "
              f"{figures['agentd worker pss max']:.1f} MB")
        root.stop()

        if h.tool("tmux"):
            tm = h.Tmux(sc, "chat")
            cmd = shlex.join(printer_argv(prog))
            tm.new_session("c", cmd, windows=[cmd] * (count - 1))
            time.sleep(settle)
            assert tm.server_pid is not None
            total_t, _ = cpu_percent([tm.server_pid], window)
            figures["tmux server"] = total_t
            figures["tmux server pss"] = (h.pss_kb(tm.server_pid) or 0) / 1024
            h.log(f"tmux: server {total_t:.1f}% of a core, "
                  f"PSS {figures['tmux server pss']:.1f} MB for {count} windows")
            tm.kill()
        else:
            ctx.skip(NAME, "tmux", "tmux is not installed (apt-get install tmux)")

        if h.tool("dtach"):
            masters = [h.dtach_master(sc, d / f"c{i}.sock", printer_argv(prog)).pid
                       for i in range(count)]
            time.sleep(settle)
            total_d, _ = cpu_percent(masters, window)
            dp = [(h.pss_kb(m) or 0) / 1024 for m in masters]
            figures["dtach masters"] = total_d
            figures["dtach master pss max"] = max(dp)
            h.log(f"dtach: {count} masters {total_d:.1f}% of a core, PSS max {max(dp):.2f} MB")
        else:
            ctx.skip(NAME, "dtach", "dtach is not installed (apt-get install dtach)")

    tot = figures.get("agentd total")
    pmax = figures.get("agentd worker pss max")
    return [
        h.Row(NAME, f"CPU, daemon + {count} workers", "% core", tot,
              {"tmux server": figures.get("tmux server"),
               "dtach masters": figures.get("dtach masters")},
              goal="≤ 10%" + ("" if count == 100 else " (goal is for 100)"),
              met=(tot <= 10) if tot is not None else None, higher_is_better=False,
              samples=samples, note=f"window {window:g} s"),
        h.Row(NAME, "  of which daemon", "% core", figures.get("agentd daemon"), {},
              higher_is_better=False),
        h.Row(NAME, "worker PSS, max", "MB", pmax,
              {"tmux server (all windows)": figures.get("tmux server pss"),
               "dtach master": figures.get("dtach master pss max")},
              goal="≤ 15 MB each", met=(pmax <= 15) if pmax is not None else None,
              higher_is_better=False),
        h.Row(NAME, "worker PSS, median", "MB", figures.get("agentd worker pss median"), {},
              higher_is_better=False),
        h.Row(NAME, "daemon PSS", "MB", figures.get("agentd daemon pss"), {},
              higher_is_better=False),
    ]

