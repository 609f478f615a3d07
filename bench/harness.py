"""Shared machinery for the benchmark cases.

Everything a case starts is registered in a `Scope` and ended *by pid* when the case ends
(and again at exit, and on SIGINT/SIGTERM): agentd daemons (agentd.pid), session workers and
agent process groups (state.db sessions.worker_pid / agent_pid, checked against
/proc/<pid>/cmdline or environ first so a reused pid is never hit), tmux servers
(`kill-server` on their private `-L` socket, then their pid), dtach masters and their
children, and the processes the bench spawned in PTYs. Nothing is ever ended by name.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import random
import re
import select
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PY = sys.executable
BIN = Path(PY).parent
AGENT: list[str] = [str(BIN / "agent")] if (BIN / "agent").exists() else [PY, "-m", "agentd"]
COLS, ROWS = 120, 40
MB = 1_000_000
CLK_TCK = os.sysconf("SC_CLK_TCK")
TERM_ENV = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def log(msg: str) -> None:
    print(f"  · {msg}", file=sys.stderr, flush=True)


# -- results -------------------------------------------------------------------------------


@dataclass
class Row:
    """One figure: agentd's value, the anchors' values in the same run, and the goal."""

    case: str
    metric: str
    unit: str
    agentd: float | None
    anchors: dict[str, float | None] = field(default_factory=dict)
    goal: str | None = None
    met: bool | None = None
    higher_is_better: bool = True
    samples: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""

    def ratios(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for name, v in self.anchors.items():
            out[name] = (self.agentd / v) if (self.agentd is not None and v) else None
        return out

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "metric": self.metric, "unit": self.unit,
                "agentd": self.agentd, "anchors": self.anchors,
                "ratio_agentd_over_anchor": self.ratios(), "goal": self.goal, "met": self.met,
                "higher_is_better": self.higher_is_better, "samples": self.samples,
                "note": self.note}


@dataclass
class Context:
    quick: bool
    skips: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, case: str, what: str, reason: str) -> None:
        self.skips.append({"case": case, "what": what, "reason": reason})
        print(f"  SKIPPED {case}/{what}: {reason}", file=sys.stderr, flush=True)


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def percentile(xs: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100)."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def wait_for(cond: Callable[[], T], timeout: float, what: str, interval: float = 0.01) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")


def tool(name: str) -> str | None:
    return shutil.which(name)


def tool_version(argv: list[str]) -> str | None:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (p.stdout or p.stderr).strip().splitlines()
    return text[0] if text else None


# -- processes -----------------------------------------------------------------------------


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _gone(pid: int) -> Callable[[], bool]:
    return lambda: not alive(pid)


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def environ_has(pid: int, item: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return item.encode() in f.read().split(b"\0")
    except OSError:
        return False


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process, in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int) -> float | None:
    """CPU time of a process: /proc/<pid>/schedstat (ns), else utime+stime (ticks)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        ticks = cpu_ticks(pid)
        return None if ticks is None else ticks / CLK_TCK


def pss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def kill_verified(pid: int | None, check: Callable[[int], bool], group: bool = False) -> None:
    """SIGKILL pid (or its group) only if it is alive and `check` confirms it is ours."""
    if not pid or not alive(pid) or not check(pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)


