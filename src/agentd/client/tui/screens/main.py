"""The main screen: the status line, the task list, the selected task's preview, the
footer. Side by side when the terminal is wide, stacked when narrow, the list alone when
very narrow (or short)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Input, Label

from agentd.client.tui import model
from agentd.client.tui.widgets.preview import Preview
from agentd.client.tui.widgets.task_list import TaskList

TYPE_CHECKING = False
if TYPE_CHECKING:
    from textual import events

    from agentd.client.tui.app import AgentApp
    from agentd.client.tui.messages import TaskSelected

WIDE = 140  # columns from which list and preview sit side by side
NARROW = 60  # below this many columns (or 16 rows) the list is shown alone


def layout_for(cols: int, rows: int) -> str:
    if cols < NARROW or rows < 16:
        return "list-only"
    return "wide" if cols >= WIDE else "stacked"


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "attach", "attach"),
        Binding("n", "new", "new"),
        Binding("s", "send", "send"),
        Binding("k", "kill(False)", "kill"),
        Binding("K", "kill(True)", "kill+rm", show=False),
        Binding("d", "view('diff')", "diff"),
        Binding("e", "view('events')", "events"),
        Binding("t", "view('thread')", "thread"),
        Binding("a", "view('artifacts')", "artifacts", show=False),
        Binding("m", "merge", "merge", show=False),
        Binding("r", "resume", "resume", show=False),
        Binding("dollar_sign", "view('usage')", "usage"),
        Binding("slash", "filter", "filter"),
        Binding("1", "status('all')", show=False),
        Binding("2", "status('attention')", show=False),
        Binding("3", "status('active')", show=False),
        Binding("4", "status('ended')", show=False),
        Binding("question_mark", "help", "help"),
        Binding("q", "app.quit", "quit"),
        Binding("escape", "clear_filter", show=False),
    ]
    DEFAULT_CSS = """
    MainScreen #status { background: $panel; width: 100%; height: 1; }
    MainScreen #filter { display: none; height: 3; }
    MainScreen #filter.shown { display: block; }
    MainScreen #panes { height: 1fr; }
    MainScreen #panes.wide { layout: horizontal; }
    MainScreen #panes.wide TaskList { width: 3fr; }
    MainScreen #panes.wide Preview { width: 2fr; }
    MainScreen #panes.stacked { layout: vertical; }
    MainScreen #panes.stacked TaskList { height: 1fr; }
    MainScreen #panes.stacked Preview { height: 1fr; }
    MainScreen #panes.list-only Preview { display: none; }
    """

    @property
    def agent_app(self) -> AgentApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.agent_app
        yield Label("", id="status")
        yield Input(id="filter", placeholder="filter: name, prompt or summary (Esc clears)")
        with Container(id="panes"):
            yield TaskList(id="tasks")
            yield Preview(app.api if app.preview else None, app.scrollback_lines,
                          id="preview")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TaskList).focus()
        self.apply_layout(self.size.width, self.size.height)
        self.show()

    def on_resize(self, event: events.Resize) -> None:
        self.apply_layout(event.size.width, event.size.height)

    def apply_layout(self, cols: int, rows: int) -> None:
        panes = self.query_one("#panes")
        panes.set_classes(layout_for(cols, rows))

    # -- what is shown ---------------------------------------------------------------------

    def show(self) -> None:
        """Repaint the list from the app's tasks, filter and clock."""
        app = self.agent_app
        lists = self.query(TaskList)
        if not lists:  # not composed yet: on_mount shows what has arrived by then
            return
        groups = model.visible(app.tasks.values(), app.filter_text, app.status_filter)
        lists.first().set_tasks(groups, app.clock())
        total = len(app.tasks)
        need = sum(1 for t in app.tasks.values() if model.summary(t) and t.attention == "action")
        line = Text(" agent ", style="bold reverse")
        line.append(f" {total} task{'s' * (total != 1)}")
        if need:
            line.append(f"  ! {need} need{'s' * (need == 1)} you", style="bold")
        label = model.FILTERS[app.status_filter][0]
        if app.status_filter != "all":
            line.append(f"  showing: {label}")
        if app.filter_text:
            line.append(f"  filter: {app.filter_text}")
        if app.offline:
            line.append(f"  [{app.offline}]", style="bold")
        line.append("   ? help")
        self.query_one("#status", Label).update(line)

    def tick(self) -> None:
        for tl in self.query(TaskList):
            tl.tick(self.agent_app.clock())

    def on_task_selected(self, message: TaskSelected) -> None:
        self.agent_app.select(message.name)

    def selected(self) -> str | None:
        task = self.query_one(TaskList).current()
        if task is None:
            self.notify("no task selected", severity="warning")
            return None
        return task.name

    # -- keys --------------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.agent_app.filter_text = event.value
            self.show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(TaskList).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("shown")
        self.agent_app.filter_text = ""
        self.query_one(TaskList).focus()
        self.show()

    def action_status(self, which: str) -> None:
        self.agent_app.status_filter = which
        self.show()

    def action_attach(self) -> None:
        if (name := self.selected()) is not None:
            self.agent_app.attach(name)

    def action_new(self) -> None:
        self.agent_app.new_task()

    def action_send(self) -> None:
        if (name := self.selected()) is not None:
            self.agent_app.send(name)

    def action_kill(self, rm: bool) -> None:
        if (name := self.selected()) is not None:
            self.agent_app.kill(name, rm)

    def action_view(self, which: str) -> None:
        name = None if which == "usage" else self.selected()
        if which == "usage" or name is not None:
            self.agent_app.open_view(which, name)

    def action_merge(self) -> None:
        if (name := self.selected()) is not None:
            self.agent_app.merge(name)

    def action_resume(self) -> None:
        if (name := self.selected()) is not None:
            self.agent_app.resume(name)

    def action_help(self) -> None:
        from agentd.client.tui.screens.help import Help

        self.app.push_screen(Help())
