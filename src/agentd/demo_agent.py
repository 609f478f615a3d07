"""The demo agent: a small instrumented agent that behaves like a real one in a terminal.

It streams coloured output, edits a file in its worktree and commits it, reports its
thread, token usage and events over AGENTD_SOCKET (append_session_events), asks a yes/no
question and waits for the answer, then exits. It is the reference example of an
instrumented agent: everything it reports, any program can report the same way.

    python -m agentd.demo_agent [--steps N] [--delay S] [--exit-code N] [--no-question]
                                [--no-commit] PROMPT...
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GREEN, CYAN, YELLOW, DIM, BOLD, RESET = (
    "\x1b[32m", "\x1b[36m", "\x1b[33m", "\x1b[2m", "\x1b[1m", "\x1b[0m")


class Reporter:
    """Sends events to agentd when running under it; silent otherwise."""

    def __init__(self) -> None:
        self.conn: Any = None
        sock = os.environ.get("AGENTD_SOCKET")
        self.session = os.environ.get("AGENTD_SESSION_ID")
        if sock and self.session:
            try:
                from agentd.protocol.connection import Connection

                self.conn = Connection.open(Path(sock), timeout=10)
            except OSError:
                self.conn = None

    def send(self, *events: dict[str, Any]) -> None:
        if self.conn is None:
            return
        try:
            self.conn.request("append_session_events",
                              {"session": self.session, "events": list(events)})
        except Exception:  # noqa: BLE001 - an agent keeps working if reporting fails
            pass


def say(text: str, delay: float) -> None:
    sys.stdout.write(text + "\r\n")
    sys.stdout.flush()
    time.sleep(delay)


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="demo-agent")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--delay", type=float, default=0.3)
    ap.add_argument("--exit-code", type=int, default=0)
    ap.add_argument("--no-question", action="store_true")
    ap.add_argument("--no-commit", action="store_true")
    ap.add_argument("prompt", nargs="*")
    a = ap.parse_args(argv)
    prompt = " ".join(a.prompt) or "improve the project"
    rep = Reporter()
    rep.send({"kind": "message", "attention": "info", "summary": "prompt received",
              "data": {"role": "user", "content": prompt}})

    say(f"{BOLD}demo-agent{RESET} {DIM}(agentd's instrumented example agent){RESET}", 0)
    say(f"{CYAN}>{RESET} {prompt}", a.delay)
    for i in range(1, a.steps + 1):
        say(f"{YELLOW}●{RESET} step {i}/{a.steps}: reading the code {DIM}"
            f"({'.' * i}){RESET}", a.delay)
    notes = Path("DEMO_NOTES.md")
    with notes.open("a") as f:
        f.write(f"- {time.strftime('%Y-%m-%d %H:%M:%S')}: {prompt}\n")
    say(f"{GREEN}✎{RESET} edited {notes}", a.delay)
    rep.send({"kind": "tool_call", "attention": "info", "summary": f"edited {notes}",
              "data": {"tool": "edit", "path": str(notes)}})
    if not a.no_commit:
        git("add", str(notes))
        git("-c", "user.name=demo-agent", "-c", "user.email=demo@agentd.invalid",
            "commit", "-q", "-m", f"demo: {prompt[:60]}")
        say(f"{GREEN}✔{RESET} committed the change", a.delay)
        rep.send({"kind": "artifact", "attention": "info", "summary": f"notes: {notes}",
                  "data": {"type": "report", "path": str(notes)}})
    rep.send({"kind": "usage", "attention": "info", "summary": "token usage",
              "data": {"model": "demo-1", "tokens_in": 1200 + 50 * len(prompt),
                       "tokens_out": 340, "cost_usd": 0.012}})

    if not a.no_question:
        rep.send({"kind": "waiting", "attention": "action",
                  "summary": "asks: keep the change? [y/n]", "data": {}})
        sys.stdout.write(f"{BOLD}? Keep the change? [y/n] {RESET}")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        rep.send({"kind": "resumed", "attention": "info", "summary": f"answered {answer!r}",
                  "data": {"answer": answer}})
        say(f"{GREEN}kept{RESET}" if answer.startswith("y") else f"{YELLOW}noted{RESET}", 0)
    say(f"{BOLD}done{RESET}: {prompt}", 0)
    rep.send({"kind": "result", "attention": "notice", "summary": f"done: {prompt[:60]}",
              "data": {"role": "assistant", "content": f"done: {prompt}"}})
    return a.exit_code


if __name__ == "__main__":
    sys.exit(main())
