"""`agent diff`: the task's changes against its base."""

from __future__ import annotations

import sys

from agentd.client import format as fmt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_diff(a: Namespace, api: AgentdClient) -> int:
    colour = fmt.use_colour() if a.color == "auto" else a.color == "always"
    sys.stdout.write(api.diff(a.name, a.stat, colour))
    return 0
