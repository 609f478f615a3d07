"""`agent run`: start a task (and, when config names setup commands, wait for them: a
spinner on a terminal, quiet otherwise)."""

from __future__ import annotations

import os
import sys

from agentd.client import format as fmt
from agentd.client.commands import print_json
from agentd.errors import UsageError
from agentd.protocol.views import TaskView

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ENDED = ("completed", "failed", "killed", "lost")


def cmd_run(a: Namespace, api: AgentdClient) -> int:
    if a.task:
        given = [f"--{k}" for k in ("name", "base", "workspace") if getattr(a, k)]
        if given:
            raise UsageError(f"--task adds a session to an existing task (its worktree, "
                             f"branch and base); drop {', '.join(given)}")
        from agentd.client.commands.resume import start

        return start(a, api, a.task, a.agent, resume=False)
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError):
        size = os.terminal_size((120, 40))  # not a terminal: a roomy default
    reply = api.create_task_reply(
        name=a.name, agent=a.agent, base=a.base,
        workspace=os.path.abspath(a.workspace or os.getcwd()), prompt=a.prompt,
        env=dict(os.environ), cols=min(max(size.columns, 1), 1000),
        rows=min(max(size.lines, 1), 1000))
    task, start_error = TaskView.from_wire(reply), reply.get("start_error")
    setup: list[str] = reply.get("setup") or []
    if a.json:
        print_json({**task.to_wire(), "start_error": start_error, "setup": setup,
                    "included": reply.get("included") or []})
    else:
        print(f"started {task.name}\n"
              f"  agent     {task.agent}\n"
              f"  branch    {task.branch} (from {task.base})\n"
              f"  worktree  {task.worktree}\n"
              f"  session   {task.session}")
    if start_error:
        print(f"agent: error: {task.name} failed to start: {start_error}", file=sys.stderr)
        return 1
    if a.attach:
        from agentd.client.attach import attach

        return attach(api, task.name, read_only=False, force=False)  # setup shows there
    if setup:
        failure = wait_setup(api, task.name, setup)
        if failure:
            print(f"agent: error: {task.name}: {fmt.safe(failure)} (output: agent logs "
                  f"{task.name})", file=sys.stderr)
            return 1
    return 0


def wait_setup(api: AgentdClient, name: str, commands: list[str]) -> str | None:
    """Follow the task's events until its setup commands are done (None) or one failed,
    or the session ended first (why)."""
    import select
    import time

    from agentd.errors import DaemonError
    from agentd.protocol.messages import Push

    tty = sys.stderr.isatty()
    started, done, frame = time.monotonic(), 0, 0
    current = commands[0]
    try:
        with api.event_stream(since=0, task=name) as conn:
            while True:
                if not conn.pending():
                    if tty:
                        frame += 1
                        sys.stderr.write(f"\r\x1b[K{SPINNER[frame % len(SPINNER)]} setup: "
                                         f"{fmt.safe(current)[:60]} "
                                         f"({int(time.monotonic() - started)}s)")
                        sys.stderr.flush()
                    ready, _, _ = select.select([conn], [], [], 0.1 if tty else None)
                    if not ready:
                        continue
                    if not conn.pump():
                        raise DaemonError("agentd closed the connection during setup")
                    continue
                msg = conn.recv()
                if not isinstance(msg, Push) or msg.name != "event":
                    continue
                e = msg.data
                data = e.get("data") or {}
                if e["kind"] == "setup":
                    if data.get("phase") == "failed":
                        return str(e["summary"])
                    if data.get("phase") == "started":
                        current = str(data.get("command", current))
                    elif data.get("phase") == "done":
                        done += 1
                        if done == len(commands):
                            return None
                elif e["kind"] == "status_changed" and data.get("to") in ENDED:
                    return f"ended during setup: {e['summary']}"
    finally:
        if tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
