"""The worker's screen model: text of the shown screen, snapshots, modes, lazy feeding."""

from __future__ import annotations

from agentd.worker.screen import Screen
from tests.terminal import render


def test_text_is_the_screen_being_shown() -> None:
    s = Screen(20, 3)
    s.write(b"main screen\x1b[?1049h\x1b[Halt screen")
    assert s.text()[0] == "alt screen"
    s.write(b"\x1b[?1049l")
    assert s.text()[0] == "main screen"


def test_snapshot_repaints_the_same_screen_and_modes() -> None:
    s = Screen(30, 5)
    s.write(b"\x1b[31mred\x1b[0m line\r\n\x1b[?1049h\x1b[2;4H\x1b[1mbold\x1b[?25l"
            b"\x1b[?1000h\x1b[?2004h\x1b=")
    snap = s.snapshot()
    lines, cursor = render(snap, 30, 5)
    assert lines[1] == "   bold"
    assert cursor == (7, 1)
    for mode in (b"\x1b[?1000h", b"\x1b[?2004h", b"\x1b[?25l", b"\x1b="):
        assert mode in snap
    assert b"\x9b" not in snap  # 7-bit controls only


def test_output_waits_until_needed() -> None:
    s = Screen(10, 2)
    s.write(b"x" * 1000)
    assert s.behind == 1000
    s.catch_up(100)
    assert s.behind == 900
    s.text()
    assert s.behind == 0
