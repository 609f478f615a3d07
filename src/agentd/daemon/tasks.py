"""Creating, stopping, removing and reconciling tasks. Git and process work runs in
threads; every store call stays on the event loop's thread."""

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
from collections import defaultdict
from pathlib import Path
from typing import Any

from agentd import lifecycle, names
from agentd.agents import integration
from agentd.config import AgentSpec, Config
from agentd.daemon import git
from agentd.errors import AgentdError, Conflict, GitError, TaskNotFound, UsageError
from agentd.keys import key_bytes
from agentd.logfiles import log_files
from agentd.paths import Paths
from agentd.procs import pid_alive, signal_group, terminate_group, wait_gone
from agentd.protocol.connection import Connection
from agentd.store.db import Store


class Tasks:
    def __init__(self, paths: Paths, store: Store, load_config: Any, log: Any) -> None:
        self.paths = paths
        self.store = store
        self.load_config = load_config
        self.log = log
        self.reserved: set[str] = set()
        self.repo_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    # -- create ----------------------------------------------------------------------------

    async def create(self, p: dict[str, Any]) -> dict[str, Any]:
        config: Config = self.load_config()
        agent = config.agent(p.get("agent") or config.default_agent)
        raw = p.get("prompt") or []
        prompt = raw if isinstance(raw, str) else " ".join(str(x) for x in raw)
        env = {k: str(v) for k, v in (p.get("env") or {}).items()}
        workspace = Path(p.get("workspace") or "")
        if not workspace.is_absolute():
            raise UsageError("'workspace' is required and must be an absolute path")
        name = p.get("name")
        if name is not None:
            names.validate(name)
            if name in self.reserved or name in self.store.task_names():
                raise Conflict(f"task name {name!r} is taken; choose another with --name "
                               f"or remove the old task with 'agent kill --rm {name}'")
        else:
            name = names.generate(self.store.task_names() | self.reserved)
        self.reserved.add(name)
        try:
            return await self._create(name, agent, prompt, env, workspace, p)
        finally:
            self.reserved.discard(name)

    async def _create(self, name: str, agent: AgentSpec, prompt: str, env: dict[str, str],
                      workspace: Path, p: dict[str, Any]) -> dict[str, Any]:
        repo = await asyncio.to_thread(git.repo_root, workspace)
        branch = f"agent/{name}"
        worktree = self.paths.worktrees / name
        async with self.repo_locks[str(repo)]:
            base, base_commit = await asyncio.to_thread(self._resolve_base, repo, p.get("base"))
            if await asyncio.to_thread(git.branch_exists, repo, branch):
                raise Conflict(f"branch {branch} already exists in {repo}; choose another "
                               "--name or delete that branch")
            if worktree.exists():
                raise Conflict(f"{worktree} already exists; choose another --name")
            await asyncio.to_thread(git.add_worktree, repo, worktree, branch, base_commit)
        try:
            task = self.store.insert_task(
                name=name, agent=agent.name, prompt=prompt, workspace=str(repo), base=base,
                base_commit=base_commit, branch=branch, worktree=str(worktree))
        except BaseException:
            await asyncio.to_thread(self._remove_checkout, repo, worktree, branch)
            raise
        session, error = await self.start_session(
            task, agent, prompt, env, int(p.get("cols") or 120), int(p.get("rows") or 40))
        task = self.store.task_by_id(task["id"])
        task["session"] = session
        task["start_error"] = error
        return task

    @staticmethod
    def _resolve_base(repo: Path, base: str | None) -> tuple[str, str]:
        if not base:
            base = git.current_branch(repo)
            if base is None:
                raise GitError(f"HEAD is detached in {repo}; pass --base BRANCH to say "
                               "where the task's branch starts")
        commit = git.resolve_commit(repo, base)
        if commit is None:
            raise GitError(f"unknown base {base!r} in {repo}: no such branch or commit "
                           "(is the repository empty? commit once first)")
        return base, commit

    @staticmethod
    def _remove_checkout(repo: Path, worktree: Path, branch: str) -> None:
        git.remove_worktree(repo, worktree)
        if git.branch_exists(repo, branch):
            git.delete_branch(repo, branch)

    async def start_session(self, task: dict[str, Any], agent: AgentSpec, prompt: str,
                            env: dict[str, str], cols: int, rows: int) -> tuple[str, str | None]:
        """Start a session; returns its id and, when the agent could not start, why."""
        config: Config = self.load_config()
        sid = secrets.token_hex(5)
        argv, agent_env = integration(agent.integration).launch(
            agent, prompt, lambda suffix: self.paths.session_file(sid, suffix))
        env = {**env, **agent_env, **agent.env,
               "AGENTD_SESSION_ID": sid, "AGENTD_SOCKET": str(self.paths.socket),
               "AGENTD_WORKSPACE": task["workspace"], "AGENTD_WORKTREE": task["worktree"],
               "AGENTD_BRANCH": task["branch"], "AGENTD_TASK": task["name"]}
        env.setdefault("TERM", "xterm-256color")
        self.store.add_session(task["id"], sid, argv)
        spec = {
            "session_id": sid, "task": task["name"], "argv": argv, "env": env,
            "cwd": task["worktree"], "cols": cols, "rows": rows,
            "socket": str(self.paths.session_socket(sid)),
            "log": str(self.paths.session_log(sid)), "log_max_bytes": config.log_max_bytes,
            "log_keep": config.log_keep, "prompt_mode": agent.prompt, "prompt": prompt,
            "daemon_socket": str(self.paths.socket), "db": str(self.paths.db),
            "waiting_patterns": list(agent.waiting_patterns),
            "busy_patterns": list(agent.busy_patterns), "idle_seconds": agent.idle_seconds,
        }
        resolved = shutil.which(agent.command, path=env.get("PATH", os.defpath))
        if resolved is None:
            reason = (f"agent {agent.name!r}: command {agent.command!r} not found on PATH; "
                      f"install it or set [agents.{agent.name}] command in "
                      f"{self.paths.config}")
            self.store.finish_session(sid, 127, reason)
            return sid, reason
        spec_path = self.paths.session_spec(sid)
        spec_path.write_text(json.dumps(spec))
        os.chmod(spec_path, 0o600)
        ready = await asyncio.to_thread(self._spawn_worker, spec_path)
        if "error" in ready:
            self.store.finish_session(sid, 127, str(ready["error"]))
            return sid, str(ready["error"])
        self.store.session_started(sid, ready["worker_pid"], ready["agent_pid"])
        return sid, None

    def _spawn_worker(self, spec_path: Path) -> dict[str, Any]:
        with open(self.paths.daemon_log, "ab") as errlog:
            proc = subprocess.run(
                [sys.executable, "-m", "agentd.worker", str(spec_path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errlog,
                start_new_session=True, timeout=30)
        try:
            ready: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
            return ready
        except (ValueError, IndexError):
            return {"error": f"session worker failed to start (exit {proc.returncode}); "
                             f"see {self.paths.daemon_log}"}

    # -- stop and remove -------------------------------------------------------------------

    def session_of(self, task: dict[str, Any]) -> dict[str, Any]:
        session = self.store.latest_session(task["id"])
        if session is None:
            raise TaskNotFound(f"task {task['name']} has no session")
        return session

    async def kill(self, ref: str, remove: bool, force: bool) -> dict[str, Any]:
        task = self.store.find_task(ref)
        config: Config = self.load_config()
        result: dict[str, Any] = {"name": task["name"], "removed": False, "notes": []}
        if remove and not force and Path(task["worktree"]).exists():
            dirty = await asyncio.to_thread(git.dirty_files, Path(task["worktree"]))
            if dirty:
                raise Conflict(
                    f"worktree of {task['name']} has {len(dirty)} uncommitted change(s) "
                    f"({', '.join(dirty[:3])}{', …' if len(dirty) > 3 else ''}); commit them "
                    f"or pass --force to discard them")
        if task["status"] in lifecycle.ACTIVE:
            self.store.apply(task["id"], "kill", "stopped by the user", attention="notice")
            self.store.add_event(task["id"], None, "killed", "info",
                                 f"{task['name']} killed by the user", {})
            session = self.session_of(task)
            await asyncio.to_thread(self._stop_session, session, config.kill_grace_seconds)
        if remove:
            result.update(await self.remove(task))
        return result

    def _stop_session(self, session: dict[str, Any], grace: float) -> None:
        """Ask the worker to stop the agent; wait for it to go, escalating ourselves if the
        worker is unresponsive."""
        sock = self.paths.session_socket(session["id"])
        agent_pid = session.get("agent_pid")
        try:
            with Connection.open(sock, timeout=2) as conn:
                conn.request("terminate", {"grace": grace})
        except (OSError, AgentdError):
            if agent_pid:
                terminate_group(agent_pid, grace)
            return
        if session.get("worker_pid"):
            wait_gone(session["worker_pid"], grace + 5)
        if agent_pid and pid_alive(agent_pid):
            signal_group(agent_pid, signal.SIGKILL)

    async def remove(self, task: dict[str, Any]) -> dict[str, Any]:
        repo, worktree, branch = Path(task["workspace"]), Path(task["worktree"]), task["branch"]
        notes = []
        async with self.repo_locks[str(repo)]:
            if repo.exists():
                await asyncio.to_thread(git.remove_worktree, repo, worktree)
                if await asyncio.to_thread(git.branch_exists, repo, branch):
                    ahead = await asyncio.to_thread(git.commits_beyond, repo,
                                                    task["base_commit"], branch)
                    if ahead:
                        notes.append(f"kept branch {branch}: {ahead} commit(s) not on "
                                     f"{task['base']}")
                    else:
                        await asyncio.to_thread(git.delete_branch, repo, branch)
            if worktree.exists():
                shutil.rmtree(worktree, ignore_errors=True)
        for s in self.store.session_ids(task["id"]):
            for f in log_files(self.paths.session_log(s)):
                f.unlink(missing_ok=True)
            for f in self.paths.sessions.glob(f"{s}.*"):
                f.unlink(missing_ok=True)
        shutil.rmtree(self.paths.artifacts / task["name"], ignore_errors=True)
        self.store.delete_task(task["id"])
        self.store.add_event(None, None, "task_removed", "info", f"task {task['name']} removed",
                             {"task": task["name"], "notes": notes})
        return {"removed": True, "notes": notes}

    # -- input -----------------------------------------------------------------------------

    async def send_input(self, ref: str, text: str, keys: list[str],
                         enter: bool) -> dict[str, Any]:
        task = self.store.find_task(ref)
        session = self.session_of(task)
        if session["ended_at"] is not None:
            raise Conflict(f"task {task['name']} has ended ({task['status']}); nothing reads "
                           "its input any more")
        for k in keys:
            key_bytes(k)  # reject unknown key names before anything is sent
        sent = await asyncio.to_thread(self._deliver, session["id"], text, keys, enter)
        shown = " ".join([*([repr(text)] if text else []), *keys, *(["Enter"] if enter else [])])
        self.store.ack(task["id"], session["id"], "input_sent",
                       f"input sent to {task['name']}: {shown[:80]}",
                       {"text": text, "keys": keys, "enter": enter})
        # An answer: the agent takes it from here. If it still waits, its hooks or the
        # screen say so again.
        self.store.apply(task["id"], "resume", "input sent")
        return {"name": task["name"], "session": session["id"], "bytes": sent}

    def _deliver(self, sid: str, text: str, keys: list[str], enter: bool) -> int:
        try:
            with Connection.open(self.paths.session_socket(sid), timeout=10) as conn:
                if text:
                    conn.send_input(text.encode())
                result = conn.request("keys", {"names": keys, "enter": enter})
        except OSError as e:
            raise Conflict(f"the session {sid} does not answer ({e.strerror or e}); "
                           "it may have just ended") from None
        return len(text.encode()) + int(result["bytes"])

    # -- reconcile -------------------------------------------------------------------------

    def reconcile(self) -> list[str]:
        """Sessions the store thinks are live but whose worker is gone become lost."""
        lost = []
        for s in self.store.live_sessions():
            if s["worker_pid"] and pid_alive(s["worker_pid"]):
                continue
            if not s["worker_pid"] and time.time() - s["started_at"] < 60:
                continue  # still being started
            self.store.mark_lost(
                s["id"], f"its session worker (pid {s['worker_pid']}) vanished without "
                "recording an exit status; the agent's output is in its log")
            lost.append(s["task_name"])
        return lost

    # -- diff ------------------------------------------------------------------------------

    async def diff(self, ref: str, stat: bool, color: bool) -> dict[str, Any]:
        task = self.store.find_task(ref)
        worktree = Path(task["worktree"])
        if not worktree.exists():
            raise Conflict(f"the worktree of {task['name']} is gone ({worktree})")
        base = await asyncio.to_thread(git.merge_base, worktree, task["base_commit"], "HEAD")
        base = base or task["base_commit"]
        text = await asyncio.to_thread(git.diff, worktree, base, stat, color)
        figures = await asyncio.to_thread(git.numstat, worktree, base)
        self.store.set_git_stat(task["id"], figures)
        return {"diff": text, "base": base, **figures}