def _ctty() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Scope:
    """What one case started; `close()` ends all of it, by pid."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[Any]] = []
        self.roots: list[Root] = []
        self.tmux: list[Tmux] = []
        self.dirs: list[Path] = []
        self.fds: list[int] = []
        self.unblock: list[Path] = []

    def popen(self, argv: list[str], **kw: Any) -> subprocess.Popen[Any]:
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def tmpdir(self, prefix: str) -> Path:
        d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        self.dirs.append(d)
        return d

    def close(self) -> None:
        for t in self.tmux:
            with contextlib.suppress(Exception):
                t.kill()
        for r in self.roots:
            with contextlib.suppress(Exception):
                r.stop()
        for p in self.procs:
            if p.poll() is None:
                # Not reaped yet, so the pid (and the group we created) is still ours.
                for pid in _descendant_sessions(p.pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    p.kill()
            with contextlib.suppress(Exception):
                p.wait(10)
        for path in self.unblock:  # FIFO readers left blocked in open()
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.procs.clear()
        self.roots.clear()
        self.tmux.clear()
        self.dirs.clear()
        self.fds.clear()


def _descendant_sessions(pid: int) -> list[int]:
    """Children of pid that lead their own session (e.g. a dtach master's PTY child)."""
    out = []
    for c in children(pid):
        try:
            if os.getsid(c) == c:
                out.append(c)
        except ProcessLookupError:
            pass
        out += _descendant_sessions(c)
    return out


_SCOPES: list[Scope] = []


@contextlib.contextmanager
def scope() -> Iterator[Scope]:
    s = Scope()
    _SCOPES.append(s)
    try:
        yield s
    finally:
        s.close()
        _SCOPES.remove(s)


def _cleanup_all() -> None:
    for s in list(_SCOPES):
        s.close()


def _on_signal(signum: int, frame: Any) -> None:
    _cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_cleanup() -> None:
    atexit.register(_cleanup_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


# -- PTYs ----------------------------------------------------------------------------------


class Pty:
    """A process on a fresh PTY whose master the bench reads (the user's terminal)."""

    def __init__(self, sc: Scope, argv: list[str], env: dict[str, str],
                 cols: int = COLS, rows: int = ROWS, cwd: Path | None = None) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.t_spawn = time.perf_counter()
        self.proc = sc.popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                             preexec_fn=_ctty)
        os.close(slave)
        sc.fds.append(self.master)

    def read(self, timeout: float | None, size: int = 1 << 20) -> bytes | None:
        """Bytes available within timeout; None on timeout; b"" at end (EIO)."""
        if timeout is not None:
            r, _, _ = select.select([self.master], [], [], timeout)
            if not r:
                return None
        try:
            return os.read(self.master, size)
        except OSError:
            return b""

    def expect(self, needle: bytes, timeout: float, keep: bool = False) -> tuple[float, bytes]:
        """Read until needle appears; returns (perf_counter when seen, bytes read if keep)."""
        deadline = time.monotonic() + timeout
        tail = b""
        kept = bytearray()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{needle!r} not seen within {timeout:g}s "
                                   f"(last bytes: {tail[-200:]!r})")
            data = self.read(left)
            if data is None:
                continue
            if not data:
                raise EOFError(f"terminal closed before {needle!r} (last: {tail[-300:]!r})")
            now = time.perf_counter()
            if keep:
                kept += data
            tail = tail[-len(needle):] + data
            if needle in tail:
                return now, bytes(kept)

    def drain(self, quiet: float, limit: float = 5.0) -> bytes:
        """Read until nothing arrives for `quiet` seconds."""
        out = bytearray()
        end = time.monotonic() + limit
        while time.monotonic() < end:
            data = self.read(quiet)
            if not data:
                break
            out += data
        return bytes(out)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


# -- FIFOs: start and end signals from inside a session ------------------------------------


def mkfifo(path: Path) -> Path:
    os.mkfifo(path, 0o600)
    return path


def fire(fifo: Path) -> float:
    """Open the FIFO (waits for the reader in the session) and write; returns t0."""
    fd = os.open(fifo, os.O_WRONLY)
    t0 = time.perf_counter()
    os.write(fd, b"go\n")
    os.close(fd)
    return t0


class FifoWaiter:
    """Records when something is first written to a FIFO (a thread blocked in read)."""

    def __init__(self, sc: Scope, fifo: Path) -> None:
        self.fifo = fifo
        self.t: float | None = None
        self.done = threading.Event()
        sc.unblock.append(fifo)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            fd = os.open(self.fifo, os.O_RDONLY)
            try:
                if os.read(fd, 64):
                    self.t = time.perf_counter()
            finally:
                os.close(fd)
        except OSError:
            pass
        self.done.set()

    def wait(self, timeout: float) -> float:
        if not self.done.wait(timeout) or self.t is None:
            raise TimeoutError(f"no signal on {self.fifo} within {timeout:g}s")
        return self.t


