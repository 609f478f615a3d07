"""Text from agents never reaches the user's terminal unescaped: summaries with escape
sequences (a clipboard write, a screen clear, a hidden line) are shown as visible escapes
by `agent ls` and `agent events`, and JSON output stays strict JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentd.protocol.connection import Connection
from agentd.text import printable
from tests.helpers import Env

HOSTILE = ("needs you \x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[8mhidden\x1b[0m \x9b31m "
           "\u202eevil\u202c \x08\x7f")


def no_controls(text: str) -> bool:
    return not any(ord(c) < 0x20 and c not in "\n" or 0x7F <= ord(c) < 0xA0 or
                   c in "\u202a\u202b\u202c\u202d\u202e" for c in text)


def test_printable_makes_controls_visible() -> None:
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("\u202eabc") == "\\u202eabc"
    assert printable("ünïcödé ✔ 日本") == "ünïcödé ✔ 日本"
    assert no_controls(printable(HOSTILE))


def test_ls_and_events_escape_agent_text(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "hostile", cwd=repo)
    sid = env.task("hostile")["session"]
    with Connection.open(env.root / "agentd.sock", timeout=30) as conn:
        conn.request("append_session_events", {"session": sid, "events": [
            {"kind": "waiting", "attention": "action", "summary": HOSTILE}]})
    for args in (["ls"], ["events"], ["events", "hostile", "--attention", "action"]):
        out = env.ok(*args).out
        assert "\\x1b]52;c;" in out, args  # shown, not executed
        assert no_controls(out), (args, out)
    # JSON keeps the text as it was, strictly encoded.
    tasks = json.loads(env.ok("ls", "--json").out, parse_constant=pytest.fail)
    assert tasks[0]["attention_summary"] == HOSTILE
    for line in env.ok("events", "--json").out.splitlines():
        json.loads(line, parse_constant=pytest.fail)
