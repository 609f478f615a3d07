"""One wrapper for every git call: records argv, return code and stderr, raises GitError."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from agentd.errors import GitError

# Never let git stop to ask for anything, and never page.
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C"}


def git(*args: str, cwd: Path | str, check: bool = True, env: dict[str, str] | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = ["git", *args]
    full_env = {**os.environ, **_ENV, **(env or {})}
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=full_env,
                              input=input, errors="replace")
    except FileNotFoundError:
        raise GitError("git is not installed (it must be on PATH)", argv) from None
    except NotADirectoryError:
        raise GitError(f"{cwd} is not a directory", argv) from None
    if check and proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        detail = lines[-1] if lines else f"exit status {proc.returncode}"
        raise GitError(f"git {' '.join(args[:2])} failed: {detail}", argv, proc.stderr)
    return proc


def out(*args: str, cwd: Path | str, env: dict[str, str] | None = None) -> str:
    return git(*args, cwd=cwd, env=env).stdout.strip()


def repo_root(path: Path) -> Path:
    if not path.is_dir():
        raise GitError(f"workspace {path} is not a directory")
    proc = git("rev-parse", "--show-toplevel", cwd=path, check=False)
    if proc.returncode != 0:
        raise GitError(f"{path} is not inside a git repository; run 'git init' there "
                       "or pass --workspace DIR")
    return Path(proc.stdout.strip())


def head_of(path: Path) -> tuple[Path, str, str] | None:
    """In one git call: the repository `path` is in, its current branch and that branch's
    commit; None when any of them is not there (not a repository, detached HEAD, no commit
    yet): the one-question-each calls then say precisely what is wrong."""
    if not path.is_dir():
        return None
    proc = git("rev-parse", "--show-toplevel", "HEAD", "--symbolic-full-name", "HEAD",
               cwd=path, check=False)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 3 or not lines[2].startswith("refs/heads/"):
        return None
    return Path(lines[0]), lines[2].removeprefix("refs/heads/"), lines[1]


def current_branch(repo: Path) -> str | None:
    proc = git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=repo, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def resolve_commit(repo: Path, rev: str) -> str | None:
    proc = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=repo, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def branch_exists(repo: Path, branch: str) -> bool:
    return git("show-ref", "--verify", "--quiet", f"refs/heads/{branch}", cwd=repo,
               check=False).returncode == 0


def add_worktree(repo: Path, path: Path, branch: str, base_commit: str) -> None:
    git("worktree", "add", "--quiet", "-b", branch, str(path), base_commit, cwd=repo)


def remove_worktree(repo: Path, path: Path) -> None:
    if path.exists():
        git("worktree", "remove", "--force", "--force", str(path), cwd=repo, check=False)
    git("worktree", "prune", cwd=repo, check=False)


def commits_beyond(repo: Path, base_commit: str, branch: str) -> int:
    return int(out("rev-list", "--count", f"{base_commit}..refs/heads/{branch}", cwd=repo))


def delete_branch(repo: Path, branch: str) -> None:
    git("branch", "-D", "--quiet", branch, cwd=repo)


def dirty_files(worktree: Path) -> list[str]:
    text = out("status", "--porcelain", "--untracked-files=all", cwd=worktree)
    return [line[3:] for line in text.splitlines() if line]


def snapshot_tree(worktree: Path) -> str:
    """A tree object of the worktree as it is now, untracked files included, built in a
    throwaway index so the agent's own index is left untouched."""
    with tempfile.TemporaryDirectory(prefix="agentd-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git("read-tree", "HEAD", cwd=worktree, env=env)
        git("add", "--all", "--", ".", cwd=worktree, env=env)
        return out("write-tree", cwd=worktree, env=env)


def merge_base(repo: Path, a: str, b: str) -> str | None:
    proc = git("merge-base", a, b, cwd=repo, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def diff(worktree: Path, base: str, tree: str, stat: bool, color: bool) -> str:
    """The diff from `base` to `tree` (a snapshot_tree)."""
    args = ["-c", f"color.ui={'always' if color else 'never'}", "diff", "--no-ext-diff"]
    if stat:
        args.append("--stat")
    return git(*args, base, tree, cwd=worktree).stdout


def numstat(worktree: Path, base: str, tree: str) -> dict[str, int]:
    files = added = removed = 0
    for line in out("diff", "--numstat", base, tree, cwd=worktree).splitlines():
        a, r, _ = line.split("\t", 2)
        files += 1
        added += int(a) if a.isdigit() else 0
        removed += int(r) if r.isdigit() else 0
    return {"files": files, "added": added, "removed": removed}
