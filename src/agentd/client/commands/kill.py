"""`agent kill`: stop a task, and with --rm remove what it left."""

from __future__ import annotations

from agentd.client.commands import print_json
from agentd.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_kill(a: Namespace, api: AgentdClient) -> int:
    result = api.kill(a.name, a.rm, a.force)
    if a.json:
        print_json(result)
        return 0
    print(f"{'removed' if result['removed'] else 'killed'} {result['name']}")
    for note in result.get("notes", []):
        print(f"  {printable(note)}")  # file names come from the agent
    return 0
