"""The preview: the selected task's screen, live and read-only, under its scrollback.
Scroll with the wheel, or focus it (Tab) and use the arrow keys and PageUp/PageDown; it
follows the bottom until scrolled up, and again once scrolled back down."""

from __future__ import annotations

import threading

import avt
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentd.client.tui.live import LiveScreen
from agentd.client.tui.messages import ScreenChanged

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentd.client.api import AgentdClient


def style_of(pen: Any, cache: dict[str, Style]) -> Style:
    if pen is None:
        return Style()
    key = repr(pen)
    style = cache.get(key)
    if style is None:
        style = Style(color=_colour(pen.foreground), bgcolor=_colour(pen.background),
                      bold=pen.bold or None, dim=pen.faint or None, italic=pen.italic or None,
                      underline=pen.underline or None, reverse=pen.inverse or None,
                      strike=pen.strikethrough or None)
        cache[key] = style
    return style


def _colour(c: Any) -> Color | None:
    if c is None:
        return None
    if isinstance(c, avt.Color.RGB):
        return Color.from_rgb(c[0], c[1], c[2])
    return Color.from_ansi(int(c[0]) & 0xFF)


class Preview(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "scroll_up", show=False), Binding("down", "scroll_down", show=False),
        Binding("pageup", "page_up", show=False), Binding("pagedown", "page_down", show=False),
        Binding("home", "scroll_home", show=False), Binding("end", "scroll_end", show=False),
    ]
    DEFAULT_CSS = """
    Preview { border: round $secondary; }
    Preview:focus { border: round $accent; }
    """

    def __init__(self, api: AgentdClient | None, scrollback_lines: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.api = api
        self.scrollback_lines = scrollback_lines
        self.live: LiveScreen | None = None
        self.lines: list[str | list[tuple[str, Any]]] = []
        self.pen_styles: dict[str, Style] = {}
        self.generation = 0
        self.following = True
        self.name_shown: str | None = None

    def show_task(self, name: str | None) -> None:
        """Show this task's screen (None: nothing)."""
        if name == self.name_shown:
            return
        self.stop()
        self.name_shown = name
        self.lines = []
        self.following = True
        self.border_title = name or ""
        self.border_subtitle = ""
        self._resize()
        if name is None or self.api is None:
            return
        self.generation += 1
        generation = self.generation

        def changed() -> None:
            self.post_message(ScreenChanged(generation))

        self.live = LiveScreen(self.api, name, self.scrollback_lines, changed)
        threading.Thread(target=self.live.run, name=f"preview {name}", daemon=True).start()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def on_unmount(self) -> None:
        self.stop()

    def on_screen_changed(self, message: ScreenChanged) -> None:
        message.stop()
        if message.generation != self.generation or self.live is None:
            return
        scrollback, screen, status = self.live.state()
        self.lines = [*scrollback, *screen]
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        self.border_subtitle = status
        self._resize()

    def _resize(self) -> None:
        at_bottom = self.scroll_offset.y >= self.max_scroll_y
        self.virtual_size = Size(self.size.width, len(self.lines))
        if self.following or at_bottom:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def action_scroll_up(self) -> None:
        self.following = False
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.following = False
        super().action_page_up()

    def _on_mouse_scroll_up(self, event: Any) -> None:
        self.following = False

    def action_scroll_end(self) -> None:
        self.following = True
        super().action_scroll_end()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        n = int(self.scroll_offset.y) + y
        base = self.rich_style
        if n >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[n]
        if isinstance(line, str):
            segs = [Segment(line, base)]
        else:
            segs = [Segment(text, base + style_of(pen, self.pen_styles)) for text, pen in line]
        return Strip(segs).crop_extend(int(self.scroll_offset.x), int(self.scroll_offset.x)
                                       + width, base)
