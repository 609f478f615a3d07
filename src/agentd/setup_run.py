"""`python -m agentd.setup_run --result FILE --command CMD ... -- AGENT ARGV`: a new
worktree's setup commands (docs/artifacts.md, "A worktree ready to work in"), run in the
session's PTY before the agent, which then replaces this process (same pid, same PTY).

The daemon puts this in front of the agent's command line when config names setup
commands, so setup needs nothing of the session worker: its output is the session's
output (in the log, on an attached terminal), `agent kill` stops it like the agent, and
the daemon's event loop never waits for it. Each command runs with `sh -c` in the
worktree, stdin from /dev/null, stdout and stderr through a pipe into the PTY. Progress
goes to the daemon as `setup` events (started, done, failed); a failing command writes
FILE (exit code and the last lines of output) and exits with its exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from agentd.errors import AgentdError
from agentd.protocol.connection import Connection

TAIL_LINES = 10


def report(event: dict[str, Any]) -> None:
    """Best effort: a setup event to the daemon (it may be down)."""
    sock, session = os.environ.get("AGENTD_SOCKET"), os.environ.get("AGENTD_SESSION_ID")
    if not sock or not session:
        return
    try:
        with Connection.open(sock, timeout=5) as conn:
            conn.request("append_session_events", {"session": session, "events": [event]})
    except (OSError, AgentdError):
        pass


def run(command: str, out: Any) -> tuple[int, list[str]]:
    """Run one command, its output copied to `out`; (exit code, last lines)."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    proc = subprocess.Popen(["sh", "-c", command], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    partial = b""
    while block := os.read(proc.stdout.fileno(), 65536):
        out.write(block)  # the PTY turns \n into \r\n
        out.flush()
        partial += block
        *lines, partial = partial.split(b"\n")
        tail.extend(line.decode(errors="replace").rstrip("\r") for line in lines)
    if partial:
        tail.append(partial.decode(errors="replace"))
    code = proc.wait()
    return (128 - code if code < 0 else code), [line for line in tail if line.strip()]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--" not in args:
        print("usage: python -m agentd.setup_run --result FILE --command CMD ... -- ARGV",
              file=sys.stderr)
        return 2
    head, agent = args[: args.index("--")], args[args.index("--") + 1:]
    result, commands = None, []
    for flag, value in zip(head[::2], head[1::2], strict=True):
        if flag == "--result":
            result = Path(value)
        elif flag == "--command":
            commands.append(value)
    out = sys.stdout.buffer
    for command in commands:
        out.write(f"\x1b[2magentd: setup: {command}\x1b[0m\n".encode())
        out.flush()
        report({"kind": "setup", "summary": f"setup: {command}"[:500],
                "data": {"phase": "started", "command": command}})
        started = time.monotonic()
        code, tail = run(command, out)
        seconds = round(time.monotonic() - started, 3)
        if code != 0:
            last = tail[-1] if tail else "no output"
            summary = f"setup failed (exit {code}): {command}: {last}"
            if result is not None:
                result.write_text(json.dumps({"command": command, "exit_code": code,
                                              "tail": tail, "seconds": seconds}))
            report({"kind": "setup", "attention": "action", "summary": summary[:500],
                    "data": {"phase": "failed", "command": command, "exit_code": code,
                             "tail": tail, "seconds": seconds}})
            out.write(f"\x1b[31magentd: {summary}\x1b[0m\n".encode())
            out.flush()
            return code
        report({"kind": "setup", "summary": f"setup done in {seconds:g}s: {command}"[:500],
                "data": {"phase": "done", "command": command, "seconds": seconds}})
    if not agent:
        return 0
    try:
        os.execvp(agent[0], agent)
    except OSError as e:
        print(f"agentd: cannot run {agent[0]}: {e.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
