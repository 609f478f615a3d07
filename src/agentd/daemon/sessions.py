"""Sessions: starting a session worker, talking to it, stopping it, finding the ones that
vanished, and the domain step "a session ended".

"A session ended" (`Sessions.settle`) runs once for every session whose end was recorded —
by its worker (through the daemon, or straight into SQLite while the daemon was down), by
`agent kill`, or by `reconcile` finding it lost — and calls every function registered in
`on_ended` with the session's row. Later work (artifact capture) hangs on it. The store's
`settled` column makes it exactly once, also across daemon restarts.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agentd.agents import integration
from agentd.config import AgentSpec, Config
from agentd.errors import AgentdError, Conflict
from agentd.jsonlog import JsonLog
from agentd.paths import Paths
from agentd.procs import identity, is_process, signal_group, terminate_group, wait_gone
from agentd.protocol.connection import Connection
from agentd.protocol.views import WorkerSpec
from agentd.records import Entry
from agentd.store.db import Store

EndedHook = Callable[[dict[str, Any]], Awaitable[None]]


class WorkerLaunch:
    """`python -m agentd.worker -`, started ahead of its spec. `start(spec)` hands the spec
    over its stdin and returns the worker's ready line (the pids, or an error); `cancel()`
    closes the stdin unused, and the process exits at once."""

    def __init__(self, errlog_path: Path) -> None:
        self.errlog_path = errlog_path
        self.used = False
        with open(errlog_path, "ab") as errlog:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agentd.worker", "-"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=errlog, start_new_session=True)

    def _hand_over(self, data: bytes) -> bytes | None:
        """`data` down the worker's stdin, then its stdout to the end; None (and the worker
        killed) if that takes over 30 s."""
        self.used = True
        try:
            out, _ = self.proc.communicate(data, timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        return out

    def start(self, spec: dict[str, Any]) -> dict[str, Any]:
        out = self._hand_over(json.dumps(spec).encode())
        if out is None:
            return {"error": "session worker did not answer within 30 s; see "
                             f"{self.errlog_path}"}
        try:
            ready: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
            return ready
        except (ValueError, IndexError):
            return {"error": f"session worker failed to start (exit {self.proc.returncode}); "
                             f"see {self.errlog_path}"}

    def cancel(self) -> None:
        self._hand_over(b"")


class Sessions:
    def __init__(self, paths: Paths, store: Store, load_config: Callable[[], Config],
                 log: JsonLog) -> None:
        self.paths = paths
        self.store = store
        self.load_config = load_config
        self.log = log
        self.on_ended: list[EndedHook] = []
        self.settling: dict[str, asyncio.Event] = {}
        self.watched: dict[str, int] = {}  # session id -> pidfd of its worker
        self.pending: set[asyncio.Future[None]] = set()

    # -- start -------------------------------------------------------------------------

    async def start(self, task: dict[str, Any], agent: AgentSpec, prompt: str,
                    env: dict[str, str], cols: int, rows: int,
                    continues: dict[str, Any] | None = None, added: bool = False,
                    setup: list[str] | None = None,
                    launch: WorkerLaunch | None = None) -> tuple[str, str | None, bool]:
        """Start a session; returns its id, why the agent could not start (or None), and
        whether it continues the conversation of the session `continues` (the agent may
        not be able to: then it is a fresh session with the prompt). `added`: a session
        after the task's first (`start_session`), which runs an ended task again.
        `setup` commands run in the session's PTY before the agent (agentd.setup_run).
        `launch`: a worker process started earlier (`launch()`), waiting for its spec."""
        config = self.load_config()
        sid = secrets.token_hex(5)
        it = integration(agent.integration)

        def files(suffix: str) -> Path:
            return self.paths.session_file(sid, suffix)

        launched = None
        if continues is not None:
            launched = it.resume(agent, continues["agent_session_id"], prompt, files)
        resumed = launched is not None
        argv, agent_env = launched or it.launch(agent, prompt, files)
        run_argv = argv
        if setup:
            run_argv = [sys.executable, "-m", "agentd.setup_run",
                        "--result", str(self.paths.setup_result(sid)),
                        *[x for c in setup for x in ("--command", c)], "--", *argv]
        env = {**env, **agent_env, **agent.env,
               "AGENTD_SESSION_ID": sid, "AGENTD_SOCKET": str(self.paths.socket),
               "AGENTD_WORKSPACE": task["workspace"], "AGENTD_WORKTREE": task["worktree"],
               "AGENTD_BRANCH": task["branch"], "AGENTD_TASK": task["name"]}
        env.setdefault("TERM", "xterm-256color")
        reader = integration(agent.integration).record_reader()
        records = {"integration": agent.integration, "agent": agent.name,
                   "roots": reader.roots(env)} if reader is not None else None
        why = None
        if added:
            why = (f"{agent.name} session {sid} continues session {continues['id']}"
                   if resumed and continues else
                   f"{agent.name} cannot continue its conversation: session {sid} "
                   "starts afresh" if continues else f"{agent.name} session {sid} added")
        self.store.add_session(task["id"], sid, argv, agent.name, prompt,
                               continues["id"] if resumed and continues else None, why,
                               records, size=(cols, rows))
        if reader is None and prompt:
            # No records to read the thread from: it starts with the prompt.
            self.store.add_thread_entry(task["id"], sid, Entry(
                f"prompt:{sid}", None, "user", "prompt", {"text": prompt}))
        spec = WorkerSpec(
            session_id=sid, task=task["name"], argv=run_argv, env=env, cwd=task["worktree"],
            cols=cols, rows=rows, socket=str(self.paths.session_socket(sid)),
            log=str(self.paths.session_log(sid)), log_max_bytes=config.log_max_bytes,
            log_keep=config.log_keep, prompt_mode=agent.prompt, prompt=prompt,
            daemon_socket=str(self.paths.socket), db=str(self.paths.db),
            waiting_patterns=list(agent.waiting_patterns),
            busy_patterns=list(agent.busy_patterns), idle_seconds=agent.idle_seconds)
        resolved = shutil.which(agent.command, path=env.get("PATH", os.defpath))
        if resolved is None:
            reason = (f"agent {agent.name!r}: command {agent.command!r} not found on PATH; "
                      f"install it or set [agents.{agent.name}] command in "
                      f"{self.paths.config}")
            if launch is not None:
                await asyncio.to_thread(launch.cancel)
            await self.ended(sid, 127, reason)
            return sid, reason, resumed
        if launch is None:
            launch = await asyncio.to_thread(self.launch)
        # The spec holds the agent's whole environment (API keys): it goes down the worker's
        # stdin and is never written to disk.
        ready = await asyncio.to_thread(launch.start, spec.to_wire())
        if "error" in ready:
            await self.ended(sid, 127, str(ready["error"]))
            return sid, str(ready["error"]), resumed
        worker_pid, agent_pid = ready["worker_pid"], ready["agent_pid"]
        self.store.session_started(sid, worker_pid, agent_pid, identity(worker_pid),
                                   identity(agent_pid))
        self.watch(sid, worker_pid)
        return sid, None, resumed

    def launch(self) -> WorkerLaunch:
        """Start a worker process that waits for its spec: `create_session` starts it
        before `git worktree add`, so the interpreter's start-up overlaps git's work."""
        return WorkerLaunch(self.paths.daemon_log)

    # -- talking to a worker -------------------------------------------------------------

    def worker(self, sid: str, timeout: float) -> Connection:
        return Connection.open(self.paths.session_socket(sid), timeout=timeout)

    def deliver(self, sid: str, text: str, keys: list[str], enter: bool) -> int:
        """Type into a session: text as an INPUT frame, then named keys. Bytes typed."""
        try:
            with self.worker(sid, timeout=10) as conn:
                if text:
                    conn.send_input(text.encode())
                result = conn.request("keys", {"names": keys, "enter": enter})
        except OSError as e:
            raise Conflict(f"the session {sid} does not answer ({e.strerror or e}); "
                           "it may have just ended") from None
        return len(text.encode()) + int(result["bytes"])

    def stop(self, session: dict[str, Any], grace: float) -> None:
        """Ask the worker to stop the agent (its escalation policy: procs.escalation); wait
        for it to go, escalating ourselves if the worker does not answer. A pid is signalled
        only while it is still the process recorded for the session."""
        agent_pid, agent_ident = session.get("agent_pid"), session.get("agent_ident")
        try:
            with self.worker(session["id"], timeout=2) as conn:
                conn.request("terminate", {"grace": grace})
        except (OSError, AgentdError):
            if agent_pid and is_process(agent_pid, agent_ident):
                terminate_group(agent_pid, grace)
            return
        if is_process(session.get("worker_pid"), session.get("worker_ident")):
            wait_gone(session["worker_pid"], grace + 5)
        if agent_pid and is_process(agent_pid, agent_ident):
            signal_group(agent_pid, signal.SIGKILL)

    def agent_survives(self, session: dict[str, Any]) -> bool:
        """Is the session's agent still running although its worker is gone?"""
        return bool(session.get("agent_pid")) and is_process(
            session["agent_pid"], session.get("agent_ident"))

    # -- the end of a session --------------------------------------------------------------

    async def ended(self, sid: str, exit_code: int | None, reason: str,
                    wait: bool = True) -> bool:
        """Record a session's end (once; see lifecycle.exit_report_counts), then settle it
        — or, without `wait`, start settling it (a worker reporting its exit need not wait
        for the artifacts to be captured)."""
        failure = await asyncio.to_thread(self.setup_failure, sid)
        reason = failure or reason
        recorded = self.store.finish_session(sid, exit_code, reason)
        if wait:
            await self.settle_pending()
        else:
            self.settle_soon()
        return recorded

    def settle_soon(self) -> None:
        fut = asyncio.ensure_future(self.settle_pending())
        self.pending.add(fut)
        fut.add_done_callback(self.pending.discard)

    def setup_failure(self, sid: str) -> str | None:
        """Why the session's setup failed (agentd.setup_run's result file), if it did."""
        try:
            r = json.loads(self.paths.setup_result(sid).read_text())
        except (OSError, ValueError):
            return None
        tail = " | ".join(r.get("tail", [])[-3:]) or "no output"
        return f"setup failed (exit {r.get('exit_code')}): {r.get('command')}: {tail}"

    def reconcile(self) -> list[str]:
        """Sessions the store thinks are live but whose worker is gone become lost. A
        worker is alive only if its pid still is the process recorded at start (procs.
        identity): after a reboot every pid is somebody else's."""
        lost = []
        for s in self.store.live_sessions():
            if s["worker_pid"] and is_process(s["worker_pid"], s["worker_ident"]):
                continue
            if not s["worker_pid"] and time.time() - s["started_at"] < 60:
                continue  # still being started
            if self.store.mark_lost(
                    s["id"], f"its session worker (pid {s['worker_pid']}) vanished without "
                    "recording an exit status; the agent's output is in 'agent logs "
                    f"{s['task_name']}'"):
                lost.append(s["task_name"])
        return lost

    def watch(self, sid: str, worker_pid: int) -> None:
        """Notice at once when a session's worker exits (a pidfd in the event loop): if it
        did not record how its session ended, the session is lost now, not at the next
        reconcile."""
        try:
            loop = asyncio.get_running_loop()
            fd = os.pidfd_open(worker_pid)
        except (RuntimeError, OSError, AttributeError):
            return  # no loop yet, already gone, or no pidfds: reconcile finds it
        if sid in self.watched:
            os.close(fd)
            return
        self.watched[sid] = fd

        def gone() -> None:
            loop.remove_reader(fd)
            os.close(fd)
            self.watched.pop(sid, None)
            if self.reconcile():
                self.settle_soon()

        loop.add_reader(fd, gone)

    def watch_live(self) -> None:
        """Watch every live session's worker (at start-up, once the loop runs)."""
        for s in self.store.live_sessions():
            if s["worker_pid"] and is_process(s["worker_pid"], s["worker_ident"]):
                self.watch(s["id"], s["worker_pid"])

    async def settle_pending(self) -> None:
        """Run "a session ended" for every session whose end is recorded but not settled."""
        for s in self.store.unsettled_sessions():
            if s["id"] in self.settling:  # being settled: wait for it to be done
                await self.settling[s["id"]].wait()
                continue
            now = self.store.session(s["id"])
            if now is None or now["settled"]:  # settled while this loop waited
                continue
            done = self.settling[s["id"]] = asyncio.Event()
            try:
                for hook in self.on_ended:
                    try:
                        await hook(s)
                    except Exception:  # noqa: BLE001 - one hook must not stop the others
                        self.log("error", "session-ended step failed", task=s["task_name"],
                                 session=s["id"], error=traceback.format_exc())
                self.store.settle(s["id"])
            finally:
                del self.settling[s["id"]]
                done.set()
