#!/usr/bin/env python3
"""Install the pinned real agent CLIs from the npm registry into a cache dir.

    python tests/realcli/install.py [CACHE_DIR]

CACHE_DIR defaults to $AGENTD_CLI_CACHE, else <repo>/.cache/agent-clis. Idempotent: does
nothing when the pinned versions are already there. Prints one ``name: path`` line per
binary. Exits 1 with a single ``install.py: ...`` line when npm is missing or the install
fails. Both packages ship their native binaries inside platform packages on the registry
(optionalDependencies), so nothing is downloaded from anywhere else.

npm's cache and logs go to CACHE_DIR/.npm-cache, so the real ~/.npm is not touched.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

CLAUDE_CODE_PACKAGE = "@anthropic-ai/claude-code"
CLAUDE_CODE_VERSION = "2.1.330"
CODEX_PACKAGE = "@openai/codex"
CODEX_VERSION = "0.169.0"

PINNED = {CLAUDE_CODE_PACKAGE: CLAUDE_CODE_VERSION, CODEX_PACKAGE: CODEX_VERSION}
# Gemini CLI (plain JavaScript, run by the system's node) goes to a directory of its own
# beside the cache dir, so installing it never touches the Claude/Codex install.
GEMINI_CLI_PACKAGE = "@google/gemini-cli"
GEMINI_CLI_VERSION = "0.61.0"

REPO = Path(__file__).resolve().parents[2]
NPM_TIMEOUT_S = 900


class InstallError(RuntimeError):
    pass


def default_cache_dir() -> Path:
    env = os.environ.get("AGENTD_CLI_CACHE")
    return Path(env) if env else REPO / ".cache" / "agent-clis"


def _arch() -> tuple[str, str]:
    """(npm arch suffix, Rust target triple) of this machine."""
    m = platform.machine().lower()
    if m in ("x86_64", "amd64"):
        return "x64", "x86_64-unknown-linux-musl"
    if m in ("aarch64", "arm64"):
        return "arm64", "aarch64-unknown-linux-musl"
    raise InstallError(f"unsupported machine {m!r} (linux x64/arm64 only)")


def binary_paths(cache_dir: Path | None = None) -> dict[str, Path]:
    """Paths of the native binaries inside ``cache_dir`` (present or not).

    ``claude``: the native binary of the platform package (the wrapper package's
    bin/claude.exe is a hard link to it once its postinstall ran, a stub otherwise).
    ``codex``: the native binary of the platform package (bin/codex.js is a Node wrapper
    that only sets CODEX_MANAGED_BY_NPM and spawns it; on Node < 22 it stays resident).
    ``codex_path_dir``: the dir of helper tools (rg) the wrapper puts on PATH.
    """
    nm = (cache_dir or default_cache_dir()) / "node_modules"
    arch, triple = _arch()
    vendor = nm / "@openai" / f"codex-linux-{arch}" / "vendor" / triple
    return {
        "claude": nm / "@anthropic-ai" / f"claude-code-linux-{arch}" / "claude",
        "codex": vendor / "bin" / "codex",
        "codex_path_dir": vendor / "codex-path",
        "codex_package_root": nm / "@openai" / "codex",
    }


def installed_version(cache_dir: Path, package: str) -> str | None:
    try:
        pj = cache_dir / "node_modules" / package / "package.json"
        return str(json.loads(pj.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def is_installed(cache_dir: Path) -> bool:
    paths = binary_paths(cache_dir)
    return all(installed_version(cache_dir, p) == v for p, v in PINNED.items()) and all(
        os.access(paths[k], os.X_OK) for k in ("claude", "codex"))


def gemini_binary(cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()).resolve().parent / "gemini-cli" / \
        "node_modules" / ".bin" / "gemini"


def ensure_gemini(cache_dir: Path | None = None, *, quiet: bool = False) -> Path:
    """Installs the pinned Gemini CLI beside ``cache_dir`` unless there; returns its
    binary. Raises :class:`InstallError` with a one-line reason."""
    binary = gemini_binary(cache_dir)
    target = binary.parents[2]
    pinned = {GEMINI_CLI_PACKAGE: GEMINI_CLI_VERSION}
    if installed_version(target, GEMINI_CLI_PACKAGE) == GEMINI_CLI_VERSION and \
            os.access(binary, os.X_OK):
        return binary
    if shutil.which("node") is None:
        raise InstallError("node not found on PATH (Gemini CLI needs Node.js 20+)")
    _npm_install(target, pinned, quiet)
    if not os.access(binary, os.X_OK):
        raise InstallError(f"npm install finished but {binary} is missing")
    return binary


def ensure_installed(cache_dir: Path | None = None, *, quiet: bool = False) -> dict[str, Path]:
    """Installs the pinned CLIs into ``cache_dir`` unless already there; returns
    :func:`binary_paths`. Raises :class:`InstallError` with a one-line reason."""
    cache_dir = (cache_dir or default_cache_dir()).resolve()
    if not is_installed(cache_dir):
        _npm_install(cache_dir, PINNED, quiet)
        if not is_installed(cache_dir):
            missing = [str(p) for k, p in binary_paths(cache_dir).items()
                       if k in ("claude", "codex") and not os.access(p, os.X_OK)]
            raise InstallError("npm install finished but binaries are missing: "
                               + ", ".join(missing or ["(version mismatch)"]))
    return binary_paths(cache_dir)


def _npm_install(cache_dir: Path, pinned: dict[str, str], quiet: bool) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError("npm not found on PATH (install Node.js 20+ with npm)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    # A package.json of our own keeps npm from walking up into the repo's.
    pj = cache_dir / "package.json"
    if not pj.exists():
        pj.write_text(json.dumps({"name": "agentd-agent-clis", "private": True}) + "\n")
    cmd = [npm, "install", "--prefix", str(cache_dir), "--no-audit", "--no-fund",
           "--save-exact", "--cache", str(cache_dir / ".npm-cache"),
           "--logs-dir", str(cache_dir / ".npm-cache" / "_logs"),
           "--loglevel", "error",
           *(f"{p}@{v}" for p, v in pinned.items())]
    env = dict(os.environ, npm_config_update_notifier="false")
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, cwd=cache_dir, env=env, capture_output=True, text=True,
                           timeout=NPM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise InstallError(f"npm install timed out after {NPM_TIMEOUT_S}s") from None
    if r.returncode != 0:
        lines = [ln.strip() for ln in (r.stderr + r.stdout).splitlines()
                 if ln.strip() and "npm warn" not in ln.lower()]
        noise = ("code", "syscall", "errno", "path", "at ", "A complete log")
        errs = [ln[len("npm error "):] for ln in lines if ln.startswith("npm error ")
                and not ln[len("npm error "):].lstrip().startswith(noise)]
        codes = [ln.split()[-1] for ln in lines if ln.startswith("npm error code ")]
        logs = [ln.rsplit(" ", 1)[-1] for ln in lines if "A complete log" in ln]
        why = " ".join(codes[:1] + (errs or lines or ["(no output)"])[:1])
        raise InstallError(f"npm install failed (exit {r.returncode}): {why}"
                           + (f" [log: {logs[0]}]" if logs else ""))
    # the tarball cache (~330 MB) is only useful for reinstalling; drop it, keep logs
    shutil.rmtree(cache_dir / ".npm-cache" / "_cacache", ignore_errors=True)
    if not quiet:
        print(f"installed in {time.monotonic() - t0:.1f}s", file=sys.stderr)


def main(argv: list[str]) -> int:
    cache = Path(argv[1]) if len(argv) > 1 else default_cache_dir()
    try:
        paths = ensure_installed(cache)
    except InstallError as e:
        print(f"install.py: {e}", file=sys.stderr)
        return 1
    print(f"claude: {paths['claude']}  ({CLAUDE_CODE_PACKAGE}@{CLAUDE_CODE_VERSION})")
    print(f"codex: {paths['codex']}  ({CODEX_PACKAGE}@{CODEX_VERSION})")
    try:
        gemini = ensure_gemini(cache)
    except InstallError as e:
        print(f"install.py: {e}", file=sys.stderr)
        return 1
    print(f"gemini: {gemini}  ({GEMINI_CLI_PACKAGE}@{GEMINI_CLI_VERSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
