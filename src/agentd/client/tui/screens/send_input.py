"""`s`: type a line into the selected task (`send_input`, Enter pressed after it)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from agentd.errors import AgentdError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.client.api import AgentdClient


class SendInput(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    SendInput { align: center middle; }
    SendInput > Vertical { width: 80; max-width: 100%; height: auto; border: thick $accent;
                           padding: 1 2; background: $surface; }
    SendInput #error { color: $error; }
    """

    def __init__(self, api: AgentdClient, name: str) -> None:
        super().__init__()
        self.api, self.task_name = api, name

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Send to {self.task_name} (Enter sends, then presses Enter; "
                        "empty: Enter alone; Esc cancels)", markup=False)
            yield Input(id="text", placeholder="text")
            yield Label("", id="error", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.send(event.value)

    @work(thread=True, exclusive=True)
    def send(self, text: str) -> None:
        try:
            if text:
                self.api.send_input(self.task_name, text=text, enter=True)
            else:
                self.api.send_input(self.task_name, keys=["Enter"])
        except AgentdError as e:
            self.app.call_from_thread(self.query_one("#error", Label).update, str(e))
            return
        self.app.call_from_thread(self.dismiss, text)

    def action_cancel(self) -> None:
        self.dismiss(None)
