"""A yes/no question (kill, kill and remove): `y` or Enter confirms, `n` or Esc declines."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class Confirm(ModalScreen[bool]):
    BINDINGS = [Binding("y,enter", "answer(True)", "yes"),
                Binding("n,escape", "answer(False)", "no")]
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: 64; max-width: 100%; height: auto; border: thick $warning;
                         padding: 1 2; background: $surface; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, markup=False)
            yield Label("y / Enter: yes    n / Esc: no", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
