"""Case 1: PTY output throughput — `cat` of a large file through a session.

The agent in every contender is the same shell script: it prints BENCH-READY until the bench
says the client is in place, then waits on a FIFO, cats the file (whose last line is a
unique end marker) and signals a second FIFO. t0 is the write to the start FIFO.

- detached: no client. agentd: until the marker is in the session's raw log; tmux: until
  cat has finished and the marker is in the pane; dtach: until cat has finished (the master
  discards output with no client).
- with client: `agent attach` / `tmux attach` / `dtach -a` in a real PTY whose master the
  bench reads and discards as fast as it can, until the marker reaches it.
- raw: the script on a PTY whose master the bench reads directly (the physical limit).

Figures are MB/s (10^6 bytes of file per second), median of the repetitions.
"""

from __future__ import annotations

import os
import shlex
import signal
import time
from pathlib import Path

from bench import harness as h

NAME = "throughput"
TITLE = "1. PTY output throughput"

SCRIPT = r"""
while [ ! -e "$1" ]; do echo BENCH-READY; sleep 0.05; done
while :; do
  read x < "$2"
  cat "$3"
  if [ -n "$4" ]; then echo done > "$4"; fi
done
"""


def script_argv(ready: Path, go: Path, data: Path, done: Path | None) -> list[str]:
    return ["sh", "-c", SCRIPT, "sh", str(ready), str(go), str(data), str(done or "")]


# The start of agentd's repaint (worker/screen.py Screen.snapshot): seen in the stream when a
# client that fell behind is resynced with a snapshot instead of the bytes it missed.
REPAINT = b"\x1b[?1049l\x1b[?1047l\x1b[?25h"


class Drain:
    """Reads a terminal's master as fast as possible until a marker arrives."""

    def __init__(self) -> None:
        self.repaints = 0

    def until(self, pty: h.Pty, marker: bytes, timeout: float) -> float:
        """Blocking reads (no select per read, so the drain costs every contender the
        least); a timer interrupts one that would wait past `timeout`: a contender that
        never shows the marker fails, it does not hang the bench."""
        fd = pty.master
        tail = b""
        n = max(len(marker), len(REPAINT))
        read = os.read

        def expire(signum: int, frame: object) -> None:
            raise TimeoutError(f"end marker not seen within {timeout:g}s "
                               f"(last bytes: {tail[-120:]!r})")

        old = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            while True:
                try:
                    data = read(fd, 1 << 20)
                except TimeoutError:
                    raise
                except OSError:  # EIO: the terminal's other side is closed
                    raise EOFError("terminal closed before the end marker") from None
                if not data:
                    raise EOFError("terminal closed before the end marker")
                joined = tail + data
                if REPAINT in joined:
                    self.repaints += joined.count(REPAINT) - tail.count(REPAINT)
                if marker in joined:
                    return time.perf_counter()
                tail = data[-max(n, 120):]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def through_pty(st: Setup, pty: h.Pty, ready: Path, go: Path, reps: int) -> list[float]:
    """MB/s of the file reaching `pty` (an attached client, or the raw PTY) per repetition:
    from the start signal until the end marker has been read."""
    pty.expect(b"BENCH-READY", 30)
    ready.touch()
    pty.drain(0.2)
    out = []
    for _ in range(reps):
        t0 = h.fire(go)
        t1 = discard_until(pty, st.marker, st.timeout)
        out.append(st.mbps(t1 - t0))
        pty.drain(0.2)
    return out


def discard_until(pty: h.Pty, marker: bytes, timeout: float) -> float:
    return Drain().until(pty, marker, timeout)


def log_has(path: Path, marker: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 4096))
            return marker in f.read()
    except OSError:
        return False


class Setup:
    def __init__(self, sc: h.Scope, size: int) -> None:
        self.sc = sc
        self.dir = sc.tmpdir("adbt-")
        self.marker = b"BENCH-END-" + os.urandom(6).hex().encode()
        self.data = self.dir / "data.txt"
        self.size = h.write_content(self.data, size - len(self.marker) - 1, colour=True,
                                    tail=self.marker + b"\n")
        self.n = 0
        self.repaints = 0
        self.repo = h.make_repo(self.dir / "repo")
        self.timeout = max(60.0, size / h.MB)  # at worst 1 MB/s

    def fifos(self) -> tuple[Path, Path, Path]:
        self.n += 1
        ready = self.dir / f"ready{self.n}"
        go = h.mkfifo(self.dir / f"go{self.n}")
        done = h.mkfifo(self.dir / f"done{self.n}")
        return ready, go, done

    def mbps(self, seconds: float) -> float:
        return self.size / h.MB / seconds


def run_agentd(st: Setup, reps: int, client: bool) -> list[float]:
    sc = st.sc
    root = h.Root(sc)
    ready, go, done = st.fifos()
    root.set_agent("flood", script_argv(ready, go, st.data, None if client else done))
    name = f"flood-{'c' if client else 'd'}"
    sid = root.run(name, "flood", st.repo)
    out = []
    if client:
        pty = h.Pty(sc, [*h.AGENT, "attach", name], root.env)
        pty.expect(b"BENCH-READY", 30)
        ready.touch()
        pty.drain(0.2)
        drain = Drain()
        for _ in range(reps):
            t0 = h.fire(go)
            t1 = drain.until(pty, st.marker, st.timeout)
            out.append(st.mbps(t1 - t0))
            pty.drain(0.2)
        st.repaints = drain.repaints
    else:
        ready.touch()
        logf = root.session_log(sid)
        for _ in range(reps):
            waiter = h.FifoWaiter(sc, done)
            t0 = h.fire(go)
            waiter.wait(st.timeout)
            h.wait_for(lambda: log_has(logf, st.marker), 30, "the end marker in the log",
                       interval=0.001)
            # Once cat is done all but a PTY buffer of new output has reached the log, so
            # a marker in its last 4 KB is this repetition's.
            out.append(st.mbps(time.perf_counter() - t0))
    root.stop()
    return out


