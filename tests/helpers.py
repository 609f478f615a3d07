"""Test helpers: run the real `agent` CLI, wait on conditions, end processes by pid."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from agentd.procs import pid_alive

T = TypeVar("T")

AGENT = [sys.executable, "-m", "agentd"]

# Every timeout in the tests is multiplied by this, for slow machines (README, Development).
SCALE = float(os.environ.get("AGENTD_TEST_TIMEOUT_SCALE") or 1)


def scaled(seconds: float) -> float:
    return seconds * SCALE


def poll(cond: Callable[[], T], timeout: float, interval: float = 0.02) -> T:
    """Call `cond` until it returns something true or `timeout` (scaled) has passed; the
    last value either way."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        last = cond()
        if last or time.monotonic() >= deadline:
            return last
        time.sleep(interval)


def wait_for(cond: Callable[[], T | None], timeout: float = 15, what: str = "condition",
             interval: float = 0.02) -> T:
    last = poll(cond, timeout, interval)
    if not last:
        raise AssertionError(f"timed out after {scaled(timeout):g}s waiting for {what} "
                             f"(last: {last!r})")
    return last


alive = pid_alive  # a zombie is not alive for our purposes


def kill_pid(pid: int | None, group: bool = False) -> None:
    if not pid:
        return
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Env:
    """A private agentd root and the environment that points the CLI at it."""

    root: Path
    env: dict[str, str]

    def agent(self, *args: str, cwd: Path | None = None, input: str | None = None,
              env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        proc = subprocess.run([*AGENT, *args], cwd=cwd, env={**self.env, **(env or {})},
                              capture_output=True, text=True, input=input,
                              timeout=scaled(timeout))
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kw: Any) -> Result:
        r = self.agent(*args, **kw)
        assert r.code == 0, f"agent {' '.join(args)} failed ({r.code}): {r.err}{r.out}"
        return r

    def task(self, name: str) -> dict[str, Any]:
        tasks = {t["name"]: t for t in self.ok("ls", "--all", "--json").json()}
        return tasks[name]

    def status(self, name: str) -> str:
        return str(self.task(name)["status"])

    def wait_status(self, name: str, *statuses: str, timeout: float = 20) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            t = self.task(name)
            return t if t["status"] in statuses else None

        return wait_for(check, timeout, f"{name} to be {'/'.join(statuses)}")

    def log_of(self, name: str) -> Path:
        return self.root / "logs" / f"{self.task(name)['session']}.log"

    def write_config(self, text: str) -> None:
        (self.root / "config.toml").write_text(text)

    def daemon_pid(self) -> int | None:
        try:
            text = (self.root / "agentd.pid").read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    def db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.root / "state.db", timeout=scaled(10))
        db.row_factory = sqlite3.Row
        return db

    def session_pids(self) -> list[tuple[int | None, int | None]]:
        if not (self.root / "state.db").exists():
            return []
        with self.db() as db:
            try:
                rows = db.execute("SELECT worker_pid, agent_pid FROM sessions").fetchall()
            except sqlite3.OperationalError:
                return []
        return [(r[0], r[1]) for r in rows]

    def cleanup(self) -> None:
        """End every process this root started: daemon, workers, agents — by pid."""
        for worker, agent in self.session_pids():
            kill_pid(agent, group=True)
            kill_pid(worker)
        pid = self.daemon_pid()
        if pid and alive(pid):
            kill_pid(pid)
            wait_for(lambda: not alive(pid), 10, "daemon to exit")


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()