# -- agentd roots --------------------------------------------------------------------------


def toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def agent_toml(name: str, argv: list[str], prompt: str = "none") -> str:
    args = ", ".join(toml_str(a) for a in argv[1:])
    return (f"[agents.{name}]\ncommand = {toml_str(argv[0])}\nargs = [{args}]\n"
            f"prompt = {toml_str(prompt)}\n")


class Root:
    """A private agentd runtime root (AGENTD_DIR) and the CLI pointed at it."""

    def __init__(self, sc: Scope, agents: dict[str, list[str]] | None = None,
                 extra: str = "") -> None:
        self.sc = sc
        self.root = sc.tmpdir("adb-")
        self.env = {**os.environ, **TERM_ENV, "AGENTD_DIR": str(self.root)}
        self.agents: dict[str, list[str]] = {}
        self.extra = extra
        sc.roots.append(self)
        for name, argv in (agents or {}).items():
            self.agents[name] = argv
        self.write_config()

    def write_config(self) -> None:
        text = self.extra + "\n" + "\n".join(agent_toml(n, a) for n, a in self.agents.items())
        (self.root / "config.toml").write_text(text)

    def set_agent(self, name: str, argv: list[str]) -> None:
        self.agents[name] = argv
        self.write_config()

    def cli(self, *args: str, timeout: float = 60, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([*AGENT, *args], env={**self.env, **(env or {})},
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError(f"agent {' '.join(args)} failed ({p.returncode}): "
                               f"{p.stderr.strip()} {p.stdout.strip()[:300]}")
        return p

    def run(self, name: str, agent: str, workspace: Path,
            env: dict[str, str] | None = None) -> str:
        """`agent run`; returns the session id."""
        p = self.cli("run", "--agent", agent, "--name", name, "--workspace", str(workspace),
                     "--json", env=env)
        return str(json.loads(p.stdout)["session"])

    def create(self, name: str, agent: str, workspace: Path,
               env: dict[str, str] | None = None) -> str:
        """create_session straight through the daemon socket (no CLI start-up per task)."""
        from agentd.protocol.connection import Connection

        params: dict[str, Any] = {
            "name": name, "agent": agent, "base": None, "workspace": str(workspace),
            "prompt": [], "env": {**self.env, **(env or {})}, "cols": COLS, "rows": ROWS}
        with Connection.open(self.root / "agentd.sock", timeout=60) as conn:
            task = conn.request("create_session", params)
        if task.get("start_error"):
            raise RuntimeError(f"{name} failed to start: {task['start_error']}")
        return str(task["session"])

    def ensure_daemon(self) -> None:
        self.cli("ls", "--json")

    def daemon_pid(self) -> int | None:
        try:
            text = (self.root / "agentd.pid").read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "state.db", timeout=30)

    def sessions(self) -> list[tuple[str, int | None, int | None, float | None]]:
        if not (self.root / "state.db").exists():
            return []
        try:
            with contextlib.closing(self.db()) as db:
                return [(r[0], r[1], r[2], r[3]) for r in db.execute(
                    "SELECT id, worker_pid, agent_pid, ended_at FROM sessions")]
        except sqlite3.Error:
            return []

    def session_log(self, sid: str) -> Path:
        return self.root / "logs" / f"{sid}.log"

    def worker_pid(self, sid: str) -> int | None:
        for s, w, _, _ in self.sessions():
            if s == sid:
                return w
        return None

    def live_pids(self) -> tuple[int | None, list[int]]:
        """(daemon pid, live worker pids)."""
        workers = [w for _, w, _, ended in self.sessions() if w and ended is None and alive(w)]
        return self.daemon_pid(), workers

    def stop_daemon(self) -> None:
        pid = self.daemon_pid()
        self.cli("daemon", "stop", check=False, timeout=30)
        if pid:
            wait_for(lambda: not alive(pid), 15, "agentd to stop")

    def stop(self) -> None:
        """End the daemon, every worker and every agent group of this root, by pid."""
        def is_agent(sid: str) -> Callable[[int], bool]:
            return lambda p: environ_has(p, f"AGENTD_SESSION_ID={sid}")

        def is_worker(sid: str) -> Callable[[int], bool]:
            return lambda p: "agentd.worker" in cmdline(p) and sid in cmdline(p)

        def is_daemon(p: int) -> bool:
            return "agentd" in cmdline(p) and environ_has(p, f"AGENTD_DIR={self.root}")

        for sid, worker, agent, _ in self.sessions():
            kill_verified(agent, is_agent(sid), group=True)
            kill_verified(worker, is_worker(sid))
        pid = self.daemon_pid()
        kill_verified(pid, is_daemon)
        for w in [w for _, w, _, _ in self.sessions() if w] + ([pid] if pid else []):
            with contextlib.suppress(TimeoutError):
                wait_for(_gone(w), 5, f"pid {w} to exit")


# -- tmux and dtach ------------------------------------------------------------------------


class Tmux:
    """A tmux server on a private socket (-L) with its config ignored."""

    def __init__(self, sc: Scope, label: str) -> None:
        self.sock = f"adb-{label}-{os.getpid()}-{random.randrange(1 << 30):x}"
        self.env = {**os.environ, **TERM_ENV}
        self.env.pop("TMUX", None)
        self.server_pid: int | None = None
        self.pane_pids: set[int] = set()
        sc.tmux.append(self)

    def base(self) -> list[str]:
        return ["tmux", "-L", self.sock, "-f", "/dev/null"]

    def cmd(self, *args: str, check: bool = True) -> str:
        p = subprocess.run([*self.base(), *args], env=self.env, capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:3])} failed: {p.stderr.strip()}")
        return p.stdout

    def new_session(self, name: str, command: str, windows: list[str] | None = None) -> None:
        args = ["new-session", "-d", "-s", name, "-x", str(COLS), "-y", str(ROWS), command,
                ";", "set-option", "-g", "status", "off",
                ";", "set-option", "-g", "history-limit", "2000"]
        for w in windows or []:
            args += [";", "new-window", "-d", "-t", name, w]
        self.cmd(*args)
        self.server_pid = int(self.cmd("display-message", "-p", "#{pid}").strip())
        self.remember_panes()

    def remember_panes(self) -> None:
        out = self.cmd("list-panes", "-a", "-F", "#{pane_pid}", check=False)
        self.pane_pids |= {int(x) for x in out.split() if x.isdigit()}

    def attach_argv(self, name: str) -> list[str]:
        return [*self.base(), "attach-session", "-t", name]

    def kill(self) -> None:
        if self.server_pid is None:
            return
        with contextlib.suppress(Exception):
            self.remember_panes()
        subprocess.run([*self.base(), "kill-server"], env=self.env, capture_output=True,
                       timeout=30, stdin=subprocess.DEVNULL)
        tag = f"/{self.sock},"
        for pid in self.pane_pids:
            kill_verified(pid, lambda p: any(tag in line for line in _environ_lines(p)),
                          group=True)
        kill_verified(self.server_pid, lambda p: self.sock in cmdline(p) or "tmux" in
                      cmdline(p))
        pid = self.server_pid
        with contextlib.suppress(TimeoutError):
            wait_for(lambda: not alive(pid), 5, "tmux server to exit")
        self.server_pid = None
        tmpdir = os.environ.get("TMUX_TMPDIR") or "/tmp"
        with contextlib.suppress(OSError):  # the socket file a killed server leaves behind
            os.unlink(os.path.join(tmpdir, f"tmux-{os.getuid()}", self.sock))


