"""Tasks: create (branch, worktree, first session), more sessions (resume, another agent),
kill, remove, input and diff. Git and
process work runs in threads; every store call stays on the event loop's thread. Starting
and stopping the sessions themselves is `daemon/sessions.py`."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentd import lifecycle, names
from agentd.config import AgentSpec, Config
from agentd.daemon import git
from agentd.daemon.sessions import Sessions, WorkerLaunch
from agentd.errors import Conflict, GitError, TaskNotFound, UsageError
from agentd.jsonlog import JsonLog
from agentd.keys import key_bytes
from agentd.logfiles import log_files
from agentd.paths import Paths
from agentd.records import Entry
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
        # The worker's interpreter starts while git adds the worktree (docs/performance.md).
        launching = asyncio.ensure_future(asyncio.to_thread(self.sessions.launch))
        try:
            return await self._create(name, agent, prompt, env, workspace, p, launching)
        finally:
            self.reserved.discard(name)
            try:
                launch: WorkerLaunch | None = await launching
            except OSError:  # no process to start (out of pids or memory): _create said so
                launch = None
            if launch is not None and not launch.used:  # no task: the worker is let go
                await asyncio.to_thread(launch.cancel)

    async def _create(self, name: str, agent: AgentSpec, prompt: str, env: dict[str, str],
                      workspace: Path, p: dict[str, Any],
                      launching: asyncio.Future[WorkerLaunch]) -> dict[str, Any]:
        # The usual case (no --base, HEAD on a branch) costs one git call before the
        # worktree is added, not three.
        head = None if p["base"] else await asyncio.to_thread(git.head_of, workspace)
        repo = head[0] if head else await asyncio.to_thread(git.repo_root, workspace)
        branch = f"agent/{name}"
        worktree = self.paths.worktrees / name
        async with self.repo_locks[str(repo)]:
            if head:
                base, base_commit = head[1], head[2]
            else:
                base, base_commit = await asyncio.to_thread(self._resolve_base, repo,
                                                            p["base"])
            if worktree.exists():
                raise Conflict(f"{worktree} already exists; choose another --name")
            try:  # `worktree add -b` refuses a branch that exists: asked only then
                await asyncio.to_thread(git.add_worktree, repo, worktree, branch, base_commit)
            except GitError:
                if await asyncio.to_thread(git.branch_exists, repo, branch):
                    raise Conflict(f"branch {branch} already exists in {repo}; choose "
                                   "another --name or delete that branch") from None
                raise
        try:
            included = await asyncio.to_thread(self._copy_included, repo, worktree)
            task = self.store.insert_task(
                name=name, agent=agent.name, prompt=prompt, workspace=str(repo), base=base,
                base_commit=base_commit, branch=branch, worktree=str(worktree))
        except BaseException:
            await asyncio.to_thread(self._remove_checkout, repo, worktree, branch)
            raise
        config = self.load_config()
        setup = config.setup_commands(repo, agent)
        if included:
            self.store.add_event(task["id"], None, "worktree_ready", "info",
                                 f"copied {len(included)} file(s) named in .worktreeinclude",
                                 {"files": included[:100]})
        session, error, _ = await self.sessions.start(task, agent, prompt, env, p["cols"],
                                                      p["rows"], setup=setup,
                                                      launch=await launching)
        task = self.store.task_by_id(task["id"])
        task["session"] = session
        task["start_error"] = error
        task["setup"] = setup
        task["included"] = included
        return task

    # -- another session in a task ---------------------------------------------------------

    async def start_session(self, p: dict[str, Any]) -> dict[str, Any]:
        """Params as `start_session` declares them: a session of `agent` (default: the
        task's) in an existing task's worktree; with `resume`, one that continues that
        agent's conversation of the task's ended session. Checked before anything is
        created."""
        task = self.store.find_task(p["name"])
        name = task["name"]
        # A session id names that session: its agent, and with `resume` its conversation.
        named = self.store.session(p["name"]) if p["name"] != name else None
        agent = self.load_config().agent(p["agent"] or (named or {}).get("agent")
                                         or task["agent"])
        if p["resume"] and task["status"] in lifecycle.ACTIVE:
            raise Conflict(f"task {name} is still {task['status']}; attach to it (agent "
                           f"attach {name}) or stop it first (agent kill {name})")
        continues = None
        if p["resume"]:
            for s in self.store.sessions_of(task["id"]):
                if s["lost"] and self.sessions.agent_survives(s):
                    raise Conflict(f"the agent of {name}'s lost session {s['id']} still runs "
                                   f"(pid {s['agent_pid']}); stop it first (agent kill "
                                   f"{name})")
            continues = named if named and named["agent"] == agent.name else \
                self.store.conversation_of(task["id"], agent.name)
            if continues is None:
                raise Conflict(f"task {name} has no {agent.name} session to resume; add one "
                               f"with 'agent run --task {name} --agent {agent.name} PROMPT'")
        worktree = Path(task["worktree"])
        if not worktree.is_dir():
            raise Conflict(f"the worktree of {name} is gone ({worktree}); nothing to "
                           f"{'resume' if p['resume'] else 'run'} in (remove the task with "
                           f"'agent kill --rm {name}')")
        raw = p["prompt"]
        prompt = raw if isinstance(raw, str) else " ".join(raw)
        session, error, resumed = await self.sessions.start(
            task, agent, prompt, dict(p["env"]), p["cols"], p["rows"], continues, added=True)
        task = self.store.task_by_id(task["id"])
        task.update(session=session, start_error=error, session_agent=agent.name,
                    resumed=continues["id"] if resumed and continues else None)
        return task

    @staticmethod
    def _copy_included(repo: Path, worktree: Path) -> list[str]:
        """Copy into a new worktree the files of the checkout that `.worktreeinclude`
        (gitignore syntax) names and git does not track. git lists only files inside the
        repository; a symlink is copied as a symlink, and only when it points inside it."""
        listing = repo / ".worktreeinclude"
        if not listing.is_file():
            return []
        real_repo, real_tree = os.path.realpath(repo), os.path.realpath(worktree)
        copied = []
        for rel in git.matching_untracked(repo, listing):
            src, dst = repo / rel, worktree / rel
            if not _inside(os.path.realpath(src.parent), real_repo) or not _inside(
                    os.path.realpath(dst.parent) if dst.parent.exists() else real_tree,
                    real_tree) or os.path.lexists(dst):
                continue
            try:
                if src.is_symlink():
                    if not _inside(os.path.realpath(src), real_repo):
                        continue
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(os.readlink(src), dst)
                elif src.is_file():
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dst)
                else:
                    continue
            except OSError:
                continue  # unreadable: the worktree is made without it
            copied.append(rel)
        return copied

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

    def locate(self, ref: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The task a reference names and the session it means: a task name means its
        latest session, a session id that session."""
        task = self.store.find_task(ref)
        session = self.session_of(task)
        if ref != task["name"]:  # addressed by session id
            session = self.store.session(ref) or session
        return task, session

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
        # Every session still running (a task may run several), and any agent that
        # outlived its worker (a lost session).
        sessions = self.store.sessions_of(task["id"])
        survivors = [s for s in sessions if s["lost"] and self.sessions.agent_survives(s)]
        stopped = task["status"] in lifecycle.ACTIVE or (task["status"] == lifecycle.LOST
                                                          and bool(survivors))
        if stopped:
            self.store.apply(task["id"], "kill", "stopped by the user", attention="notice")
            self.store.add_event(task["id"], None, "killed", "info",
                                 f"{task['name']} killed by the user", {})
            stop = [s for s in sessions if s["ended_at"] is None] + survivors
            await asyncio.gather(*(asyncio.to_thread(self.sessions.stop, s,
                                                     config.kill_grace_seconds) for s in stop))
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
        await self.sessions.settle_pending()  # a capture under way finishes first
        task = self.store.task_by_id(task["id"])
        repo, worktree, branch = Path(task["workspace"]), Path(task["worktree"]), task["branch"]
        notes: list[str] = []
        async with self.repo_locks[str(repo)]:
            if repo.exists():
                if (worktree / ".git").exists():
                    notes += await asyncio.to_thread(self._keep_commits, repo, worktree,
                                                     task["name"])
                    notes += await asyncio.to_thread(self._ignored_note, worktree)
                await asyncio.to_thread(git.remove_worktree, repo, worktree)
                if await asyncio.to_thread(git.branch_exists, repo, branch):
                    note = await asyncio.to_thread(self._settle_branch, repo, task)
                    if note:
                        notes.append(note)
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

    @staticmethod
    def _keep_commits(repo: Path, worktree: Path, name: str) -> list[str]:
        """Commits only the worktree's HEAD or its reflog still reach (made on a detached
        HEAD, or on a branch since deleted) get a ref under refs/agentd/<task>/ before the
        worktree, and its reflog, go."""
        kept: list[str] = []
        for commit in git.reflog_commits(worktree):
            n = git.unreachable_count(repo, commit)
            if n:
                ref = f"refs/agentd/{name}/{'head' if not kept else 'lost-' + commit[:12]}"
                git.update_ref(repo, ref, commit)
                kept.append(f"kept {n} commit(s) on no branch (e.g. made on a detached HEAD) "
                            f"as {ref}: 'git log {ref}' in {repo} shows them")
        return kept

    @staticmethod
    def _ignored_note(worktree: Path) -> list[str]:
        ignored = git.ignored_files(worktree)
        if not ignored:
            return []
        more = f" and {len(ignored) - 10} more" if len(ignored) > 10 else ""
        return [f"deleted {len(ignored)} gitignored file(s) or folder(s) with the worktree: "
                f"{', '.join(ignored[:10])}{more}"]

    @staticmethod
    def _settle_branch(repo: Path, task: dict[str, Any]) -> str | None:
        """Delete the task's branch when nothing of it would be lost: no commits beyond its
        base, or merged (its tip in the target, or the very tip that was squash-merged)."""
        branch = task["branch"]
        tip = git.resolve_commit(repo, f"refs/heads/{branch}")
        ahead = git.commits_beyond(repo, task["base_commit"], branch)
        if not ahead:
            git.delete_branch(repo, branch)
            return None
        into = task["merged_into"]
        if into and tip and (tip == task["merged_tip"] and task["merged_how"] == "squash"
                             or git.resolve_commit(repo, f"refs/heads/{into}")
                             and git.is_ancestor(repo, tip, f"refs/heads/{into}")):
            git.delete_branch(repo, branch)
            return f"deleted branch {branch} (merged into {into})"
        return f"kept branch {branch}: {ahead} commit(s) not on {task['base']}"

    # -- input -----------------------------------------------------------------------------

    async def send_input(self, ref: str, text: str, keys: list[str],
                         enter: bool) -> dict[str, Any]:
        task, session = self.locate(ref)
        if session["ended_at"] is not None:
            raise Conflict(f"task {task['name']} has ended ({task['status']}); nothing reads "
                           "its input any more" if task["status"] in lifecycle.ENDED else
                           f"session {session['id']} of {task['name']} has ended; nothing "
                           "reads its input any more")
        for k in keys:
            key_bytes(k)  # reject unknown key names before anything is sent
        sent = await asyncio.to_thread(self.sessions.deliver, session["id"], text, keys, enter)
        shown = " ".join([*([repr(text)] if text else []), *keys, *(["Enter"] if enter else [])])
        self.store.ack(task["id"], session["id"], "input_sent",
                       f"input sent to {task['name']}: {shown[:80]}",
                       {"text": text, "keys": keys, "enter": enter})
        if not session.get("records") and (text or keys):
            # An agent whose records the daemon reads has the input there already.
            self.store.add_thread_entry(task["id"], session["id"], Entry(
                None, None, "user", "input", {"text": text, "keys": keys}))
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


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
