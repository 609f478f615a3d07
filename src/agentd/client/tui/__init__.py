"""The TUI: bare `agent` on a terminal (docs/tui.md). Textual is imported only here, when
the app opens, never on the path of `agent ls`."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.client.api import AgentdClient


def run(api: AgentdClient) -> int:
    """Open the app on this terminal; its exit status. Textual restores the terminal on
    exit, on Ctrl-C and on a crash (the traceback is printed after the restore)."""
    from agentd.client.tui.app import AgentApp

    app = AgentApp(api)
    app.run()
    return int(app.return_code or 0)
