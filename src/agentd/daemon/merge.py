"""Bringing a task's work home (docs/artifacts.md): `merge` brings its branch into the
workspace checkout's branch; `apply` puts its final patch into a checkout as uncommitted
changes. Both check everything first and change nothing when they refuse; the outcome of a
merge is computed in the object store (`git merge-tree --write-tree`) before the checkout
is touched, which is also all a dry run does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentd.daemon import git
from agentd.daemon.artifacts import Artifacts
from agentd.errors import Conflict, GitError, UsageError
from agentd.store.db import Store


def _few(files: list[str], n: int = 5) -> str:
    return ", ".join(files[:n]) + (f" and {len(files) - n} more" if len(files) > n else "")


class Merges:
    def __init__(self, store: Store, artifacts: Artifacts,
                 repo_locks: dict[str, asyncio.Lock]) -> None:
        self.store = store
        self.artifacts = artifacts
        self.repo_locks = repo_locks

    async def merge(self, ref: str, into: str | None, squash: bool,
                    dry_run: bool) -> dict[str, Any]:
        task = self.store.find_task(ref)
        repo = Path(task["workspace"])
        async with self.repo_locks[str(repo)]:
            plan = await asyncio.to_thread(self._plan, task, into or task["base"], squash,
                                           dry_run)
            if dry_run or plan["outcome"] == "up-to-date":
                return {**plan, "dry_run": dry_run, "merged": False}
            message = self._message(task, plan)
            await asyncio.to_thread(git.merge, repo, plan["tip"], plan["how"], message)
            head = await asyncio.to_thread(git.resolve_commit, repo, "HEAD")
        self.store.set_merged(task["id"], plan["into"], plan["tip"], plan["how"])
        return {**plan, "dry_run": False, "merged": True, "head": head}

    @staticmethod
    def _message(task: dict[str, Any], plan: dict[str, Any]) -> str:
        first = (task["prompt"].strip().splitlines() or [""])[0][:72]
        if plan["how"] == "squash":
            n = plan["commits"]
            return (f"{task['name']}: {first}\n\nSquashed {n} commit{'s' if n != 1 else ''} "
                    f"of {task['branch']} (agentd task {task['name']}).")
        return f"Merge {task['branch']} into {plan['into']} (agentd task {task['name']})"

    def _plan(self, task: dict[str, Any], into: str, squash: bool,
              dry_run: bool) -> dict[str, Any]:
        """What merging would do, or the Conflict saying why it must not happen. A dry run
        reports a checkout that is not ready in `blocked` rather than refusing."""
        repo, branch, name = Path(task["workspace"]), task["branch"], task["name"]
        if not repo.is_dir():
            raise Conflict(f"the workspace of {name} is gone ({repo})")
        tip = git.resolve_commit(repo, f"refs/heads/{branch}")
        if tip is None:
            raise Conflict(f"the branch {branch} of {name} is gone from {repo}")
        target = git.resolve_commit(repo, f"refs/heads/{into}")
        if target is None:
            raise UsageError(f"no branch {into!r} in {repo} to merge {name} into; pass "
                             "--into BRANCH")
        commits = len(git.commits_between(repo, target, tip))
        notes = []
        worktree = Path(task["worktree"])
        if (worktree / ".git").exists():
            dirty = git.dirty_files(worktree)
            if dirty:
                notes.append(f"{len(dirty)} uncommitted change(s) in the worktree of {name} "
                             f"are not merged ({_few(dirty, 3)}); 'agent apply {name}' "
                             "brings them as a patch")
        result = {"name": name, "branch": branch, "into": into, "tip": tip, "target": target,
                  "commits": commits, "workspace": str(repo), "notes": notes,
                  "conflicts": []}
        if commits == 0:
            return {**result, "outcome": "up-to-date", "how": None, "blocked": None}
        if squash:
            how = "squash"
        elif git.is_ancestor(repo, target, tip):
            how = "ff"
        else:
            how = "merge"
        clean, _, conflicts = git.merge_tree(repo, target, tip)
        if not clean:
            raise Conflict(
                f"merging {branch} into {into} would conflict in {_few(conflicts)}; nothing "
                f"was changed. Resolve it yourself: 'git merge {branch}' in {repo}, or "
                f"rebase the task's branch onto {into} in {worktree}")
        outcome = {"ff": "fast-forward", "merge": "merge", "squash": "squash"}[how]
        blocked = None
        current = git.current_branch(repo)
        changed = git.tracked_changes(repo)
        if current != into:
            blocked = (f"the checkout at {repo} is on {current or 'a detached HEAD'}, not "
                       f"{into}; run 'git switch {into}' there first, or pass --into "
                       f"{current or 'BRANCH'}")
        elif changed:
            blocked = (f"the checkout at {repo} has uncommitted changes ({_few(changed, 3)}); "
                       "commit or stash them first ('git stash')")
        if blocked and not dry_run:
            raise Conflict(f"{blocked}; nothing was changed")
        return {**result, "outcome": outcome, "how": how, "blocked": blocked}

    # -- apply -----------------------------------------------------------------------------

    async def apply(self, ref: str, workspace: str) -> dict[str, Any]:
        task = self.store.find_task(ref)
        repo = await asyncio.to_thread(git.repo_root, Path(workspace))
        patch, source = await self._patch(task)
        if not patch.strip():
            raise Conflict(f"nothing to apply: {task['name']} changed nothing against "
                           f"{task['base']}")
        complaint = await asyncio.to_thread(git.apply_patch, repo, patch, True)
        if complaint:
            raise Conflict(f"the patch of {task['name']} does not apply to {repo}: "
                           f"{complaint}; nothing was changed")
        complaint = await asyncio.to_thread(git.apply_patch, repo, patch, False)
        if complaint:
            raise GitError(f"git apply failed in {repo}: {complaint}")
        files = await asyncio.to_thread(git.tracked_changes, repo)
        return {"name": task["name"], "workspace": str(repo), "source": source,
                "bytes": len(patch), "changed": files}

    async def _patch(self, task: dict[str, Any]) -> tuple[bytes, str]:
        """The task's final patch: the one captured at its end when it has ended, else
        one made now from its worktree."""
        row = self.store.latest_artifact(task["id"], "patch")
        if task["ended_at"] is not None and row is not None:
            _, path = self.artifacts.locate(task, row["id"])
            return await asyncio.to_thread(path.read_bytes), f"artifact {row['id']}"
        worktree = Path(task["worktree"])
        if not (worktree / ".git").exists():
            raise Conflict(f"{task['name']} has no final patch and its worktree is gone")

        def make() -> bytes:
            base = git.merge_base(worktree, task["base_commit"], "HEAD") or task["base_commit"]
            return git.binary_patch(worktree, base, git.snapshot_tree(worktree))

        return await asyncio.to_thread(make), "the worktree as it is now"
