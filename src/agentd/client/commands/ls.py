"""`agent ls`: the task table, tasks needing the user first."""

from __future__ import annotations

from agentd.client import format as fmt
from agentd.client.commands import print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_ls(a: Namespace, api: AgentdClient) -> int:
    tasks = fmt.sort_tasks(api.list_tasks(a.all))
    if a.json:
        print_json([t.to_wire() for t in tasks])
    elif tasks:
        print(fmt.table(tasks, fmt.use_colour()))
    else:
        print("no tasks" + ("" if a.all else " in the last 24 hours (agent ls --all shows "
                                              "older ones)"))
    return 0
