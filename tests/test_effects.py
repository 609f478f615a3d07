"""agentd.effects.plan: what a batch of agent events does to its task, with plain values."""

from __future__ import annotations

from typing import Any

import pytest

from agentd.effects import TaskState, Transition, plan
from agentd.errors import UsageError
from agentd.lifecycle import BLOCKED, RUNNING
from agentd.protocol.events import AgentEvent, validate_batch


def ev(kind: str, summary: str = "s", attention: str = "info", ts: float | None = None,
       **data: Any) -> AgentEvent:
    return AgentEvent(kind, attention, summary, data, ts)


def test_a_wait_blocks_a_running_task_with_its_evidence() -> None:
    fx = plan(TaskState(RUNNING, "info", None),
              [ev("waiting", "asks permission", "action", source="claude-hook")])
    assert fx.transitions == [Transition("wait", "asks permission", "hook")]
    assert fx.attention == ("action", "asks permission")


def test_screen_resume_takes_back_only_a_screen_block() -> None:
    resumed = ev("resumed", "working again", source="screen")
    assert plan(TaskState(BLOCKED, "action", "screen"), [resumed]).transitions == [
        Transition("resume", "working again", "screen")]
    assert plan(TaskState(BLOCKED, "action", "hook"), [resumed]).transitions == []
    # The wording of the summary plays no part.
    odd = ev("resumed", "screen shows 'Proceed?'", source="screen")
    assert plan(TaskState(BLOCKED, "action", "agent"), [odd]).transitions == []


def test_screen_question_on_a_blocked_task_keeps_the_hooks_summary() -> None:
    fx = plan(TaskState(BLOCKED, "action", "hook"),
              [ev("waiting", "screen shows 'Esc to cancel'", "action", source="screen")])
    assert (fx.attention, fx.transitions, fx.blocked_source) == (None, [], None)


def test_a_hook_wait_on_a_screen_block_takes_over_its_source() -> None:
    fx = plan(TaskState(BLOCKED, "action", "screen"),
              [ev("waiting", "asks permission to use Bash", "action", source="claude-hook")])
    assert fx.transitions == []
    assert fx.blocked_source == "hook"
    assert fx.attention == ("action", "asks permission to use Bash")


def test_transitions_follow_each_other_within_a_batch() -> None:
    fx = plan(TaskState(RUNNING, None, None), [
        ev("waiting", "q1", "action", source="screen"),
        ev("resumed", "working again", source="screen"),
        ev("waiting", "q2", "notice", source="claude-hook"),
        ev("resumed", "spinner", source="screen"),  # does not undo the hook's block
    ])
    assert [(t.input, t.evidence) for t in fx.transitions] == [
        ("wait", "screen"), ("resume", "screen"), ("wait", "hook")]


def test_attention_is_the_latest_of_the_highest() -> None:
    fx = plan(TaskState(RUNNING, "notice", None), [
        ev("progress", "a"), ev("notify", "b", "notice"), ev("progress", "c")])
    assert fx.attention == ("notice", "b")
    # Lower than the task's current attention: unchanged.
    assert plan(TaskState(RUNNING, "action", None), [ev("progress", "x")]).attention is None
    # Just acknowledged (None): anything sets it.
    assert plan(TaskState(RUNNING, None, None), [ev("progress", "x")]).attention == ("info", "x")


def test_hooks_of_agents_with_transcripts_make_no_thread_entries() -> None:
    """Claude Code's and Codex's threads come from their records (docs/usage.md): their
    hooks' messages, tool calls and results stay events only, so nothing counts twice."""
    fx = plan(TaskState(RUNNING, None, None), [
        ev("tool_call", "Bash: ls", source="claude-hook", tool="Bash"),
        ev("result", "done", source="codex-notify", content="done"),
        ev("message", "hi", source="my-agent", content="hi")])
    assert [kind for _, _, kind, _ in fx.thread] == ["message"]


def test_thread_usage_and_artifact_rows() -> None:
    fx = plan(TaskState(RUNNING, None, None), [
        ev("message", "hi", role="user", content="hi"),
        ev("tool_call", "Bash: ls", ts=5.0, tool="Bash"),
        ev("result", "done"),
        ev("usage", "tokens", tokens_in=10, tokens_out=2),
        ev("artifact", "report", type="report", path="/tmp/r.txt"),
    ])
    assert [(ts, role, kind) for ts, role, kind, _ in fx.thread] == [
        (None, "user", "message"), (5.0, "tool", "tool_call"), (None, "assistant", "result")]
    assert fx.thread[1][3] == {"summary": "Bash: ls", "tool": "Bash", "args": "Bash: ls"}
    assert fx.usage == [(None, {"tokens_in": 10, "tokens_out": 2})]
    a = fx.artifacts[0]
    assert (a.ts, a.kind, a.path, a.description, a.stored) == (
        None, "report", "/tmp/r.txt", "report", None)


def test_a_conversation_event_names_the_sessions_conversation_latest_wins() -> None:
    fx = plan(TaskState(RUNNING, None, None), [ev("conversation", "c", id="a1"),
                                              ev("progress", "p"),
                                              ev("conversation", "c", id="b2")])
    assert fx.conversation == "b2"
    assert fx.transitions == [] and fx.thread == []
    assert plan(TaskState(RUNNING, None, None), [ev("progress", "p")]).conversation is None


@pytest.mark.parametrize("data", [{}, {"id": ""}, {"id": "-x"}, {"id": "a b"}, {"id": 7},
                                  {"id": "x" * 201}])
def test_a_conversation_event_without_a_usable_id_is_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="event 0: field 'data.id' must be the agent's "
                                         "conversation id"):
        validate_batch([{"kind": "conversation", "summary": "c", "data": data}])
    assert validate_batch([{"kind": "conversation", "summary": "c",
                            "data": {"id": "ses_01:a.b-c"}}])[0].data == {"id": "ses_01:a.b-c"}
