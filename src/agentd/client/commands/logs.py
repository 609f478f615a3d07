"""`agent logs`: a session's output, read from the daemon (`read_log`): plain text from a
terminal emulator (agentd.plaintext), or with --raw the bytes."""

from __future__ import annotations

from agentd.client import logs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_logs(a: Namespace, api: AgentdClient) -> int:
    if a.raw:
        logs.write_raw(api.read_log(a.name, a.follow), live=a.follow)
    else:
        logs.write_lines(api.log_text(a.name, a.follow), live=a.follow)
    return 0
