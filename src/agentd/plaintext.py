"""A session's output as the text a person saw: the raw PTY bytes fed through a terminal
emulator (avt) at the session's size, read back as lines (docs/tui.md, "Text that reads
right"). `agent logs` and the TUI's scrollback both come from here.

What the text is:
- every line of the main screen as it scrolls off the top, once, in order;
- when a full-screen program leaves the alternate screen (vim, Codex, less: `CSI ? 1049 l`,
  `1047`, `47`), the last frame it showed there: its redraws never scroll, so that frame is
  all that is left of them (blank lines above and below it left out);
- at the end, the screen as it is (`screen()`): the main screen, or the alternate one while
  a program still shows it.

Cursor movements are applied, not dropped (`hello\\x1b[5Cworld` reads `hello     world`),
redraws in place collapse to what was left, and no escape sequence or control character
reaches the text. Trailing spaces are removed from every line.
"""

from __future__ import annotations

import codecs
import re

import avt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

_ALT = re.compile(r"\x1b\[\?((?:\d+;)*(?:1049|1047|47)(?:;\d+)*)([hl])")
# An escape sequence cut at the end of a block: held back until the next one completes it.
_PARTIAL = re.compile(r"\x1b(?:\[[\d;?]*)?$")
# C0 but tab and newline, DEL, C1, and the bidirectional overrides (agentd.text).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                      "\u2066-\u2069]")


def clean(text: str) -> str:
    """Untrusted text made safe to show: control characters (ESC, C1, BEL, …) and bidi
    overrides removed (newlines and tabs kept)."""
    return _CONTROL.sub("", text)


def _trim(lines: list[str], leading: bool = False) -> list[str]:
    out = [clean(line.rstrip()) for line in lines]
    while out and not out[-1]:
        out.pop()
    while leading and out and not out[0]:
        out.pop(0)
    return out


class PlainText:
    """Feed raw output, read lines as they leave the screen."""

    def __init__(self, cols: int = 80, rows: int = 24) -> None:
        self.cols, self.rows = max(1, cols), max(1, rows)
        self._vt = avt.Vt(self.cols, self.rows, scrollback_limit=0)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._held = ""
        self.alternate = False

    def feed(self, data: bytes) -> list[str]:
        """Lines that left the screen while `data` was shown, oldest first."""
        text = self._held + self._decoder.decode(data)
        partial = _PARTIAL.search(text, max(0, len(text) - 16))
        cut = partial.start() if partial else len(text)
        text, self._held = text[:cut], text[cut:]
        out: list[str] = []
        pos = 0
        for m in _ALT.finditer(text):
            out += self._feed(text[pos:m.start()])
            entering = m.group(2) == "h"
            if self.alternate and not entering:
                out += _trim([line.text for line in self._vt.view()], leading=True)
            out += self._feed(m.group(0))
            self.alternate = entering
            pos = m.end()
        out += self._feed(text[pos:])
        return out

    def _feed(self, text: str) -> list[str]:
        if not text:
            return []
        _, scrolled = self._vt.feed_str(text)
        return [clean(line.text.rstrip()) for line in scrolled]

    def resize(self, cols: int, rows: int) -> list[str]:
        self.cols, self.rows = max(1, cols), max(1, rows)
        _, scrolled = self._vt.resize(self.cols, self.rows)
        return [clean(line.text.rstrip()) for line in scrolled]

    def screen(self) -> list[str]:
        """The screen being shown, trailing blank lines left out."""
        if self._held:
            self._feed(self._held)
            self._held = ""
        return _trim([line.text for line in self._vt.view()])


def render(blocks: Iterable[bytes], cols: int = 80, rows: int = 24) -> Iterator[str]:
    """The plain text of a raw log: lines as they scroll off, then the final screen.
    Lazy, so a follower gets each line as soon as it leaves the screen."""
    text = PlainText(cols, rows)
    for block in blocks:
        yield from text.feed(block)
    yield from text.screen()
