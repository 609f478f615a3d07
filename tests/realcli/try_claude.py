#!/usr/bin/env python3
"""Drive the REAL Claude Code CLI offline, in a PTY, against tests/fakes/anthropic_api.py.

    .venv/bin/python tests/realcli/try_claude.py [--repeat N] [--keep] [--tool bash|write]
        [--answer 1|enter|4|esc] [--no-notification-wait] [--idle-ms MS] [--strace]

One run:
  1. installs the pinned CLI if needed (tests/realcli/install.py);
  2. starts FakeAnthropic scripted with [Bash("touch hello.txt") or Write(hello.txt),
     "Created hello.txt."];
  3. makes an isolated HOME + CLAUDE_CONFIG_DIR and a fresh git repo under a temp dir;
  4. spawns ``claude --settings <file> --permission-mode manual "<prompt>"`` in a 120x40
     PTY, inside a mount namespace whose resolver is 127.0.0.1 (env.dns_jail_prefix). The
     --settings file only holds hooks (SessionStart, UserPromptSubmit, PreToolUse,
     PermissionRequest, PermissionDenied, Notification, PostToolUse, PostToolUseFailure,
     Stop, StopFailure, SessionEnd), each appending its stdin JSON to hooks.jsonl;
  5. waits for the permission prompt on screen + the PermissionRequest hook, then for the
     Notification hook (notification_type "permission_prompt", fires ~6 s later);
  6. answers "1" (Yes), waits for the Stop hook and hello.txt, then for the
     Notification(idle_prompt) hook (after messageIdleNotifThresholdMs, set to 1 s here);
  7. types /exit, waits for the process to exit and the SessionEnd hook;
  8. kills by pid anything still alive in the CLI's session or carrying its HOME;
  9. prints the hook events in order with their JSON, the API requests and timings.

Exit status 0 when every expectation held. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))  # the repo, for tests.fakes

import env as E  # noqa: E402
import install  # noqa: E402

from fakes.anthropic_api import FakeAnthropic, bash, write  # noqa: E402

HOOK_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest",
               "PermissionDenied", "Notification", "PostToolUse", "PostToolUseFailure", "Stop",
               "StopFailure", "SessionEnd"]
PROMPT = "Please create an empty file named hello.txt"
# Bash: "Do you want to proceed?"; Write: "Do you want to create hello.txt?"; both list
# "❯ 1. Yes" ... and end with "Esc to cancel · Tab to amend".
PERMISSION_TEXT = "Do you want to "
PERMISSION_FOOTER = "Esc to cancel"


class Step:
    def __init__(self, verbose: bool) -> None:
        self.t0 = time.monotonic()
        self.last = self.t0
        self.verbose = verbose
        self.marks: list[tuple[str, float, float]] = []

    def mark(self, what: str) -> None:
        now = time.monotonic()
        self.marks.append((what, now - self.last, now - self.t0))
        print(f"[{now - self.t0:6.2f}s] (+{now - self.last:5.2f}s) {what}", flush=True)
        self.last = now


def hooks_named(log: Path, name: str, **match: str) -> list[dict]:
    return [h for h in E.read_hook_log(log) if h["hook"] == name and all(
        (h.get("input") or {}).get(k) == v for k, v in match.items())]


def show(agent: E.PtyAgent, title: str) -> None:
    print(f"----- screen: {title} " + "-" * max(0, 100 - len(title)))
    print(agent.screen())
    print("-" * 120, flush=True)


def run_once(args: argparse.Namespace, paths: dict[str, Path]) -> dict:
    st = Step(args.verbose)
    failures: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="agentd-realclaude-"))
    home, repo = base / "home", base / "repo"
    hook_log = base / "hooks.jsonl"
    before = E.real_home_snapshot()

    first = (write(str(repo.resolve() / "hello.txt"), "hello\n") if args.tool == "write"
             else bash("touch hello.txt", "Create hello.txt"))
    api = FakeAnthropic(turns=[first, "Created hello.txt."]).start()
    env = E.claude_env(home, api.url, project_dirs=[repo],
                       version=install.CLAUDE_CODE_VERSION,
                       idle_notification_ms=args.idle_ms)
    E.init_git_repo(repo, env)
    settings = base / "session-settings.json"
    settings.write_text(json.dumps(E.claude_hook_settings(hook_log, HOOK_EVENTS), indent=2))
    argv = [str(paths["claude"]), "--settings", str(settings),
            "--permission-mode", "manual", PROMPT]
    if not args.no_dns_jail:
        jail = E.dns_jail_prefix(base / "jail")
        if jail is None:
            print("WARNING: no mount namespace (no root, no user namespaces): running "
                  "claude with the machine's resolver")
        else:
            argv = jail + argv
    trace = base / "connect.strace"
    if args.strace:
        argv = E.strace_prefix(trace) + argv
    st.mark(f"fake API at {api.url}; temp dir {base}")

    agent = E.PtyAgent(argv, env, repo, cols=120, rows=40).start()
    spawn_wall = time.time()
    st.mark(f"spawned claude pid {agent.pid}")
    result: dict = {"base": str(base)}
    try:
        # -- 1. permission prompt
        def prompt_up() -> bool:
            scr = agent.screen()
            return (PERMISSION_TEXT in scr and PERMISSION_FOOTER in scr
                    and bool(hooks_named(hook_log, "PermissionRequest")))

        ok = agent.wait_for(prompt_up, args.timeout)
        if not ok:
            failures.append("no permission prompt + PermissionRequest hook")
            show(agent, "timeout waiting for permission prompt")
            raise _Abort
        st.mark("permission prompt on screen + PermissionRequest hook fired")
        show(agent, "permission prompt")
        if not args.no_notification_wait:
            if agent.wait_for(lambda: hooks_named(hook_log, "Notification",
                                                  notification_type="permission_prompt"),
                              args.timeout):
                st.mark("Notification hook (permission_prompt) fired")
            else:
                failures.append("no Notification(permission_prompt) hook")

        # -- 2. answer it
        agent.send(args.answer)
        st.mark(f"answered the prompt with {args.answer!r}")
        if agent.wait_for(lambda: hooks_named(hook_log, "Stop"), args.timeout):
            st.mark("Stop hook fired (turn ended)")
        else:
            failures.append("no Stop hook")
        if args.idle_ms is not None:
            if agent.wait_for(lambda: hooks_named(hook_log, "Notification",
                                                  notification_type="idle_prompt"),
                              args.idle_ms / 1000 + 10):
                st.mark("Notification hook (idle_prompt) fired")
            else:
                failures.append("no Notification(idle_prompt) hook")
        if not (repo / "hello.txt").exists():
            failures.append("hello.txt was not created")
        show(agent, "after the turn")

        # -- 3. exit cleanly
        agent.type("/exit")
        time.sleep(0.3)
        agent.send("\r")
        if agent.wait_exit(args.exit_timeout):
            st.mark(f"claude exited by itself after /exit, status {agent.exit_status}")
        else:
            failures.append("claude did not exit after /exit")
            for keys in ("\x03", "\x03", "\x04"):
                agent.send(keys)
                if agent.wait_exit(3):
                    break
            st.mark(f"after Ctrl-C/Ctrl-D: alive={agent.alive()}")
        if agent.wait_for(lambda: hooks_named(hook_log, "SessionEnd"), 5):
            st.mark("SessionEnd hook fired")
        else:
            failures.append("no SessionEnd hook")
    except _Abort:
        pass
    finally:
        killed = agent.kill()
        strays = E.pids_with_env("HOME", str(home.resolve()))
        for pid in strays:
            E.kill_pid(pid)
        agent.close()
        api.stop()
        st.mark(f"cleanup: signalled {killed or 'nothing'}; strays with our HOME: "
                f"{strays or 'none'}")
    if strays:
        failures.append(f"processes left behind: {strays}")

    # -- report
    print("\n===== hook events, in order (t relative to spawn) =====")
    for h in E.read_hook_log(hook_log):
        inp = h.get("input") or {}
        print(f"+{h['t'] - spawn_wall:6.2f}s {h['hook']}: {json.dumps(inp)}")
    print("\n===== API requests =====")
    for r in api.log:
        extra = f" turn={r.turn}" if r.turn is not None else ""
        print(f"{r.method} {r.path} kind={r.kind}{extra}")
    if args.strace:
        conns = E.strace_connects(trace)
        print("\n===== connect() targets (strace) =====")
        for k, n in sorted(conns.items()):
            print(f"{n:4d} x {k}")
        print("DNS names looked up (answered by nobody: resolver is 127.0.0.1 in the jail):",
              E.strace_dns_names(trace) or "none")
        if E.non_loopback(conns):
            failures.append(f"non-loopback connects: {E.non_loopback(conns)}")
    diff = E.snapshot_diff(before, E.real_home_snapshot())
    if diff:
        print("\nWARNING: real HOME changed during the run (another process?):")
        print("\n".join(diff[:20]))
    result.update(failures=failures, marks=st.marks,
                  total=time.monotonic() - st.t0, real_home_changes=diff)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return result


class _Abort(Exception):
    pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=None, help="CLI cache dir (install.py)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--tool", choices=["bash", "write"], default="bash",
                    help="tool the fake model calls: Bash(touch hello.txt) or Write(hello.txt)")
    ap.add_argument("--answer", default="1",
                    help='keys answering the prompt: 1 (Yes), enter, 4 (No), esc, or any '
                         'string with \\x escapes')
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--exit-timeout", type=float, default=15.0)
    ap.add_argument("--no-notification-wait", action="store_true",
                    help="answer as soon as PermissionRequest fired")
    ap.add_argument("--idle-ms", type=int, default=1000,
                    help="messageIdleNotifThresholdMs; wait for Notification(idle_prompt) "
                         "after Stop (-1: leave Claude's default and don't wait)")
    ap.add_argument("--strace", action="store_true",
                    help="run under strace -e connect and fail on non-loopback connects")
    ap.add_argument("--no-dns-jail", action="store_true",
                    help="don't confine name lookups to 127.0.0.1 (see env.dns_jail_prefix)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    args.answer = {"enter": "\r", "esc": "\x1b"}.get(
        args.answer, args.answer.encode().decode("unicode_escape"))
    if args.idle_ms < 0:
        args.idle_ms = None

    t = time.monotonic()
    try:
        paths = install.ensure_installed(args.cache)
    except install.InstallError as e:
        print(f"try_claude.py: {e}", file=sys.stderr)
        return 2
    print(f"claude {install.CLAUDE_CODE_VERSION}: {paths['claude']} "
          f"(install check {time.monotonic() - t:.2f}s)")
    os.environ.pop("CLAUDECODE", None)

    results = []
    for i in range(args.repeat):
        print(f"\n################ run {i + 1}/{args.repeat} ################")
        results.append(run_once(args, paths))
    print("\n===== summary =====")
    bad = 0
    for i, r in enumerate(results):
        status = "OK" if not r["failures"] else "FAIL: " + "; ".join(r["failures"])
        bad += bool(r["failures"])
        print(f"run {i + 1}: {r['total']:6.2f}s {status}")
        for what, d, _ in r["marks"][1:]:
            print(f"      +{d:5.2f}s  {what}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
