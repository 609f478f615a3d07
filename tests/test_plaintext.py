"""Plain text from raw terminal output (agentd.plaintext), on bytes recorded from real
programs under a real PTY: vim, a python curses program, and a shell printing with cursor
movements. The expected text is what pyte (an independent emulator) showed on the
recording terminal, or the program's own input."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from agentd.plaintext import PlainText, clean, render
from tests.terminal import Terminal

PROGRAMS = Path(__file__).parent / "programs"
ENV = {"PATH": os.environ["PATH"], "TERM": "xterm-256color", "LANG": "C.UTF-8",
       "HOME": "/nonexistent"}


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_cursor_movements_are_spaces_and_redraws_collapse() -> None:
    raw = (b"Hello from\x1b[1Cthe\x1b[1Cfake\x1b[1Cbackend.\r\n"
           b"progress 10%\rprogress 50%\rprogress 100%\r\n"
           b"\x1b]0;title\x07\x1b[1;32mgreen\x1b[0m text\r\n"
           b"abc\x08\x08XY\r\n")
    assert list(render([raw], 80, 24)) == [
        "Hello from the fake backend.", "progress 100%", "green text", "aXY"]


def test_lines_come_once_as_they_scroll_off_then_the_final_screen() -> None:
    raw = b"".join(b"line %d\r\n" % i for i in range(10))
    text = PlainText(20, 4)
    scrolled = text.feed(raw)
    assert scrolled == [f"line {i}" for i in range(7)]
    assert text.screen() == ["line 7", "line 8", "line 9"]


def test_escape_sequences_split_across_blocks() -> None:
    raw = b"a\x1b[5Cb\r\n\x1b[?1049hfull\x1b[?1049lc\r\n" + "é…€\r\n".encode()
    whole = list(render([raw], 20, 5))
    for size in (1, 2, 3, 7):
        assert list(render(chunks(raw, size), 20, 5)) == whole
    assert whole == ["full", "a     b", "c", "é…€"]


def test_untrusted_text_is_cleaned() -> None:
    assert clean("ok\x1b]52;c;AAAA\x07\x9b31m\x00") == "ok]52;c;AAAA31m"


def record(argv: list[str], keys: list[tuple[str, str]], cols: int = 80, rows: int = 24,
           cwd: Path | None = None) -> tuple[bytes, list[str]]:
    """Run `argv` in a real PTY, type each key after its text is on screen; the raw bytes
    and what the terminal showed before the last key."""
    term = Terminal(argv, ENV, cols, rows, cwd=cwd)
    try:
        shown: list[str] = []
        for wait, key in keys:
            term.wait_text(wait)
            shown = term.display()
            term.send(key)
        term.wait_exit()
        term.reader.join(5)
        return bytes(term.raw), shown
    finally:
        term.close()


@pytest.mark.skipif(shutil.which("vim") is None, reason="vim is not installed")
def test_vim_shows_its_last_frame_and_the_shell_around_it(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("".join(f"note {i}: keep spaces  here\n"
                                                for i in range(40)))
    script = ("echo before vim; vim -u NONE -i NONE -N -n notes.txt; echo after vim")
    raw, shown = record(["sh", "-c", script], [("note 0", ":q\r")], cwd=tmp_path)
    lines = list(render(chunks(raw, 100), 80, 24))
    # The last frame vim showed: the file's 23 lines as the terminal showed them (vim
    # clears its message line on the way out).
    frame = shown[:23]
    start = lines.index(frame[0])
    assert lines[start:start + len(frame)] == frame
    assert "note 22: keep spaces  here" in lines
    assert "note 30: keep spaces  here" not in lines  # never on screen
    assert lines[-2:] == ["before vim", "after vim"]
    assert all("\x1b" not in line and len(line) <= 80 for line in lines)


def test_curses_program_leaves_its_last_frame(tmp_path: Path) -> None:
    argv = [sys.executable, str(PROGRAMS / "fullscreen.py")]
    raw, shown = record(argv, [("press ~ to quit", "abc"), ("typed: abc", "~")], 60, 12)
    lines = list(render(chunks(raw, 64), 60, 12))
    assert "| size 60x12" in "\n".join(lines)
    assert [line for line in shown if line] == [line for line in lines if line][:len(
        [line for line in shown if line])]
    assert " typed: abc" in [line.strip("|").rstrip() for line in lines]
    # One frame, not every redraw: the line that changed appears once.
    assert sum("typed:" in line for line in lines) == 1
