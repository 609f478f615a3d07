"""`agent resume`, and `agent run --task`: another session in an existing task's worktree."""

from __future__ import annotations

import os
import sys

from agentd.client.commands import print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace
    from typing import Any

    from agentd.client.api import AgentdClient
    from agentd.protocol.views import TaskView


def terminal_size() -> os.terminal_size:
    try:
        return os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError):
        return os.terminal_size((120, 40))  # not a terminal: a roomy default


def start(a: Namespace, api: AgentdClient, name: str, agent: str | None, resume: bool) -> int:
    size = terminal_size()
    task, extra = api.start_session(name, a.prompt, dict(os.environ), size.columns,
                                    size.lines, agent=agent, resume=resume)
    if a.json:
        print_json({**task.to_wire(), **extra})
    else:
        print(f"{headline(task, extra, resume)}\n"
              f"  agent     {extra['session_agent']}\n"
              f"  worktree  {task.worktree}\n"
              f"  session   {task.session}")
    if extra["start_error"]:
        print(f"agent: error: {task.name} failed to start: {extra['start_error']}",
              file=sys.stderr)
        return 1
    if getattr(a, "attach", False):
        from agentd.client.attach import attach

        return attach(api, task.name, read_only=False, force=False)
    return 0


def headline(task: TaskView, extra: dict[str, Any], resume: bool) -> str:
    agent = extra["session_agent"]
    if not resume:
        return f"started {agent} in {task.name}"
    if extra["resumed"]:
        return f"resumed {task.name}: {agent} continues its conversation of session " \
               f"{extra['resumed']}"
    return f"resumed {task.name}: {agent} cannot continue its conversation, so a fresh " \
           "session got the prompt"


def cmd_resume(a: Namespace, api: AgentdClient) -> int:
    return start(a, api, a.name, a.agent, resume=True)
