#!/usr/bin/env python3
"""Drive the REAL Codex CLI offline, in a PTY, against tests/fakes/openai_api.py.

    .venv/bin/python tests/realcli/try_codex.py [--scenario text|approval|both] [--repeat N]

Scenario "text": prompt -> one text turn -> turn complete. Scenario "approval": the fake
model calls exec_command with sandbox_permissions=require_escalated, Codex asks for
approval, we answer "y", the command runs, a text turn ends the turn.

One run:
  1. installs the pinned CLI if needed (tests/realcli/install.py);
  2. starts FakeOpenAI; writes an isolated HOME + CODEX_HOME/config.toml (custom provider
     "fake" -> the fake's /v1, wire_api responses, approval on-request, project trusted,
     TUI notifications as OSC 9);
  3. spawns ``codex --no-daemon --strict-config --dangerously-bypass-hook-trust
     -c notify=[..] -c hooks.X=[..] "<prompt>"`` in a 120x40 PTY (cwd: a fresh git repo),
     inside a mount namespace whose resolver is 127.0.0.1 (env.dns_jail_prefix). notify and
     hooks are set per invocation with -c; no user settings file is written;
  4. (approval) waits for the approval screen + PermissionRequest hook + OSC 9
     "Approval requested: ...", answers "y";
  5. waits for the Stop hook, the notify program's agent-turn-complete JSON for the main
     thread and the OSC 9 turn-complete notification;
  6. types /exit, waits for exit + SessionEnd hook, kills by pid whatever is left.

Exit status 0 when every expectation held. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import re
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

from fakes.openai_api import FakeOpenAI, shell_call, turn_metadata  # noqa: E402

HOOK_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest",
               "PostToolUse", "Stop", "Interrupt", "SessionEnd"]
APPROVAL_TEXT = "Would you like to run the following command?"
OSC9 = re.compile(rb"\x1b\]9;([^\x07\x1b]*)(?:\x07|\x1b\\)")


class Step:
    def __init__(self) -> None:
        self.t0 = self.last = time.monotonic()
        self.marks: list[tuple[str, float]] = []

    def mark(self, what: str) -> None:
        now = time.monotonic()
        self.marks.append((what, now - self.last))
        print(f"[{now - self.t0:6.2f}s] (+{now - self.last:5.2f}s) {what}", flush=True)
        self.last = now


def records(log: Path, name: str, **match: str) -> list[dict]:
    return [h for h in E.read_hook_log(log) if h["hook"] == name and all(
        (h.get("input") or {}).get(k) == v for k, v in match.items())]


def notify_payloads(log: Path) -> list[dict]:
    out = []
    for h in records(log, "notify"):
        try:
            out.append(json.loads(h["argv"][-1]))
        except (ValueError, IndexError):
            out.append({"unparsed": h.get("argv")})
    return out


def osc9(agent: E.PtyAgent) -> list[str]:
    return [m.decode("utf-8", "replace") for m in OSC9.findall(bytes(agent.raw))]


def show(agent: E.PtyAgent, title: str) -> None:
    print(f"----- screen: {title} " + "-" * max(0, 100 - len(title)))
    print(agent.screen())
    print("-" * 120, flush=True)


class _Abort(Exception):
    pass


def run_once(args: argparse.Namespace, paths: dict[str, Path], scenario: str) -> dict:
    st = Step()
    failures: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="agentd-realcodex-"))
    home, repo = base / "home", base / "repo"
    log = base / "hooks.jsonl"
    before = E.real_home_snapshot()

    if scenario == "approval":
        turns: list = [shell_call("touch hello.txt", escalate=True,
                                  justification="Create hello.txt?"), "Created hello.txt."]
        prompt = "Please create an empty file named hello.txt"
    else:
        turns = ["Hello from the fake model."]
        prompt = "Say hello"
    api = FakeOpenAI(turns=turns).start()
    env = E.codex_env(home, api.url, project_dirs=[repo],
                      codex_package_root=paths["codex_package_root"],
                      codex_path_dir=paths["codex_path_dir"])
    E.init_git_repo(repo, env)
    argv = [str(paths["codex"]), "--no-daemon", "--strict-config",
            "--dangerously-bypass-hook-trust",
            *E.codex_config_args(notify=E.hook_log_argv(log, "notify"),
                                 hooks={ev: E.hook_log_command(log, ev) for ev in HOOK_EVENTS}),
            prompt]
    if not args.no_dns_jail:
        jail = E.dns_jail_prefix(base / "jail")
        if jail is None:
            print("WARNING: cannot make a mount namespace (no root, no user namespaces): "
                  "codex will resolve raw.githubusercontent.com through the real resolver")
        else:
            argv = jail + argv
    trace = base / "connect.strace"
    if args.strace:
        argv = E.strace_prefix(trace) + argv
    st.mark(f"[{scenario}] fake API at {api.url}; temp dir {base}")

    agent = E.PtyAgent(argv, env, repo, cols=120, rows=40).start()
    spawn_wall = time.time()
    st.mark(f"spawned codex pid {agent.pid}")
    session_id = None
    try:
        if agent.wait_for(lambda: records(log, "SessionStart"), args.timeout):
            session_id = records(log, "SessionStart")[0]["input"]["session_id"]
            st.mark(f"SessionStart hook fired (session {session_id})")
        else:
            failures.append("no SessionStart hook")

        if scenario == "approval":
            ok = agent.wait_for(lambda: APPROVAL_TEXT in agent.screen()
                                and records(log, "PermissionRequest"), args.timeout)
            if not ok:
                failures.append("no approval prompt + PermissionRequest hook")
                show(agent, "timeout waiting for approval prompt")
                raise _Abort
            st.mark("approval prompt on screen + PermissionRequest hook fired")
            if agent.wait_for(lambda: any(m.startswith("Approval requested") for m in osc9(agent)),
                              5):
                st.mark("OSC 9 'Approval requested' seen on the PTY")
            else:
                failures.append("no OSC 9 approval notification")
            show(agent, "approval prompt")
            agent.send(args.answer)
            st.mark(f"answered with {args.answer!r}")

        def main_notify() -> list[dict]:
            return [p for p in notify_payloads(log) if p.get("type") == "agent-turn-complete"
                    and p.get("thread-id") == session_id]

        if agent.wait_for(lambda: records(log, "Stop"), args.timeout):
            st.mark("Stop hook fired (turn ended)")
        else:
            failures.append("no Stop hook")
        if agent.wait_for(main_notify, args.timeout):
            st.mark("notify program got agent-turn-complete for the main thread")
        else:
            failures.append("no agent-turn-complete notify for the main thread")
        want = turns[-1]
        if agent.wait_for(lambda: want in osc9(agent), 5):
            st.mark(f"OSC 9 turn-complete notification {want!r} seen on the PTY")
        else:
            failures.append("no OSC 9 turn-complete notification")
        if scenario == "approval" and not (repo / "hello.txt").exists():
            failures.append("hello.txt was not created")
        show(agent, "after the turn")

        agent.type("/exit")
        time.sleep(0.3)
        agent.send("\r")
        if agent.wait_exit(args.exit_timeout):
            st.mark(f"codex exited by itself after /exit, status {agent.exit_status}")
        else:
            failures.append("codex did not exit after /exit")
            for keys in ("\x03", "\x03", "\x04"):
                agent.send(keys)
                if agent.wait_exit(3):
                    break
            st.mark(f"after Ctrl-C/Ctrl-D: alive={agent.alive()}")
        if agent.wait_for(lambda: records(log, "SessionEnd"), 5):
            st.mark("SessionEnd hook fired")
        else:
            failures.append("no SessionEnd hook")
        out = agent.transcript()
        i = out.rfind("Token usage")
        if i >= 0:
            print("printed on exit:", *out[i:].strip().splitlines(), sep="\n    ")
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

    print(f"\n===== [{scenario}] hook + notify events, in order (t relative to spawn) =====")
    for h in E.read_hook_log(log):
        payload = h.get("input") if h["hook"] != "notify" else json.loads(h["argv"][-1])
        print(f"+{h['t'] - spawn_wall:6.2f}s {h['hook']}: {json.dumps(payload)}")
    print("OSC 9 notifications on the PTY:", osc9(agent))
    print(f"\n===== [{scenario}] API requests =====")
    for r in api.log:
        src = turn_metadata(r.headers, r.body).get("thread_source")
        extra = f" turn={r.turn}" if r.turn is not None else ""
        print(f"{r.method} {r.path} kind={r.kind}{extra} thread_source={src}")
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
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return {"scenario": scenario, "failures": failures, "marks": st.marks,
            "total": time.monotonic() - st.t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=None, help="CLI cache dir (install.py)")
    ap.add_argument("--scenario", choices=["text", "approval", "both"], default="both")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--answer", default="y",
                    help='keys answering the approval: y (Yes), enter, esc (No, abort turn), '
                         'or any string with \\x escapes')
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--exit-timeout", type=float, default=15.0)
    ap.add_argument("--strace", action="store_true",
                    help="run under strace -e connect and fail on non-loopback connects")
    ap.add_argument("--no-dns-jail", action="store_true",
                    help="don't confine codex's name lookups to 127.0.0.1 (see env.py)")
    args = ap.parse_args()
    args.answer = {"enter": "\r", "esc": "\x1b"}.get(
        args.answer, args.answer.encode().decode("unicode_escape"))

    t = time.monotonic()
    try:
        paths = install.ensure_installed(args.cache)
    except install.InstallError as e:
        print(f"try_codex.py: {e}", file=sys.stderr)
        return 2
    print(f"codex {install.CODEX_VERSION}: {paths['codex']} "
          f"(install check {time.monotonic() - t:.2f}s)")

    scenarios = ["text", "approval"] if args.scenario == "both" else [args.scenario]
    results = []
    for i in range(args.repeat):
        for sc in scenarios:
            print(f"\n################ run {i + 1}/{args.repeat}: {sc} ################")
            results.append(run_once(args, paths, sc))
    print("\n===== summary =====")
    bad = 0
    for r in results:
        status = "OK" if not r["failures"] else "FAIL: " + "; ".join(r["failures"])
        bad += bool(r["failures"])
        print(f"{r['scenario']:8s} {r['total']:6.2f}s {status}")
        for what, d in r["marks"][1:]:
            print(f"      +{d:5.2f}s  {what}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
