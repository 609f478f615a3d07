"""`agent tui` (and bare `agent` on a terminal): the live view of every task (docs/tui.md).
Textual is imported here only, when the app opens."""

from __future__ import annotations

import sys

from agentd.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_tui(a: Namespace, api: AgentdClient) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("agent tui needs a terminal (stdin and stdout); "
                         "use 'agent ls' or 'agent events --follow' in scripts")
    api.hello()  # start the daemon, or fail with one line, before the screen changes
    from agentd.client.tui.app import AgentApp

    # Textual restores the terminal on exit, on Ctrl-C and on a crash (the traceback is
    # printed after the restore).
    app = AgentApp(api)
    app.run()
    return int(app.return_code or 0)
