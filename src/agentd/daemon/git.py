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
    text = git("status", "--porcelain", "--untracked-files=all", cwd=worktree).stdout
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


# -- artifacts: what a task's branch holds ---------------------------------------------------

LOG_FORMAT = "%H%x1f%an <%ae>%x1f%at%x1f%s"


def commits_between(repo: Path, base: str, rev: str) -> list[dict[str, object]]:
    """The commits reachable from `rev` but not `base`, oldest first."""
    text = git("log", "--reverse", f"--format={LOG_FORMAT}", f"{base}..{rev}", "--",
               cwd=repo).stdout
    commits: list[dict[str, object]] = []
    for line in text.splitlines():
        parts = line.split("\x1f")
        if len(parts) == 4:
            commits.append({"hash": parts[0], "author": parts[1], "time": int(parts[2]),
                            "subject": parts[3]})
    return commits


def binary_patch(worktree: Path, base: str, tree: str) -> bytes:
    """The diff from `base` to `tree` as a file `git apply` takes, binary files included."""
    argv = ["git", "-c", "color.ui=never", "diff", "--no-ext-diff", "--no-renames",
            "--binary", "--full-index", base, tree]
    proc = subprocess.run(argv, cwd=worktree, capture_output=True,
                          env={**os.environ, **_ENV})
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git diff failed: {detail[-1] if detail else proc.returncode}", argv,
                       proc.stderr.decode(errors="replace"))
    return proc.stdout


def reflog_commits(worktree: Path) -> list[str]:
    """HEAD and every commit the worktree's HEAD reflog names, newest first: the reflog
    lives in the worktree's admin directory and goes with it."""
    proc = git("reflog", "show", "--format=%H", "HEAD", "--", cwd=worktree, check=False)
    seen: list[str] = []
    for h in proc.stdout.split():
        if h not in seen:
            seen.append(h)
    return seen


def unreachable_count(repo: Path, commit: str) -> int:
    """How many commits of `commit` no branch, tag, remote branch or refs/agentd/ ref holds."""
    proc = git("rev-list", "--count", commit, "--not", "--branches", "--tags", "--remotes",
               "--glob=refs/agentd/*", cwd=repo, check=False)
    return int(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else 0


def is_ancestor(repo: Path, a: str, b: str) -> bool:
    return git("merge-base", "--is-ancestor", a, b, cwd=repo, check=False).returncode == 0


def update_ref(repo: Path, ref: str, commit: str) -> None:
    git("update-ref", ref, commit, cwd=repo)


def refs_under(repo: Path, prefix: str) -> list[str]:
    return out("for-each-ref", "--format=%(refname)", prefix, cwd=repo).split()


def ignored_files(worktree: Path) -> list[str]:
    """Files in the worktree that git ignores (what removing it deletes without a trace)."""
    text = git("ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory",
               cwd=worktree).stdout
    return [p for p in text.split("\0") if p]


def matching_untracked(repo: Path, patterns_file: Path) -> list[str]:
    """Untracked (ignored or not) files of the checkout that the gitignore-syntax patterns in
    `patterns_file` match; git lists only files inside the repository."""
    text = git("ls-files", "-z", "--others", "--ignored", f"--exclude-from={patterns_file}",
               cwd=repo).stdout
    return [p for p in text.split("\0") if p]


# -- bringing work home ----------------------------------------------------------------------

def tracked_changes(repo: Path) -> list[str]:
    """Tracked files with staged or unstaged changes (untracked files are not counted)."""
    text = git("status", "--porcelain", "--untracked-files=no", cwd=repo).stdout
    return [line[3:] for line in text.splitlines() if line]


def merge_tree(repo: Path, ours: str, theirs: str) -> tuple[bool, str, list[str]]:
    """A merge computed in the object store only (git ≥ 2.38): (clean, tree, conflicting
    files). Neither the checkout nor the index is touched."""
    proc = git("merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs,
               cwd=repo, check=False)
    if proc.returncode not in (0, 1):
        lines = proc.stderr.strip().splitlines()
        raise GitError(f"git merge-tree failed: {lines[-1] if lines else proc.returncode} "
                       "(agent merge needs git 2.38 or newer)", ["git", "merge-tree"],
                       proc.stderr)
    lines = proc.stdout.splitlines()
    tree = lines[0] if lines else ""
    return proc.returncode == 0, tree, [x for x in lines[1:] if x]


def merge(repo: Path, rev: str, how: str, message: str) -> None:
    """Merge `rev` into the checked-out branch: how is ff (fast-forward only), merge (a merge
    commit) or squash (one new commit). Aborts and raises when git stops."""
    if how == "ff":
        git("merge", "--ff-only", "--quiet", rev, cwd=repo)
    elif how == "merge":
        proc = git("merge", "--no-ff", "--no-edit", "--quiet", "-m", message, rev, cwd=repo,
                   check=False)
        if proc.returncode != 0:
            git("merge", "--abort", cwd=repo, check=False)
            lines = proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines()
            raise GitError(f"git merge failed: {lines[-1] if lines else proc.returncode}",
                           ["git", "merge"], proc.stderr)
    else:
        proc = git("merge", "--squash", "--quiet", rev, cwd=repo, check=False)
        if proc.returncode != 0:
            git("reset", "--merge", cwd=repo, check=False)
            lines = proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines()
            raise GitError(f"git merge --squash failed: {lines[-1] if lines else ''}",
                           ["git", "merge", "--squash"], proc.stderr)
        git("commit", "--quiet", "--no-verify", "-m", message, cwd=repo)


def apply_patch(repo: Path, patch: bytes, check_only: bool) -> str | None:
    """`git apply` (to the working tree only); None when it applies, else git's complaint."""
    argv = ["git", "apply", "--whitespace=nowarn", *(["--check"] if check_only else []), "-"]
    proc = subprocess.run(argv, cwd=repo, input=patch, capture_output=True,
                          env={**os.environ, **_ENV})
    if proc.returncode == 0:
        return None
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    return "; ".join(lines[:3]) or f"exit status {proc.returncode}"
