"""`agent logs`: a session's output, read from the daemon (`read_log`)."""

from __future__ import annotations

from agentd.client import logs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_logs(a: Namespace, api: AgentdClient) -> int:
    logs.write(api.read_log(a.name, a.follow), a.raw, live=a.follow)
    return 0
