"""`n`: a new task. The prompt, the agent (config order, the default first), an optional
name and base branch; the daemon's refusal is shown here and the dialog stays open."""

from __future__ import annotations

import os

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from agentd.errors import AgentdError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.client.api import AgentdClient


class NewTask(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    NewTask { align: center middle; }
    NewTask > Vertical { width: 90; max-width: 100%; height: auto; max-height: 100%;
                         border: thick $accent; padding: 0 1; background: $surface; }
    NewTask #error { color: $error; }
    NewTask Input, NewTask Select { margin-bottom: 0; }
    """

    def __init__(self, api: AgentdClient, agents: list[str], workspace: str,
                 size: tuple[int, int]) -> None:
        super().__init__()
        self.api, self.agents, self.workspace, self.pty_size = api, agents, workspace, size

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"New task in {self.workspace}", markup=False)
            yield Input(id="prompt", placeholder="prompt: what the agent should do")
            yield Select([(a, a) for a in self.agents], id="agent", allow_blank=False,
                         value=self.agents[0]) if self.agents else Label("no agents")
            yield Input(id="name", placeholder="name (optional: a generated one)")
            yield Input(id="base", placeholder="base branch (optional: the current branch)")
            yield Button("Start (Enter)", id="start", variant="primary")
            yield Label("", id="error", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.start()

    def start(self) -> None:
        prompt = self.query_one("#prompt", Input).value.strip()
        agent = str(self.query_one("#agent", Select).value) if self.agents else None
        name = self.query_one("#name", Input).value.strip() or None
        base = self.query_one("#base", Input).value.strip() or None
        self.query_one("#error", Label).update("starting…")
        self.create(prompt, agent, name, base)

    @work(thread=True, exclusive=True)
    def create(self, prompt: str, agent: str | None, name: str | None,
               base: str | None) -> None:
        cols, rows = self.pty_size
        try:
            task, error = self.api.create_task(self.workspace, [prompt] if prompt else [],
                                               dict(os.environ), cols, rows, name=name,
                                               agent=agent, base=base)
        except AgentdError as e:
            self.app.call_from_thread(self.query_one("#error", Label).update, str(e))
            return
        if error:
            self.app.call_from_thread(self.app.notify, f"{task.name}: {error}",
                                      severity="error", markup=False)
        self.app.call_from_thread(self.dismiss, task.name)

    def action_cancel(self) -> None:
        self.dismiss(None)
