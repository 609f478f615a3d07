"""`agent attach` and `agent detach`."""

from __future__ import annotations

from agentd.client.commands import session_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_attach(a: Namespace, api: AgentdClient) -> int:
    from agentd.client.attach import attach

    return attach(api, a.name, read_only=a.read_only, force=a.force)


def cmd_detach(a: Namespace, api: AgentdClient) -> int:
    task, session = api.get_session(session_name(a.name))
    try:
        with api.open_session(session, timeout=10) as conn:
            result = conn.request("detach", {"reason": "detached by 'agent detach'"})
    except OSError:
        result = {"detached": False}
    if not result["detached"]:
        print(f"no client is attached to {task.name}")
        return 1
    print(f"detached the client of {task.name}")
    return 0
