"""Bring in the real programs some tests and benchmarks use, from the package registries:
tmux, vim, dtach and npm (Debian) and the pinned Claude Code and Codex CLIs (npm). Whatever cannot
be had is reported here; the tests that need it are then skipped with the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEBIAN = {"tmux": "tmux", "vim": "vim", "dtach": "dtach", "npm": "npm"}
BENCH_DEBIAN = {"abduco": "abduco"}


def apt_install(packages: list[str]) -> str | None:
    """Install Debian packages; None on success, else why not."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available on this machine"
    if os.geteuid() != 0:
        return "installing Debian packages needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True,
                            env=env, timeout=600)
    if update.returncode != 0:
        return f"apt-get update failed: {update.stderr.strip().splitlines()[-1:]}"
    proc = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                           *packages], capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        return f"apt-get install failed: {proc.stderr.strip().splitlines()[-1:]}"
    return None


def main() -> int:
    bench = "--bench" in sys.argv
    wanted = {**DEBIAN, **BENCH_DEBIAN} if bench else dict(DEBIAN)
    if bench:
        del wanted["npm"]  # the real agent CLIs are for tests only
    missing = [pkg for cmd, pkg in wanted.items() if shutil.which(cmd) is None]
    if missing:
        why = apt_install(missing)
        for cmd in wanted:
            if shutil.which(cmd) is None:
                users = "benchmark anchors" if bench else "tests"
                print(f"test tools: {cmd} unavailable ({why or 'not in the package index'}); "
                      f"{users} that need it will be skipped")
    if not bench:
        sys.path.insert(0, str(ROOT))
        from tests.realcli import install

        try:
            paths = install.ensure_installed(quiet=True)
            print(f"test tools: Claude Code {install.CLAUDE_CODE_VERSION} and Codex "
                  f"{install.CODEX_VERSION} ready in {paths['claude'].parents[3]}")
        except install.InstallError as e:
            print(f"test tools: real agent CLIs unavailable ({e}); their tests will be "
                  "skipped")
        try:
            gemini = install.ensure_gemini(quiet=True)
            print(f"test tools: Gemini CLI {install.GEMINI_CLI_VERSION} ready in "
                  f"{gemini.parents[2]}")
        except install.InstallError as e:
            print(f"test tools: Gemini CLI unavailable ({e}); its test will be skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
