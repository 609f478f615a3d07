"""`?`: every key, what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("Enter", "attach in place: the app steps aside, Ctrl-] brings it back"),
    ("↑ ↓", "move the selection (g / G or Home / End: first / last)"),
    ("Tab", "focus the preview: ↑ ↓ PgUp PgDn scroll its scrollback"),
    ("wheel", "scroll the list or the preview under the mouse; click selects"),
    ("/", "filter by name, prompt or summary (Esc clears)"),
    ("1 2 3 4", "show all tasks / those needing you / active / ended"),
    ("n", "new task"),
    ("s", "send a line of input to the task"),
    ("k K", "kill / kill and remove (each asks first)"),
    ("d", "diff against the base (coloured)"),
    ("e", "events of the task"),
    ("t", "thread: the conversation"),
    ("a", "artifacts"),
    ("m", "merge"),
    ("r", "resume an ended task"),
    ("$", "usage: cost and tokens by task, agent, model and day"),
    ("?", "this help"),
    ("q", "quit (Ctrl-C too)"),
)


class Help(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "close")]
    DEFAULT_CSS = """
    Help { align: center middle; }
    Help > VerticalScroll { width: 84; max-width: 100%; height: auto; max-height: 100%;
                            border: thick $accent; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("agent: keys\n\n", style="bold")
        for key, what in KEYS:
            text.append(f"{key:>9}  ", style="bold")
            text.append(what + "\n")
        text.append("\nStatus: ! needs you, ? worth a look; the word says the status.")
        with VerticalScroll():
            yield Static(text)
