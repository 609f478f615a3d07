"""Answers to terminal queries while no interactive client is attached."""

from __future__ import annotations

from agentd.worker.termquery import QUERY, answers


def test_terminal_query_answers() -> None:
    reply = answers(b"\x1b[6n\x1b[c\x1b[>c\x1b]11;?\x07", lambda: (4, 2))
    assert reply == (b"\x1b[3;5R\x1b[?62;22c\x1b[>1;10;0c"
                     b"\x1b]11;rgb:0000/0000/0000\x1b\\")
    assert answers(b"plain text", lambda: (0, 0)) == b""


def test_only_queries_are_recognised() -> None:
    assert QUERY.search(b"\x1b[6n") and QUERY.search(b"\x1b]10;?\x1b\\")
    assert not QUERY.search(b"\x1b[2J\x1b[31mred\x1b[0m")