def run_tmux(st: Setup, reps: int, client: bool) -> list[float]:
    sc = st.sc
    tm = h.Tmux(sc, "tput")
    ready, go, done = st.fifos()
    argv = script_argv(ready, go, st.data, None if client else done)
    tm.new_session("b", shlex.join(argv))
    out = []
    if client:
        out = through_pty(st, h.Pty(sc, tm.attach_argv("b"), tm.env), ready, go, reps)
    else:
        ready.touch()
        marker = st.marker.decode()
        for _ in range(reps):
            waiter = h.FifoWaiter(sc, done)
            t0 = h.fire(go)
            waiter.wait(st.timeout)
            h.wait_for(lambda: marker in tm.cmd("capture-pane", "-p", "-t", "b"), 30,
                       "the end marker in the tmux pane", interval=0.002)
            out.append(st.mbps(time.perf_counter() - t0))
    tm.kill()
    return out


def run_dtach(st: Setup, reps: int, client: bool) -> list[float]:
    sc = st.sc
    ready, go, done = st.fifos()
    sock = st.dir / f"dtach{st.n}.sock"
    h.dtach_master(sc, sock, script_argv(ready, go, st.data, None if client else done))
    out = []
    if client:
        pty = h.Pty(sc, h.dtach_attach_argv(sock), {**os.environ, **h.TERM_ENV})
        out = through_pty(st, pty, ready, go, reps)
    else:
        ready.touch()
        for _ in range(reps):
            waiter = h.FifoWaiter(sc, done)
            t0 = h.fire(go)
            t1 = waiter.wait(st.timeout)
            out.append(st.mbps(t1 - t0))
    return out


def run_raw(st: Setup, reps: int) -> list[float]:
    sc = st.sc
    ready, go, _ = st.fifos()
    pty = h.Pty(sc, script_argv(ready, go, st.data, None), {**os.environ, **h.TERM_ENV})
    return through_pty(st, pty, ready, go, reps)


def run(ctx: h.Context) -> list[h.Row]:
    size = 10 * h.MB if ctx.quick else 100 * h.MB
    reps = 3
    res: dict[str, list[float]] = {}
    have_tmux, have_dtach = h.tool("tmux"), h.tool("dtach")
    if not have_tmux:
        ctx.skip(NAME, "tmux", "tmux is not installed (apt-get install tmux)")
    if not have_dtach:
        ctx.skip(NAME, "dtach", "dtach is not installed (apt-get install dtach)")
    with h.scope() as sc:
        st = Setup(sc, size)
        h.log(f"{st.size / h.MB:.0f} MB file, {reps} repetitions each")
        plan: list[tuple[str, object]] = [
            ("raw", lambda: run_raw(st, reps)),
            ("agentd client", lambda: run_agentd(st, reps, True)),
            ("agentd detached", lambda: run_agentd(st, reps, False)),
        ]
        if have_tmux:
            plan += [("tmux client", lambda: run_tmux(st, reps, True)),
                     ("tmux detached", lambda: run_tmux(st, reps, False))]
        if have_dtach:
            plan += [("dtach client", lambda: run_dtach(st, reps, True)),
                     ("dtach detached", lambda: run_dtach(st, reps, False))]
        for label, fn in plan:
            try:
                res[label] = fn()  # type: ignore[operator]
                h.log(f"{label}: " + ", ".join(f"{x:.1f}" for x in res[label]) + " MB/s")
            except Exception as e:  # noqa: BLE001 - one contender failing is reported
                ctx.skip(NAME, label, f"failed: {type(e).__name__}: {e}")
    med = {k: h.median(v) for k, v in res.items()}
    anchors_c = {"tmux": med.get("tmux client"), "dtach": med.get("dtach client"),
                 "raw PTY": med.get("raw")}
    best = max((v for k, v in anchors_c.items() if k != "raw PTY" and v), default=None)
    a = med.get("agentd client")
    met = (a >= best) if (a is not None and best is not None) else None
    note = ""
    if st.repaints:
        note = (f"the agentd client fell behind and was resynced with a repaint "
                f"{st.repaints} time(s) in {reps} runs")
        ctx.notes.append(f"throughput: {note}")
    rows = [
        h.Row(NAME, "with 1 attached client", "MB/s", a, anchors_c,
              goal="≥ best of tmux/dtach", met=met,
              samples={k: v for k, v in res.items() if "client" in k or k == "raw"},
              note=note),
        h.Row(NAME, "detached (no client)", "MB/s", med.get("agentd detached"),
              {"tmux": med.get("tmux detached"), "dtach": med.get("dtach detached"),
               "raw PTY": med.get("raw")},
              samples={k: v for k, v in res.items() if "detached" in k}),
    ]
    return rows