def _environ_lines(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return [x.decode(errors="replace") for x in f.read().split(b"\0")]
    except OSError:
        return []


def dtach_master(sc: Scope, sock: Path, argv: list[str]) -> subprocess.Popen[Any]:
    """`dtach -N`: a master in the foreground (our child), no client attached."""
    p = sc.popen(["dtach", "-N", str(sock), "-E", "-z", "-r", "none", *argv],
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 env={**os.environ, **TERM_ENV})
    wait_for(lambda: sock.exists(), 10, "dtach socket")
    return p


def dtach_attach_argv(sock: Path) -> list[str]:
    return ["dtach", "-a", str(sock), "-E", "-z", "-r", "none"]


# -- repositories and content --------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "bench",
                               "GIT_AUTHOR_EMAIL": "bench@example.invalid",
                               "GIT_COMMITTER_NAME": "bench",
                               "GIT_COMMITTER_EMAIL": "bench@example.invalid"}).stdout


def make_repo(path: Path, files: int = 1) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main", cwd=path)
    rng = random.Random(5)
    for i in range(files):
        sub = path / f"pkg{i // 100:03d}" / f"mod{(i // 10) % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        body = "".join(f"def f{j}(x):\n    return x * {rng.randrange(1000)}\n"
                       for j in range(rng.randrange(3, 30)))
        (sub / f"file{i:05d}.py").write_text(body)
    if files == 0:
        (path / "README").write_text("bench\n")
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "initial", cwd=path)
    return path


