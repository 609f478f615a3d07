"""A full-screen, scrollable text view: diff, events, thread, artifacts, usage. Its text is
loaded in a thread (`load` returns a rich Text, never markup) and shown when it arrives;
`r` reloads, Esc or `q` goes back."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from agentd.client.api import NotAvailable
from agentd.errors import AgentdError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


class TextView(Screen[None]):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "back"),
                Binding("r", "reload", "reload"),
                Binding("j,down", "scroll(1)", show=False),
                Binding("k,up", "scroll(-1)", show=False),
                Binding("space,pagedown", "page(1)", show=False),
                Binding("b,pageup", "page(-1)", show=False),
                Binding("g,home", "edge(0)", show=False),
                Binding("G,end", "edge(1)", show=False)]
    DEFAULT_CSS = """
    TextView #title { background: $panel; width: 100%; text-style: bold; }
    TextView VerticalScroll { height: 1fr; }
    """

    def __init__(self, title: str, load: Callable[[], Text]) -> None:
        super().__init__()
        self.title_text, self.load = title, load

    def compose(self) -> ComposeResult:
        yield Label(Text(self.title_text), id="title")
        with VerticalScroll():
            yield Static(Text("loading…"), id="body")
        yield Footer()

    def on_mount(self) -> None:
        self.fetch()

    def action_reload(self) -> None:
        self.fetch()

    @work(thread=True, exclusive=True)
    def fetch(self) -> None:
        try:
            text = self.load()
        except NotAvailable as e:
            text = Text(f"{e}\n\nThis view appears when the daemon serves it (a newer "
                        "agentd).", style="italic")
        except AgentdError as e:
            text = Text(str(e), style="bold")
        self.app.call_from_thread(self.query_one("#body", Static).update, text)

    def action_scroll(self, n: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=n, animate=False)

    def action_page(self, n: int) -> None:
        v = self.query_one(VerticalScroll)
        v.scroll_relative(y=n * max(1, v.size.height - 1), animate=False)

    def action_edge(self, end: int) -> None:
        v = self.query_one(VerticalScroll)
        v.scroll_end(animate=False) if end else v.scroll_home(animate=False)
