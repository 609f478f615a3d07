"""The task list: one line per task (NAME AGENT STATUS ELAPSED TOKENS COST, the attention
summary), a line per repository when tasks span several. Drawn line by line (Textual's line
API), so a refresh repaints only what is on screen and a long list costs nothing more."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentd.client.tui import model
from agentd.client.tui.messages import TaskSelected

TYPE_CHECKING = False
if TYPE_CHECKING:
    from textual import events

    from agentd.protocol.views import TaskView

COMPACT = 64  # narrower than this: AGENT, TOKENS and COST are left out
HEADER = ("", "NAME", "AGENT", "STATUS", "ELAPSED", "TOKENS", "COST")
STYLES = {"running": Style(color="green"), "blocked": Style(color="yellow"),
          "completed": Style(color="green", dim=True), "failed": Style(color="red"),
          "killed": Style(dim=True), "lost": Style(color="magenta"),
          "action": Style(color="red", bold=True), "notice": Style(color="yellow", bold=True)}


class TaskList(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("home,g", "move(-1000000)", "first", show=False),
        Binding("end,G", "move(1000000)", "last", show=False),
        Binding("pageup", "move(-10)", show=False),
        Binding("pagedown", "move(10)", show=False),
    ]
    COMPONENT_CLASSES = {"task-list--header", "task-list--cursor", "task-list--group"}
    DEFAULT_CSS = """
    TaskList { height: 1fr; }
    TaskList > .task-list--header { text-style: bold; }
    TaskList > .task-list--cursor { text-style: reverse; }
    TaskList > .task-list--group { text-style: bold underline; }
    """

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.rows: list[tuple[str, TaskView | str]] = []
        self.cursor = 0
        self.selected: str | None = None
        self.now = 0.0
        self.widths = [1, 4, 5, 11, 7, 9, 7]

    # -- data ------------------------------------------------------------------------------

    def set_tasks(self, groups: list[tuple[str | None, list[TaskView]]], now: float) -> None:
        """Show these groups; the selected task stays selected wherever it moved."""
        rows: list[tuple[str, TaskView | str]] = []
        for repo, tasks in groups:
            if repo is not None:
                rows.append(("group", f"{repo} ({len(tasks)})"))
            rows += [("task", t) for t in tasks]
        self.rows, self.now = rows, now
        cells = [model.cells(t, now) for kind, t in rows if kind == "task"]  # type: ignore[arg-type]
        self.widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(HEADER)]
        self.widths[1] = min(self.widths[1], 28)
        self.widths[2] = min(self.widths[2], 12)
        names = [t.name for kind, t in rows if kind == "task"]  # type: ignore[union-attr]
        if self.selected is not None and self.selected in names:
            self.cursor = self._index_of(self.selected)
        else:
            self.cursor = self._clamp(self.cursor)
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        self._announce()
        self.refresh()

    def tick(self, now: float) -> None:
        """The clock moved (ELAPSED): repaint what is shown."""
        self.now = now
        self.refresh()

    def current(self) -> TaskView | None:
        if 0 <= self.cursor < len(self.rows) and self.rows[self.cursor][0] == "task":
            return self.rows[self.cursor][1]  # type: ignore[return-value]
        return None

    def _index_of(self, name: str) -> int:
        for n, (kind, t) in enumerate(self.rows):
            if kind == "task" and t.name == name:  # type: ignore[union-attr]
                return n
        return 0

    def _clamp(self, n: int) -> int:
        tasks = [i for i, (kind, _) in enumerate(self.rows) if kind == "task"]
        if not tasks:
            return 0
        return min(tasks, key=lambda i: (abs(i - n), i))

    def _announce(self) -> None:
        task = self.current()
        name = task.name if task else None
        if name != self.selected:
            self.selected = name
            self.post_message(TaskSelected(name))

    # -- moving ------------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        tasks = [i for i, (kind, _) in enumerate(self.rows) if kind == "task"]
        if not tasks:
            return
        here = tasks.index(self.cursor) if self.cursor in tasks else 0
        self.cursor = tasks[max(0, min(len(tasks) - 1, here + delta))]
        self._show_cursor()
        self._announce()
        self.refresh()

    def select(self, name: str) -> None:
        self.cursor = self._index_of(name)
        self._show_cursor()
        self._announce()
        self.refresh()

    def _show_cursor(self) -> None:
        top, height = int(self.scroll_offset.y), self.size.height - 1
        line = self.cursor if self.cursor > 0 and self.rows[self.cursor - 1][0] != "group" \
            else max(0, self.cursor - 1)
        if line < top:
            self.scroll_to(y=line, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def on_click(self, event: events.Click) -> None:
        row = int(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.rows) and self.rows[row][0] == "task":
            self.cursor = row
            self._announce()
            self.refresh()

    # -- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("task-list--header")
            return self._line(HEADER, None, style, "").crop_extend(0, width, style)
        row = int(self.scroll_offset.y) + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, base)
        kind, item = self.rows[row]
        if kind == "group":
            style = base + self.get_component_rich_style("task-list--group")
            label = f"── {item} "
            return Strip([Segment(label + "─" * max(0, width - len(label)), style)]
                         ).crop_extend(0, width, base)
        task: TaskView = item  # type: ignore[assignment]
        style = base
        if row == self.cursor:
            style = base + self.get_component_rich_style("task-list--cursor")
        strip = self._line(model.cells(task, self.now), task, style, model.summary(task))
        return strip.crop_extend(0, width, style)

    def _line(self, cells: tuple[str, ...], task: TaskView | None, style: Style,
              summary: str) -> Strip:
        w = self.widths
        segs = []
        # Narrow: NAME, STATUS and ELAPSED only (the summary still follows).
        hidden = (2, 5, 6) if self.size.width < COMPACT else ()
        for i, text in enumerate(cells):
            if i in hidden:
                continue
            text = text[:w[i]] if i in (1, 2) else text
            cell = text.rjust(w[i]) if i >= 4 else text.ljust(w[i])
            s = style
            if task is not None and i == 0:
                s = style + STYLES.get(task.attention or "", Style())
            elif task is not None and i == 3:
                s = style + STYLES.get(task.status, Style())
            segs.append(Segment(cell + " ", s))
        if summary and task is not None:
            segs.append(Segment(" " + " ".join(summary.split()),
                                style + STYLES.get(task.attention or "", Style())))
        return Strip(segs)
