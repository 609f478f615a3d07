"""Case 7: `agent run` until the agent has started, in a repository of ~5 000 files.

The agent's first instruction writes the wall clock: `sh -c 'date +%s%N > MARK'` (MARK
comes through the environment of `agent run`, which the agent inherits). Latency = that
time minus the moment before `agent run` was spawned: client start-up, daemon request,
`git worktree add` of 5 000 files, worker and PTY spawn. Anchors: plain
`git worktree add -b BRANCH PATH` on the same repository, and `python -c pass`.
Medians over N runs, after one warm-up run (which also starts the daemon). Each
measurement starts once the previous task's artifacts are captured (its session's end runs
git over the repository), so none shares the machine with that work.
"""

from __future__ import annotations

import subprocess
import time

from bench import harness as h

NAME = "run"
TITLE = "7. agent run → agent started (5 000-file repo)"
FILES = 5000


def run(ctx: h.Context) -> list[h.Row]:
    n = 5 if ctx.quick else 15
    res: dict[str, list[float]] = {}
    with h.scope() as sc:
        d = sc.tmpdir("adbn-")
        t = time.monotonic()
        repo = h.make_repo(d / "repo", files=FILES)
        h.log(f"repo of {FILES} files in {time.monotonic() - t:.1f} s")
        marks = d / "marks"
        marks.mkdir()
        root = h.Root(sc, {"mark": ["sh", "-c", 'date +%s%N > "$BENCH_MARK"']})

        def one(name: str) -> tuple[float, float]:
            mark = marks / name
            t0 = time.time_ns()
            p0 = time.perf_counter()
            root.cli("run", "--agent", "mark", "--name", name, "--workspace", str(repo),
                     env={"BENCH_MARK": str(mark)})
            returned = (time.perf_counter() - p0) * 1000
            text = h.wait_for(lambda: mark.exists() and mark.read_text().strip(), 30,
                              f"the agent of {name} to start")
            started = (int(text) - t0) / 1e6
            # The agent exits at once, and its session's end captures artifacts (git work
            # over the 5 000 files, ~0.1 s): each figure below is taken once that is over,
            # so no contender shares the machine with the previous task's capture.
            folder = root.root / "artifacts" / name
            h.wait_for(lambda: any(folder.glob("*-diffstat.txt")), 30,
                       f"the artifacts of {name}", interval=0.005)
            return started, returned

        one("warmup")
        wt = d / "wt"
        wt.mkdir()
        for i in range(n):
            started, returned = one(f"r{i}")
            res.setdefault("agent started", []).append(started)
            res.setdefault("agent run returned", []).append(returned)
            t = time.perf_counter()
            subprocess.run(["git", "worktree", "add", "-q", "-b", f"bench/x{i}",
                            str(wt / f"x{i}")], cwd=repo, check=True, capture_output=True)
            res.setdefault("git worktree add", []).append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            subprocess.run([h.PY, "-c", "pass"], check=True)
            res.setdefault("python -c pass", []).append((time.perf_counter() - t) * 1000)
        h.log(", ".join(f"{k}: median {h.median(v):.0f} ms" for k, v in res.items()))
        root.stop()
        subprocess.run(["git", "worktree", "prune"], cwd=repo, capture_output=True)
    anchors = {"git worktree add": h.median(res["git worktree add"]),
               "python -c pass": h.median(res["python -c pass"])}
    return [
        h.Row(NAME, f"agent run → agent's first instruction (N={n})", "ms",
              h.median(res["agent started"]), anchors, higher_is_better=False, samples=res),
        h.Row(NAME, "agent run → command returned", "ms", h.median(res["agent run returned"]),
              anchors, higher_is_better=False),
    ]

