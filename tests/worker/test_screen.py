"""The worker's screen model: text of the shown screen, snapshots, modes, lazy feeding."""

from __future__ import annotations

from pathlib import Path

from agentd.worker.queries import answers
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


def test_terminal_query_answers() -> None:
    reply = answers(b"\x1b[6n\x1b[c\x1b[>c\x1b]11;?\x07", lambda: (4, 2))
    assert reply == (b"\x1b[3;5R\x1b[?62;22c\x1b[>1;10;0c"
                     b"\x1b]11;rgb:0000/0000/0000\x1b\\")
    assert answers(b"plain text", lambda: (0, 0)) == b""


def test_log_files_lists_every_rotation_oldest_first(tmp_path: Path) -> None:
    from agentd.logfiles import RawLog, log_files

    log = RawLog(tmp_path / "s.log", max_bytes=10, keep=12)
    written = b"".join(b"%02d........\n" % i for i in range(14))
    for i in range(0, len(written), 13):
        log.write(written[i:i + 13])
    log.close()
    files = log_files(tmp_path / "s.log")
    assert [f.name for f in files][:2] == ["s.log.12", "s.log.11"]
    assert all(f.stat().st_size == 10 for f in files[:-1])  # never past the cap
    kept = b"".join(f.read_bytes() for f in files)
    assert written.endswith(kept) and len(kept) > 120  # the newest output, in order
