"""Tasks: create (branch, worktree, first session), kill, remove, input and diff. Git and
process work runs in threads; every store call stays on the event loop's thread. Starting
and stopping the sessions themselves is `daemon/sessions.py`."""

from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentd import lifecycle, names
from agentd.config import AgentSpec, Config
from agentd.daemon import git
from agentd.daemon.sessions import Sessions
from agentd.errors import Conflict, GitError, TaskNotFound, UsageError
from agentd.jsonlog import JsonLog
from agentd.keys import key_bytes
from agentd.logfiles import log_files
from agentd.paths import Paths
from agentd.store.db import Store


class Tasks:
    def __init__(self, paths: Paths, store: Store, sessions: Sessions,
                 load_config: Callable[[], Config], log: JsonLog) -> None:
        self.paths = paths
        self.store = store
        self.sessions = sessions
        self.load_config = load_config
        self.log = log
        self.reserved: set[str] = set()
        self.repo_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    # -- create ----------------------------------------------------------------------------

    async def create(self, p: dict[str, Any]) -> dict[str, Any]:
        """Params as `create_session` declares them (protocol/requests.py)."""
        config = self.load_config()
        agent = config.agent(p["agent"] or config.default_agent)
        raw = p["prompt"]
        prompt = raw if isinstance(raw, str) else " ".join(raw)
        env = dict(p["env"])
        workspace = Path(p["workspace"])
        if not workspace.is_absolute():
            raise UsageError("create_session: parameter 'workspace' must be an absolute path")
        name = p["name"]
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
            base, base_commit = await asyncio.to_thread(self._resolve_base, repo, p["base"])
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
        session, error = await self.sessions.start(task, agent, prompt, env, p["cols"],
                                                   p["rows"])
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

    # -- stop and remove -------------------------------------------------------------------

    def session_of(self, task: dict[str, Any]) -> dict[str, Any]:
        session = self.store.latest_session(task["id"])
        if session is None:
            raise TaskNotFound(f"task {task['name']} has no session")
        return session

    async def kill(self, ref: str, remove: bool, force: bool) -> dict[str, Any]:
        """Stop the task; with `remove`, then remove it — unless (without `force`) its
        worktree holds uncommitted work once the agent has stopped (an agent may write
        files as it shuts down): then the task stays, stopped, and the error says so."""
        task = self.store.find_task(ref)
        config = self.load_config()
        result: dict[str, Any] = {"name": task["name"], "removed": False, "notes": []}
        session = self.session_of(task)
        stopped = task["status"] in lifecycle.ACTIVE or (
            task["status"] == lifecycle.LOST and self.sessions.agent_survives(session))
        if stopped:
            self.store.apply(task["id"], "kill", "stopped by the user", attention="notice")
            self.store.add_event(task["id"], None, "killed", "info",
                                 f"{task['name']} killed by the user", {})
            await asyncio.to_thread(self.sessions.stop, session, config.kill_grace_seconds)
            await self.sessions.settle_pending()
        if not remove:
            return result
        if not force and Path(task["worktree"]).exists():
            dirty = await asyncio.to_thread(git.dirty_files, Path(task["worktree"]))
            if dirty:
                files = f"{', '.join(dirty[:3])}{', …' if len(dirty) > 3 else ''}"
                head = (f"stopped {task['name']} but kept it: its worktree" if stopped
                        else f"worktree of {task['name']}")
                raise Conflict(f"{head} has {len(dirty)} uncommitted change(s) ({files}); "
                               "commit them or pass --force to discard them")
        result.update(await self.remove(task))
        return result

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
        sent = await asyncio.to_thread(self.sessions.deliver, session["id"], text, keys, enter)
        shown = " ".join([*([repr(text)] if text else []), *keys, *(["Enter"] if enter else [])])
        self.store.ack(task["id"], session["id"], "input_sent",
                       f"input sent to {task['name']}: {shown[:80]}",
                       {"text": text, "keys": keys, "enter": enter})
        # An answer: the agent takes it from here. If it still waits, its hooks or the
        # screen say so again.
        self.store.apply(task["id"], "resume", "input sent", evidence=lifecycle.USER)
        return {"name": task["name"], "session": session["id"], "bytes": sent}

    # -- diff ------------------------------------------------------------------------------

    async def diff(self, ref: str, stat: bool, color: bool) -> dict[str, Any]:
        task = self.store.find_task(ref)
        worktree = Path(task["worktree"])
        if not worktree.exists():
            raise Conflict(f"the worktree of {task['name']} is gone ({worktree})")
        base = await asyncio.to_thread(git.merge_base, worktree, task["base_commit"], "HEAD")
        base = base or task["base_commit"]
        tree = await asyncio.to_thread(git.snapshot_tree, worktree)  # once for both
        text = await asyncio.to_thread(git.diff, worktree, base, tree, stat, color)
        figures = await asyncio.to_thread(git.numstat, worktree, base, tree)
        self.store.set_git_stat(task["id"], figures)
        return {"diff": text, "base": base, **figures}

