"""The worker's screen model: text of the shown screen, snapshots, modes, lazy feeding."""

from __future__ import annotations

from agentd.worker.screen import MAX_SNAPSHOT, Screen
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


def colourful(cols: int, rows: int) -> bytes:
    """Every cell in its own true colours (foreground and background): the largest repaint
    per cell."""
    return b"".join(
        f"\x1b[{r + 1};1H".encode() + "".join(
            f"\x1b[38;2;{(r + c) % 256};{c % 256};{r % 256};48;2;{c % 256};{r * 7 % 256};"
            f"{c * 3 % 256}m{chr(0x41 + (r + c) % 26)}" for c in range(cols)).encode()
        for r in range(rows))


def feed(s: Screen, data: bytes) -> None:
    for i in range(0, len(data), 1 << 20):  # under MAX_PENDING: nothing is dropped
        s.write(data[i:i + (1 << 20)])
        s.catch_up()


def test_a_repaint_too_big_for_the_cap_is_the_screen_text() -> None:
    """Past MAX_SNAPSHOT (2 MiB) the snapshot is the text without colours, at its place,
    with the cursor and the modes: within the cap, and the same screen."""
    s = Screen(300, 200)
    feed(s, colourful(300, 200) + b"\x1b[m\x1b[5;7H\x1b[?2004h\x1b[?25l")
    assert len(s._vt.dump()) > MAX_SNAPSHOT  # the colours alone would not fit
    snap = s.snapshot()
    assert len(snap) <= MAX_SNAPSHOT
    assert b"\x1b[38;2;" not in snap
    lines, cursor = render(snap, 300, 200)
    assert lines == s.text()
    assert cursor == (6, 4)
    for mode in (b"\x1b[?2004h", b"\x1b[?25l"):
        assert mode in snap


def test_the_text_repaint_keeps_the_alternate_screen_and_fits_any_screen() -> None:
    """On the alternate screen the text repaint enters it too; a screen whose text alone
    passes the cap (1000 × 1000 four-byte characters) keeps the bottom rows that fit."""
    s = Screen(1000, 1000)
    feed(s, b"\x1b[?1049h" + colourful(1000, 3))
    feed(s, b"\x1b[m" + b"".join(f"\x1b[{r + 1};1H".encode() + "\U0001d400".encode() * 1000
                                 for r in range(3, 1000)))
    snap = s.snapshot()
    assert len(snap) <= MAX_SNAPSHOT
    assert b"\x1b[?1047h" in snap
    assert len(snap) > MAX_SNAPSHOT - 4100  # filled to within a row (4 000 bytes + place)
    assert f"\x1b[1000;1H{chr(0x1d400) * 1000}".encode() in snap
    assert b"\x1b[1;1H" not in snap  # the top rows are the ones left out
