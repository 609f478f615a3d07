"""`python -m bench [--quick] [--json PATH] [--only CASE,...]`: run the suite, print a table,
write every figure (agentd, anchors, ratios, samples, skips, machine) as JSON."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import harness as h

CASES = ["throughput", "keystroke", "reattach", "ls", "chatty", "events", "run", "tui"]
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
        "python": platform.python_version(), "executable": sys.executable,
        "tmux": h.tool_version(["tmux", "-V"]) if h.tool("tmux") else None,
        "dtach": h.tool_version(["dtach", "--help"]) if h.tool("dtach") else None,
        "loadavg": os.getloadavg(),
    }


def cpu_stat() -> list[int]:
    """System-wide jiffies: user nice system idle iowait irq softirq steal."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return []


def cpu_share(before: list[int], after: list[int]) -> dict[str, float]:
    """Shares of all CPUs' time between two cpu_stat() samples, in %."""
    if len(before) < 8 or len(after) < 8:
        return {}
    d = [a - b for a, b in zip(after, before, strict=True)]
    total = sum(d) or 1
    return {"busy": round(100 * (total - d[3] - d[4]) / total, 1),
            "iowait": round(100 * d[4] / total, 1), "steal": round(100 * d[7] / total, 1)}


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def table(rows: list[h.Row]) -> str:
    head = ["case", "metric", "unit", "agentd", "anchors (agentd/anchor)", "goal", "met"]
    body = []
    for r in rows:
        ratios = r.ratios()
        anchors = "  ".join(
            f"{k} {fmt(v)} ({fmt(ratios[k])}x)" if v is not None else f"{k} -"
            for k, v in r.anchors.items())
        met = {True: "yes", False: "NO", None: "-"}[r.met]
        body.append([r.case, r.metric, r.unit, fmt(r.agentd), anchors, r.goal or "", met])
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for b in body:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(b, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"default {DEFAULT_JSON}")
    p.add_argument("--only", help=f"comma-separated cases or numbers: {','.join(CASES)}")
    a = p.parse_args(argv)
    chosen = CASES
    if a.only:
        chosen = []
        for c in a.only.split(","):
            c = c.strip()
            if c.isdigit() and 1 <= int(c) <= len(CASES):
                c = CASES[int(c) - 1]
            if c not in CASES:
                p.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
            chosen.append(c)
    h.install_cleanup()
    ctx = h.Context(quick=a.quick)
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        # Measure what a user runs: an installed package keeps its bytecode cache. With
        # this set, every `agent` start would recompile agentd's sources.
        ctx.notes.append("PYTHONDONTWRITEBYTECODE was set; unset for the processes the bench "
                         "starts so that agentd runs with its bytecode cache, as installed")
    for var in ("AGENTD_DIR", "TMUX"):
        os.environ.pop(var, None)
    info = machine()
    print(f"agentd bench ({'quick' if a.quick else 'full'}): {info['nproc']} CPU {info['cpu']}, "
          f"kernel {info['kernel']}, Python {info['python']}, {info['tmux'] or 'no tmux'}, "
          f"{info['dtach'] or 'no dtach'}", file=sys.stderr, flush=True)
    rows: list[h.Row] = []
    errors: dict[str, str] = {}
    durations: dict[str, float] = {}
    loads: dict[str, list[float]] = {}
    shares: dict[str, dict[str, float]] = {}
    started = time.monotonic()
    for name in chosen:
        mod = importlib.import_module(f"bench.{name}")
        print(f"{mod.TITLE}", file=sys.stderr, flush=True)
        t = time.monotonic()
        load0 = os.getloadavg()[0]
        stat0 = cpu_stat()
        try:
            rows += mod.run(ctx)
        except Exception as e:  # noqa: BLE001 - a broken case is reported, the rest go on
            errors[name] = f"{type(e).__name__}: {e}"
            print(f"  ERROR in {name}: {errors[name]}", file=sys.stderr, flush=True)
            traceback.print_exc(file=sys.stderr)
        durations[name] = round(time.monotonic() - t, 1)
        loads[name] = [round(load0, 2), round(os.getloadavg()[0], 2)]
        shares[name] = cpu_share(stat0, cpu_stat())
        busy = max(loads[name]) > (os.cpu_count() or 1)
        if busy or shares[name].get("steal", 0) > 5 or shares[name].get("iowait", 0) > 10:
            ctx.notes.append(f"{name}: load average {loads[name][0]} → {loads[name][1]} on "
                             f"{os.cpu_count()} CPUs, CPU time {shares[name]}: other work "
                             "was running, figures are noisy")
        print(f"  ({durations[name]:.1f} s, load {loads[name][0]} → {loads[name][1]}, "
              f"CPU {shares[name]})", file=sys.stderr, flush=True)
    total = round(time.monotonic() - started, 1)
    print()
    print(table(rows))
    for s in ctx.skips:
        print(f"skipped: {s['case']}/{s['what']}: {s['reason']}")
    for name, err in errors.items():
        print(f"error: {name}: {err}")
    for n in ctx.notes:
        print(f"note: {n}")
    print(f"total {total:.0f} s ({'quick' if a.quick else 'full'})")
    out = {"mode": "quick" if a.quick else "full", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "machine": info, "duration_seconds": total, "case_seconds": durations,
           "case_loadavg": loads, "case_cpu_percent": shares,
           "rows": [r.to_json() for r in rows], "skipped": ctx.skips, "errors": errors,
           "notes": ctx.notes}
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {a.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
