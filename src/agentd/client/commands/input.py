"""`agent send-input`: type into a task's PTY without attaching."""

from __future__ import annotations

from agentd.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_send_input(a: Namespace, api: AgentdClient) -> int:
    text = " ".join(a.text)
    if not text and not a.key:
        raise UsageError("nothing to send: give TEXT after '--' or one or more --key KEY")
    result = api.send_input(a.name, text, a.key, enter=bool(text) and not a.no_enter)
    if a.verbose:
        print(f"sent {result['bytes']} bytes to {result['name']}")
    return 0