_WORDS = ("error warning passed failed compiling linking src/agentd/worker/main.py test_ok "
          "assert result token usage diff --git a/b hunk @@ -1,4 +1,5 @@ def class return "
          "import from self None True False 0x1f 42 3.14 running done").split()


def text_lines(count: int, seed: int, colour: bool) -> list[bytes]:
    """A pool of terminal lines like a build or an agent prints: words, some colours."""
    rng = random.Random(seed)
    pool = []
    for i in range(count):
        words = [rng.choice(_WORDS) for _ in range(rng.randrange(2, 16))]
        if colour:
            parts = []
            for w in words:
                r = rng.random()
                if r < 0.15:
                    parts.append(f"\x1b[{rng.choice((31, 32, 33, 34, 35, 36))}m{w}\x1b[39m")
                elif r < 0.2:
                    parts.append(f"\x1b[1m{w}\x1b[22m")
                elif r < 0.24:
                    parts.append(f"\x1b[38;5;{rng.randrange(256)}m{w}\x1b[39m")
                elif r < 0.26:
                    parts.append(f"\x1b[48;5;{rng.randrange(16, 232)}m{w}\x1b[49m")
                elif r < 0.28:
                    parts.append(f"\x1b[4m{w}\x1b[24m")
                elif r < 0.30:
                    parts.append(f"\x1b[7m{w}\x1b[27m")
                elif r < 0.32:
                    parts.append(f"\x1b[38;2;{rng.randrange(256)};{rng.randrange(256)};"
                                 f"{rng.randrange(256)}m{w}\x1b[39m")
                elif r < 0.34:
                    parts.append(rng.choice(("✓", "✗", "→", "é", "─" * 8)) + w)
                else:
                    parts.append(w)
            line = " ".join(parts)
        else:
            line = " ".join(words)
        pool.append(f"{i:6d} {line}\n".encode())
    return pool


def write_content(path: Path, size: int, colour: bool, tail: bytes, seed: int = 1) -> int:
    """Write about `size` bytes of lines, then `tail`; returns the file size."""
    pool = text_lines(997, seed, colour)
    chunk = b"".join(pool)
    with open(path, "wb") as f:
        n = 0
        while n + len(chunk) <= size:
            f.write(chunk)
            n += len(chunk)
        for line in pool:
            if n + len(line) > size:
                break
            f.write(line)
            n += len(line)
        f.write(tail)
        n += len(tail)
    return n


ESC_RE = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
                    rb"|\x1bP[^\x1b]*\x1b\\|\x1b[()*+][ -~]|\x1b[ -/]*[0-~]")


def visible(data: bytes) -> bytes:
    """The bytes with escape sequences removed (what a terminal would print as text)."""
    return ESC_RE.sub(b"", data)


def quiet_cpu(pids: list[int], window: float = 0.3, timeout: float = 60) -> None:
    """Wait until these processes use no CPU for a window (e.g. a worker caught up)."""
    def still() -> bool:
        before = [cpu_seconds(p) for p in pids]
        time.sleep(window)
        after = [cpu_seconds(p) for p in pids]
        return all(a is None or b is None or a - b < 0.002 for a, b in zip(after, before,
                                                                         strict=True))

    wait_for(still, timeout, "processes to go idle", interval=0)
