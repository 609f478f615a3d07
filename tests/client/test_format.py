"""The usage columns of `agent ls` and escaping text from agents for a terminal."""

from __future__ import annotations

from typing import Any

import pytest

from agentd.client import format as fmt
from agentd.protocol.views import TaskView


def view(**usage: Any) -> TaskView:
    row = {"name": "t", "agent": "a", "status": "running", "status_reason": None,
           "attention": None, "attention_summary": None, "prompt": "", "branch": "b",
           "base": "main", "base_commit": "c", "worktree": "/w", "workspace": "/r",
           "created_at": 0.0, "ended_at": 1.0, "exit_code": None, "tokens_in": None,
           "tokens_out": None, "cost_usd": None, "tokens_cache_read": None,
           "tokens_cache_write": None, "unpriced_calls": 0, **usage}
    return TaskView.from_row(row, "s")


@pytest.mark.parametrize(("usage", "tokens", "cost"), [
    ({}, "-", "-"),
    ({"tokens_in": 2300, "tokens_out": 900, "cost_usd": 0.18}, "2.3k/900", "$0.18"),
    ({"tokens_in": 1_250_000, "tokens_out": 12_000, "cost_usd": 12.345}, "1.2M/12k", "$12.35"),
    ({"tokens_in": 10, "tokens_out": 2, "cost_usd": 0.0004}, "10/2", "<$0.01"),
    ({"tokens_in": 10, "tokens_out": 2, "cost_usd": None, "unpriced_calls": 1}, "10/2", "?"),
    ({"tokens_in": 10, "tokens_out": 2, "cost_usd": 0.5, "unpriced_calls": 2}, "10/2", "?"),
])
def test_tokens_and_cost_columns(usage: dict[str, Any], tokens: str, cost: str) -> None:
    t = view(**usage)
    assert (fmt.tokens(t), fmt.cost(t)) == (tokens, cost)


def test_json_carries_the_four_figures_apart() -> None:
    t = view(tokens_in=1000, tokens_out=50, tokens_cache_read=700, tokens_cache_write=200,
             cost_usd=0.01, unpriced_calls=1)
    assert t.to_wire()["usage"] == {"input_tokens": 100, "output_tokens": 50,
                                    "cache_read_tokens": 700, "cache_write_tokens": 200,
                                    "cost_usd": 0.01, "unpriced_calls": 1}
    assert t.cost_usd is None  # not every call could be priced: no total to give


def test_agent_text_is_escaped_for_the_terminal() -> None:
    hostile = "ok\x1b]52;c;cHduZWQ=\x07\x1b[2J\r\u202eevil\x9b31m"
    shown = fmt.visible(hostile)
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 or c == "\u202e" for c in shown)
    assert shown == "ok\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J\\x0d\\u202eevil\\x9b31m"
    assert fmt.visible("a\nb", newlines=True) == "a\nb"
