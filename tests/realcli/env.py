"""Isolated environments + pre-answered config for running the real agent CLIs offline.

Everything a CLI reads or writes goes under the ``home`` directory you pass (HOME, XDG dirs,
npm prefix/cache, the CLI's own config dir); nothing outside it is touched. The only network
target is ``api_url`` (a fake on 127.0.0.1). See NOTES.md beside this file for the why of
each setting.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tests.helpers import alive, poll

FAKE_ANTHROPIC_KEY = "sk-ant-api03-fake-agentd-test-key-0000000000000000000000000000AA"
FAKE_OPENAI_KEY = "sk-fake-agentd-test-key-000000000000000000000000"

# Variables of the calling environment that may leak credentials, endpoints or config dirs
# into the CLI under test; none of them survives into the env we build.
_SCRUB_PREFIXES = ("ANTHROPIC_", "CLAUDE", "CODEX_", "OPENAI_", "AWS_", "GOOGLE_", "VERTEX_",
                   "AZURE_", "NPM_CONFIG_", "npm_config_", "XDG_", "OTEL_", "MCP_")
_SCRUB = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
          "NODE_OPTIONS", "TMUX", "TMUX_PANE", "STY", "VSCODE_PID", "TERM_PROGRAM",
          "TERM_PROGRAM_VERSION", "GIT_DIR", "GIT_WORK_TREE", "SSH_AUTH_SOCK", "DISPLAY",
          "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "BROWSER"}


def base_env(home: Path, extra_path: list[Path] | None = None) -> dict[str, str]:
    """A clean environment whose HOME and every per-user dir point inside ``home``."""
    home = Path(home).resolve()
    env = {k: v for k, v in os.environ.items()
           if k not in _SCRUB and not k.startswith(_SCRUB_PREFIXES)}
    dirs = {
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_RUNTIME_DIR": home / ".run",
        "NPM_CONFIG_PREFIX": home / ".npm-global",
        "NPM_CONFIG_CACHE": home / ".npm",
        "TMPDIR": home / "tmp",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (home / ".run").chmod(0o700)
    env.update({k: str(v) for k, v in dirs.items()})
    path = [str(p) for p in (extra_path or [])] + [
        str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    env.update({
        "HOME": str(home),
        "USER": env.get("USER", "agentd-test"),
        "PATH": os.pathsep.join(dict.fromkeys(path)),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "NPM_CONFIG_UPDATE_NOTIFIER": "false",
        # git inside the test repo must not read the real ~/.gitconfig
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "agentd test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "agentd test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    })
    return env


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")


# One JSON line per hook call: {"hook": NAME, "t": epoch, "argv": [...], "input": <stdin JSON>}.
# argv catches payloads passed as arguments (Codex's notify program gets its JSON as argv[1]).
_HOOK_LOGGER = (
    "import json,sys,time\n"
    "raw=sys.stdin.read() if not sys.stdin.isatty() else ''\n"
    "try: data=json.loads(raw) if raw.strip() else None\n"
    "except ValueError: data=raw\n"
    "rec={'hook':sys.argv[2],'t':time.time(),'argv':sys.argv[3:],'input':data}\n"
    "open(sys.argv[1],'a').write(json.dumps(rec)+'\\n')\n"
)


def hook_log_argv(log_file: Path, name: str) -> list[str]:
    """argv of a tiny program appending ``{"hook": name, "input": <stdin JSON>, "argv": [...]}``
    as one line to ``log_file`` (extra arguments end up in "argv")."""
    return [sys.executable, "-c", _HOOK_LOGGER, str(log_file), name]


def hook_log_command(log_file: Path, name: str) -> str:
    """:func:`hook_log_argv` as one shell command line."""
    return " ".join(shlex.quote(a) for a in hook_log_argv(log_file, name))


# --------------------------------------------------------------------------- Claude Code
def claude_env(
    home: Path,
    api_url: str,
    *,
    project_dirs: Iterable[Path] = (),
    version: str | None = None,
    api_key: str = FAKE_ANTHROPIC_KEY,
    model: str | None = None,
    idle_notification_ms: int | None = None,
) -> dict[str, str]:
    """Env for ``claude`` talking to a fake Messages API at ``api_url``.

    Writes ``<home>/.claude/.claude.json`` (the global config: onboarding done, theme set,
    the fake key approved, each of ``project_dirs`` trusted) and ``<home>/.claude/
    settings.json`` (user settings: no auto-update, no telemetry). ``CLAUDE_CONFIG_DIR``
    points at ``<home>/.claude``.
    """
    home = Path(home).resolve()
    env = base_env(home)
    cfg_dir = home / ".claude"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    projects = {
        str(Path(p).resolve()): {
            "allowedTools": [],
            "hasTrustDialogAccepted": True,
            "hasCompletedProjectOnboarding": True,
            "projectOnboardingSeenCount": 1,
            "hasClaudeMdExternalIncludesApproved": False,
            "hasClaudeMdExternalIncludesWarningShown": True,
        }
        for p in project_dirs
    }
    global_cfg: dict[str, Any] = {
        "numStartups": 1,
        "installMethod": "npm-global",
        "autoUpdates": False,
        "theme": "dark",
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": version or "2.1.330",
        "lastReleaseNotesSeen": version or "2.1.330",
        "hasSeenTasksHint": True,
        "hasAcknowledgedCostThreshold": True,
        "bypassPermissionsModeAccepted": False,
        "shiftEnterKeyBindingInstalled": True,
        "hasUsedBackslashReturn": True,
        "customApiKeyResponses": {"approved": [api_key[-20:]], "rejected": []},
        "projects": projects,
    }
    if idle_notification_ms is not None:
        # Notification(idle_prompt) fires this long after a turn ends (default 60 s)
        global_cfg["messageIdleNotifThresholdMs"] = idle_notification_ms
    _write_json(cfg_dir / ".claude.json", global_cfg)
    _write_json(cfg_dir / "settings.json", {
        "autoUpdates": False,
        "includeCoAuthoredBy": False,
        "env": {},
    })
    env.update({
        "CLAUDE_CONFIG_DIR": str(cfg_dir),
        "ANTHROPIC_BASE_URL": api_url,
        "ANTHROPIC_API_KEY": api_key,
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_BUG_COMMAND": "1",
        "DISABLE_GROWTHBOOK": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_DISABLE_FEATURE_FLAGS": "1",
        "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
        "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
        "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
        "CLAUDE_CODE_ENABLE_TELEMETRY": "0",
        "CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL": "1",
    })
    if model:
        env["ANTHROPIC_MODEL"] = model
    return env


def claude_hook_settings(log_file: Path, events: list[str]) -> dict[str, Any]:
    """A ``--settings`` document whose hooks append ``{"hook": NAME, "input": <stdin>}`` lines
    to ``log_file`` for each event in ``events``."""
    hooks: dict[str, Any] = {}
    for ev in events:
        hooks[ev] = [{"matcher": "", "hooks": [{"type": "command",
                                                "command": hook_log_command(log_file, ev),
                                                "timeout": 10}]}]
    return {"hooks": hooks}


# --------------------------------------------------------------------------- Codex
def _toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a valid TOML basic string


# Features whose startup work reaches for chatgpt.com / github.com (plugin sync runs
# `git ls-remote https://github.com/openai/plugins`, app/plugin listings, ...).
CODEX_FEATURES_OFF = ("plugins", "remote_plugin", "apps", "plugin_sharing", "tool_suggest",
                      "skill_mcp_dependency_install", "browser_use", "in_app_browser",
                      "computer_use", "image_generation", "daemon_auto_start")


def codex_env(
    home: Path,
    api_url: str,
    *,
    project_dirs: Iterable[Path] = (),
    api_key: str = FAKE_OPENAI_KEY,
    model: str = "gpt-fake-codex",
    notify: list[str] | None = None,
    approval_policy: str = "on-request",
    sandbox_mode: str = "workspace-write",
    hooks: dict[str, str] | None = None,
    tui_notifications: bool = True,
    codex_package_root: Path | None = None,
    codex_path_dir: Path | None = None,
) -> dict[str, str]:
    """Env for ``codex`` talking to a fake Responses API at ``api_url`` (which ends in /v1).

    Writes ``<home>/.codex/config.toml`` with a custom provider ``fake`` (wire_api responses),
    the approval policy, trusted ``project_dirs``, update checks off and ``notify`` if given.
    """
    home = Path(home).resolve()
    env = base_env(home)
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    base = api_url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    lines = [
        f"model = {_toml_str(model)}",
        'model_provider = "fake"',
        f"approval_policy = {_toml_str(approval_policy)}",
        f"sandbox_mode = {_toml_str(sandbox_mode)}",
        "check_for_update_on_startup = false",
        "hide_agent_reasoning = true",
    ]
    if notify:
        lines.append("notify = [" + ", ".join(_toml_str(a) for a in notify) + "]")
    if tui_notifications:
        # desktop notifications as OSC 9 escapes on the PTY, focus or not
        lines += ["", "[tui]", "notifications = true", 'notification_method = "osc9"',
                  'notification_condition = "always"']
    lines += [
        "",
        "[model_providers.fake]",
        'name = "Fake OpenAI"',
        f"base_url = {_toml_str(base)}",
        'env_key = "FAKE_OPENAI_API_KEY"',
        'wire_api = "responses"',
        "request_max_retries = 0",
        "stream_max_retries = 0",
        "stream_idle_timeout_ms = 30000",
        "",
        "[features]",
        *(f"{f} = false" for f in CODEX_FEATURES_OFF),
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[feedback]",
        "enabled = false",
        "",
        "[otel]",
        'exporter = "none"',
        "log_user_prompt = false",
    ]
    for p in project_dirs:
        lines += ["", f"[projects.{_toml_str(str(Path(p).resolve()))}]",
                  'trust_level = "trusted"']
    (codex_home / "config.toml").write_text("\n".join(lines) + "\n")
    if hooks:
        # Same schema as Claude Code's. Non-managed hooks only run once trusted: pass
        # --dangerously-bypass-hook-trust (or trust them through /hooks).
        _write_json(codex_home / "hooks.json", {"hooks": {
            ev: [{"hooks": [{"type": "command", "command": cmd, "timeout": 3}]}]
            for ev, cmd in hooks.items()}})
    env.update({
        "CODEX_HOME": str(codex_home),
        "FAKE_OPENAI_API_KEY": api_key,
        # belt and braces: anything falling back to the built-in "openai" provider hits the fake
        "OPENAI_API_KEY": api_key,
        "OPENAI_BASE_URL": base,
        "RUST_LOG": "warn",
    })
    if codex_package_root is not None:
        # what the npm wrapper (bin/codex.js) sets before exec'ing the native binary
        env["CODEX_MANAGED_BY_NPM"] = "1"
        env["CODEX_MANAGED_PACKAGE_ROOT"] = str(codex_package_root)
    if codex_path_dir is not None:  # bundled rg
        env["PATH"] = f"{codex_path_dir}{os.pathsep}{env['PATH']}"
    return env


def codex_config_args(notify: list[str] | None = None,
                      hooks: dict[str, str] | None = None) -> list[str]:
    """``-c key=value`` overrides setting ``notify`` and hooks for one invocation only.

    ``hooks`` maps an event name (SessionStart, UserPromptSubmit, PreToolUse,
    PermissionRequest, PostToolUse, Stop, SessionEnd, ...) to a shell command. Hooks only run
    with ``--dangerously-bypass-hook-trust`` (or after being trusted through /hooks).
    SessionEnd/Interrupt hook timeouts are clamped to 3 s by Codex, so 3 s is used for all.
    """
    args: list[str] = []
    if notify:
        args += ["-c", "notify=[" + ", ".join(_toml_str(a) for a in notify) + "]"]
    for ev, cmd in (hooks or {}).items():
        args += ["-c", f'hooks.{ev}=[{{hooks=[{{type="command", command={_toml_str(cmd)}, '
                       f"timeout=3}}]}}]"]
    return args


# --------------------------------------------------------------------------- PTY driver
class PtyAgent:
    """Runs one CLI in a fresh session on a pseudo-terminal (default 120x40) and keeps a
    screen model of it (pyte when importable, else an ANSI-stripped transcript).

    Answers the terminal queries the TUIs block on (cursor position, device attributes,
    default colours), as a real terminal would.
    """

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path,
                 cols: int = 120, rows: int = 40) -> None:
        self.argv, self.env, self.cwd = argv, env, Path(cwd)
        self.cols, self.rows = cols, rows
        self.pid: int | None = None
        self.fd: int | None = None
        self.raw = bytearray()
        self.exit_status: int | None = None
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._screen: Any = None
        self._stream: Any = None
        try:
            import pyte

            self._screen = pyte.Screen(cols, rows)
            self._stream = pyte.ByteStream(self._screen)
        except ImportError:
            pass

    # -- lifecycle
    def start(self) -> PtyAgent:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.close(master)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                if slave > 2:
                    os.close(slave)
                os.chdir(self.cwd)
                os.execve(self.argv[0], self.argv, self.env)
            except BaseException as e:  # noqa: BLE001 - report and die, never return
                os.write(2, f"exec failed: {e!r}\n".encode())
            finally:
                os._exit(127)
        os.close(slave)
        self.pid, self.fd = pid, master
        self._reader = threading.Thread(target=self._read_loop, name="pty-reader", daemon=True)
        self._reader.start()
        return self

    def _read_loop(self) -> None:
        assert self.fd is not None
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                self.raw += data
                if self._stream is not None:
                    self._stream.feed(data)
            self._answer_queries(data)

    _DSR = re.compile(rb"\x1b\[\??6n")
    _DA1 = re.compile(rb"\x1b\[0?c")
    _OSC_COLOR = re.compile(rb"\x1b\](1[01]);\?(?:\x07|\x1b\\)")

    def _answer_queries(self, data: bytes) -> None:
        out = b""
        for _ in self._DSR.finditer(data):
            with self._lock:
                if self._screen is not None:
                    y, x = self._screen.cursor.y + 1, self._screen.cursor.x + 1
                else:
                    y, x = 1, 1
            out += f"\x1b[{y};{x}R".encode()
        for m in self._OSC_COLOR.finditer(data):
            rgb = b"ffff/ffff/ffff" if m.group(1) == b"10" else b"0000/0000/0000"
            out += b"\x1b]" + m.group(1) + b";rgb:" + rgb + b"\x1b\\"
        for _ in self._DA1.finditer(data):
            out += b"\x1b[?62;22c"
        if out:
            self.send(out)

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        assert self.fd is not None
        os.write(self.fd, data)

    def type(self, text: str, delay: float = 0.02) -> None:
        """Types ``text`` one character at a time, like a person (pastes are detected)."""
        for ch in text:
            self.send(ch)
            time.sleep(delay)

    def alive(self) -> bool:
        if self.pid is None or self.exit_status is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.exit_status = os.waitstatus_to_exitcode(status)
        return False

    def wait_exit(self, timeout: float) -> bool:
        return poll(lambda: not self.alive(), timeout, 0.05)

    def session_pids(self) -> list[int]:
        """Every live process in the CLI's session (the session id is the CLI's pid)."""
        if self.pid is None:
            return []
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            # fields[0] is state, [3] is session id
            if fields[0] != "Z" and int(fields[3]) == self.pid:
                out.append(int(d))
        return out

    def kill(self, grace: float = 3.0) -> list[int]:
        """SIGTERM then SIGKILL the CLI and every process left in its session, each by pid.
        Returns the pids that had to be signalled."""
        signalled: list[int] = []
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.session_pids()
            if self.alive() and self.pid not in pids:
                pids.append(self.pid)  # type: ignore[arg-type]
            if not pids:
                break
            for p in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, sig)
                if p not in signalled:
                    signalled.append(p)
            poll(lambda: not (self.session_pids() or self.alive()), grace, 0.05)
        self.alive()
        return signalled

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        if self._reader is not None:
            self._reader.join(timeout=2)

    # -- screen
    def screen(self) -> str:
        """The screen as plain text (trailing blanks trimmed)."""
        with self._lock:
            if self._screen is not None:
                lines = [ln.rstrip() for ln in self._screen.display]
                while lines and not lines[-1]:
                    lines.pop()
                return "\n".join(lines)
            return strip_ansi(bytes(self.raw[-8000:]))

    def transcript(self) -> str:
        """Everything the CLI printed so far, escape sequences removed."""
        with self._lock:
            return strip_ansi(bytes(self.raw))

    def wait_for(self, pred: Callable[[], Any], timeout: float) -> Any:
        """Polls ``pred`` until it returns something truthy (returned) or ``timeout``
        (returns None). Stops early when the CLI exits."""
        found: list[Any] = [None]

        def done() -> bool:
            gone = not self.alive()  # first: pred then sees all the CLI printed
            found[0] = pred()
            return bool(found[0]) or gone

        poll(done, timeout, 0.1)
        return found[0] or None

    def wait_text(self, needle: str | re.Pattern[str], timeout: float) -> str | None:
        def found() -> str | None:
            s = self.screen()
            if isinstance(needle, str):
                return s if needle in s else None
            return s if needle.search(s) else None
        return self.wait_for(found, timeout)


_ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[P^_].*?\x1b\\"
                   rb"|\x1b[@-Z\\-_]|\x1b[()][0-9A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


def strip_ansi(data: bytes) -> str:
    return _ANSI.sub(b"", data.replace(b"\r\n", b"\n")).decode("utf-8", "replace")


def read_hook_log(path: Path) -> list[dict[str, Any]]:
    """The records :func:`hook_log_argv` appended to ``path`` so far."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def init_git_repo(path: Path, env: dict[str, str]) -> Path:
    """A fresh git repo with one commit at ``path`` (created)."""
    path.mkdir(parents=True, exist_ok=True)
    run = functools.partial(subprocess.run, cwd=path, env=env, check=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run(["git", "init", "-q", "-b", "main"])
    (path / "README.md").write_text("# scratch repo for a real-CLI test\n")
    run(["git", "add", "README.md"])
    run(["git", "commit", "-q", "-m", "init"])
    return path


def pids_with_env(key: str, value: str) -> list[int]:
    """Live processes (any session) whose environment has ``key=value``; finds whatever a
    CLI left running, daemons that called setsid included."""
    needle = f"{key}={value}".encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            env = Path(f"/proc/{d}/environ").read_bytes()
            state = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle in env.split(b"\0"):
            out.append(int(d))
    return out


def kill_pid(pid: int, grace: float = 3.0) -> None:
    """SIGTERM ``pid``, SIGKILL it if still there after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if poll(lambda: not alive(pid), grace, 0.05):
            return


def real_home_snapshot() -> dict[str, tuple[int, int]]:
    """(mtime_ns, size) of every file/dir under the real user's agent-CLI dirs, to prove a
    run wrote nothing there. ~/.npm/_cacache is skipped (big; other npm users write it)."""
    import pwd

    homes = {Path(pwd.getpwuid(os.getuid()).pw_dir), Path(os.environ.get("HOME", "/"))}
    snap: dict[str, tuple[int, int]] = {}
    for h in homes:
        for name in (".claude", ".claude.json", ".codex", ".npm", ".config/claude",
                     ".local/share/applications", ".cache/claude"):
            root = h / name
            if not root.exists():
                continue
            for dirpath, dirnames, filenames in os.walk(root):
                if "_cacache" in dirnames:
                    dirnames.remove("_cacache")
                for n in [dirpath, *(os.path.join(dirpath, f) for f in filenames)]:
                    with contextlib.suppress(OSError):
                        st = os.lstat(n)
                        snap[n] = (st.st_mtime_ns, st.st_size)
    return snap


def snapshot_diff(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
                  ) -> list[str]:
    out = [f"+ {p}" for p in sorted(after.keys() - before.keys())]
    out += [f"- {p}" for p in sorted(before.keys() - after.keys())]
    out += [f"~ {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return out


_JAIL_SCRIPT = ('mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts '
                '&& shift 2 && exec "$@"')


def dns_jail_prefix(work_dir: Path) -> list[str] | None:
    """argv prefix running the CLI in a private mount namespace whose /etc/resolv.conf
    names only 127.0.0.1 and whose /etc/hosts only knows localhost, so any name lookup the
    CLI makes goes to 127.0.0.1 (and fails) instead of the machine's resolver.

    Codex 0.169 resolves raw.githubusercontent.com at every TUI start (announcement tip,
    no config switch, proxy ignored); this keeps that on loopback. Needs root or
    unprivileged user namespaces (then ``unshare -r``); returns None if neither works.
    """
    exe = shutil.which("unshare")
    if exe is None:
        return None
    work_dir.mkdir(parents=True, exist_ok=True)
    resolv, hosts = work_dir / "resolv.conf", work_dir / "hosts"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    hosts.write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
    for extra in ([], ["--map-root-user"]):
        prefix = [exe, "--mount", *extra, "--", "/bin/sh", "-c", _JAIL_SCRIPT, "sh",
                  str(resolv), str(hosts)]
        probe = subprocess.run([*prefix, "/bin/cat", "/etc/resolv.conf"],
                               capture_output=True, text=True, timeout=10)
        if probe.returncode == 0 and "127.0.0.1" in probe.stdout:
            return prefix
    return None


def strace_prefix(out_file: Path) -> list[str]:
    """argv prefix recording every connect()/send*() of the CLI and its children (needs
    strace); AGENTD_STRACE_SET overrides the -e expression."""
    exe = shutil.which("strace")
    if exe is None:
        raise RuntimeError("strace not installed (apt-get install strace)")
    what = os.environ.get("AGENTD_STRACE_SET", "trace=connect,sendto,sendmsg,sendmmsg")
    return [exe, "-f", "-qq", "-s", "128", "-e", what, "-o", str(out_file)]


_CONNECT = re.compile(r'(?:connect|sendto|sendmsg|sendmmsg)\(\d+, .{0,400}?'
                      r'\{sa_family=(AF_INET6?|AF_UNIX)[^}]*?'
                      r'(?:sin6?_addr=inet_pton\(AF_INET6?, "([^"]+)"\)|'
                      r'inet_addr\("([^"]+)"\)|sun_path="([^"]*)")')


def strace_connects(out_file: Path) -> dict[str, int]:
    """Count of connect() targets in an strace log: "inet 127.0.0.1", "unix /path" ..."""
    counts: dict[str, int] = {}
    try:
        text = Path(out_file).read_text(errors="replace")
    except FileNotFoundError:
        return counts
    for m in _CONNECT.finditer(text):
        fam, a6, a4, path = m.groups()
        key = f"unix {path}" if fam == "AF_UNIX" else f"inet {a6 or a4}"
        counts[key] = counts.get(key, 0) + 1
    return counts


_SEND_BUF = re.compile(r'send(?:to|msg|mmsg)\(\d+, (?:\[?\{msg_hdr=\{.*?iov_base=)?'
                       r'"((?:[^"\\]|\\.)*)"')


def strace_dns_names(out_file: Path) -> list[str]:
    """Host names the traced processes asked a DNS server for (decoded from the query
    packets in an strace log made with :func:`strace_prefix`)."""
    import codecs

    try:
        text = Path(out_file).read_text(errors="replace")
    except FileNotFoundError:
        return []
    names: set[str] = set()
    for m in _SEND_BUF.finditer(text):
        raw = codecs.escape_decode(m.group(1).encode())[0]
        q, labels, i = raw[12:], [], 0
        while i < len(q) and 0 < q[i] < 64:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        if len(labels) > 1 and i < len(q) and q[i] == 0:
            names.add(".".join(labels))
    return sorted(names)


def non_loopback(connects: dict[str, int]) -> list[str]:
    return [k for k in connects if k.startswith("inet ") and not (
        k.startswith("inet 127.") or k in ("inet ::1", "inet ::ffff:127.0.0.1"))]
