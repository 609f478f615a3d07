"""`agent run`: start a task."""

from __future__ import annotations

import os
import sys

from agentd.client.commands import print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_run(a: Namespace, api: AgentdClient) -> int:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError):
        size = os.terminal_size((120, 40))  # not a terminal: a roomy default
    task, start_error = api.create_task(
        name=a.name, agent=a.agent, base=a.base,
        workspace=os.path.abspath(a.workspace or os.getcwd()), prompt=a.prompt,
        env=dict(os.environ), cols=min(max(size.columns, 1), 1000),
        rows=min(max(size.lines, 1), 1000))
    if a.json:
        print_json({**task.to_wire(), "start_error": start_error})
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

        return attach(api, task.name, read_only=False, force=False)
    return 0
