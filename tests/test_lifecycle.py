"""The lifecycle rules in agentd.lifecycle: every (status, input) pair, and the guards on
which evidence may block and unblock a task."""

from __future__ import annotations

import itertools
import re

import pytest

from agentd import lifecycle as s
from agentd.lifecycle import BLOCKED, COMPLETED, FAILED, KILLED, LOST, RUNNING

INPUTS = ("start", "wait", "resume", "exit_ok", "exit_error", "kill", "vanish")

# The whole table written out by hand: (current, input) -> next, None = unchanged.
EXPECTED: dict[tuple[str | None, str], str | None] = {
    (None, "start"): RUNNING,
    (None, "wait"): None,
    (None, "resume"): None,
    (None, "exit_ok"): None,
    (None, "exit_error"): None,
    (None, "kill"): None,
    (None, "vanish"): None,

    (RUNNING, "start"): None,
    (RUNNING, "wait"): BLOCKED,
    (RUNNING, "resume"): None,
    (RUNNING, "exit_ok"): COMPLETED,
    (RUNNING, "exit_error"): FAILED,
    (RUNNING, "kill"): KILLED,
    (RUNNING, "vanish"): LOST,

    (BLOCKED, "start"): None,
    (BLOCKED, "wait"): None,
    (BLOCKED, "resume"): RUNNING,
    (BLOCKED, "exit_ok"): COMPLETED,
    (BLOCKED, "exit_error"): FAILED,
    (BLOCKED, "kill"): KILLED,
    (BLOCKED, "vanish"): LOST,

    (COMPLETED, "start"): RUNNING,
    (COMPLETED, "wait"): None,
    (COMPLETED, "resume"): None,
    (COMPLETED, "exit_ok"): None,
    (COMPLETED, "exit_error"): None,
    (COMPLETED, "kill"): None,
    (COMPLETED, "vanish"): None,

    (FAILED, "start"): RUNNING,
    (FAILED, "wait"): None,
    (FAILED, "resume"): None,
    (FAILED, "exit_ok"): None,
    (FAILED, "exit_error"): None,
    (FAILED, "kill"): None,
    (FAILED, "vanish"): None,

    (KILLED, "start"): RUNNING,
    (KILLED, "wait"): None,
    (KILLED, "resume"): None,
    (KILLED, "exit_ok"): None,
    (KILLED, "exit_error"): None,
    (KILLED, "kill"): None,
    (KILLED, "vanish"): None,

    (LOST, "start"): RUNNING,
    (LOST, "wait"): None,
    (LOST, "resume"): None,
    (LOST, "exit_ok"): COMPLETED,
    (LOST, "exit_error"): FAILED,
    (LOST, "kill"): KILLED,
    (LOST, "vanish"): None,
}


def test_expected_table_covers_every_pair() -> None:
    assert set(EXPECTED) == set(itertools.product((None, *s.ALL), INPUTS))
    assert frozenset(INPUTS) == s.INPUTS


@pytest.mark.parametrize(("current", "event"), sorted(EXPECTED, key=repr))
def test_every_pair(current: str | None, event: str) -> None:
    assert s.next_status(current, event) == EXPECTED[(current, event)]


def test_table_has_no_entries_beyond_the_expected_ones() -> None:
    declared = {k: v for k, v in EXPECTED.items() if v is not None}
    assert declared == s.TRANSITIONS


def test_status_sets() -> None:
    assert set(s.ALL) == s.ACTIVE | s.ENDED
    assert not s.ACTIVE & s.ENDED
    assert {RUNNING, BLOCKED} == s.ACTIVE
    assert set(s.ICONS) == set(s.ALL)
    # Every status the table can produce is a known one.
    assert set(s.TRANSITIONS.values()) <= set(s.ALL)


@pytest.mark.parametrize("ended", [COMPLETED, FAILED, KILLED])
@pytest.mark.parametrize("event", ["wait", "resume"])
def test_terminal_states_ignore_wait_and_resume(ended: str, event: str) -> None:
    assert s.next_status(ended, event) is None


@pytest.mark.parametrize("event", ["exit_ok", "exit_error", "vanish", "kill"])
def test_killed_stays_killed(event: str) -> None:
    assert s.next_status(KILLED, event) is None


def test_lost_tells_the_truth_on_a_late_exit_report() -> None:
    assert s.next_status(LOST, "exit_ok") == COMPLETED
    assert s.next_status(LOST, "exit_error") == FAILED


@pytest.mark.parametrize("ended", sorted(s.ENDED))
def test_ended_states_can_start_again(ended: str) -> None:
    assert s.next_status(ended, "start") == RUNNING


@pytest.mark.parametrize("active", [RUNNING, BLOCKED])
def test_active_states_do_not_start_twice(active: str) -> None:
    assert s.next_status(active, "start") is None


def test_a_whole_life() -> None:
    state: str | None = None
    for event, want in [("start", RUNNING), ("wait", BLOCKED), ("wait", BLOCKED),
                        ("resume", RUNNING), ("vanish", LOST), ("exit_error", FAILED),
                        ("start", RUNNING), ("kill", KILLED), ("exit_ok", KILLED),
                        ("start", RUNNING), ("exit_ok", COMPLETED)]:
        state = s.next_status(state, event) or state
        assert state == want, event


@pytest.mark.parametrize("event", ["", "exit", "Start", "stop", "killed"])
def test_unknown_input_raises(event: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(event))):
        s.next_status(RUNNING, event)
    with pytest.raises(ValueError):
        s.next_status(None, event)


# -- the evidence guards ---------------------------------------------------------------------

H, A, SC, ID, U = s.HOOK, s.AGENT, s.SCREEN, s.IDLE, s.USER

# (evidence of a `resumed` event, blocked_source) -> does it take the block back? By hand.
EXPECTED_RESUME = {
    (H, H): True, (H, A): True, (H, SC): True, (H, ID): True,
    (A, H): True, (A, A): True, (A, SC): True, (A, ID): True,
    (U, H): True, (U, A): True, (U, SC): True, (U, ID): True,
    (SC, H): False, (SC, A): False, (SC, SC): True, (SC, ID): True,
    (ID, H): False, (ID, A): False, (ID, SC): True, (ID, ID): True,
}

# (evidence of a `waiting` event, blocked_source) on a blocked task -> does it replace the
# block's source and summary? By hand.
EXPECTED_WAIT = {
    (H, H): True, (H, A): True, (H, SC): True, (H, ID): True,
    (A, H): True, (A, A): True, (A, SC): True, (A, ID): True,
    (SC, H): False, (SC, A): False, (SC, SC): False, (SC, ID): False,
    (ID, H): False, (ID, A): False, (ID, SC): False, (ID, ID): False,
}


def test_resume_guard_table_is_exactly_the_expected_one() -> None:
    assert s.RESUME_TAKES_BACK == EXPECTED_RESUME
    for (evidence, source), want in EXPECTED_RESUME.items():
        assert s.resume_applies(evidence, source) is want


def test_wait_guard_table_is_exactly_the_expected_one() -> None:
    assert s.WAIT_REPLACES == EXPECTED_WAIT
    for (evidence, source), want in EXPECTED_WAIT.items():
        assert s.wait_replaces(evidence, source) is want


def test_a_block_of_unknown_origin_counts_as_the_agents_word() -> None:
    # A task blocked before blocked_source existed (NULL) is treated as the agent's block.
    assert s.resume_applies(SC, None) is False
    assert s.resume_applies(H, None) is True


@pytest.mark.parametrize(("data", "evidence"), [
    ({"source": "screen"}, SC), ({"source": "idle"}, ID), ({"source": "user"}, U),
    ({"source": "claude-hook"}, H), ({"source": "codex-notify"}, H),
    ({}, A), ({"source": "my-agent"}, A), ({"source": 3}, A),
])
def test_evidence_comes_from_data_source(data: dict[str, object], evidence: str) -> None:
    assert s.evidence_of(data) == evidence


@pytest.mark.parametrize(("ended", "lost", "code", "counts"), [
    (False, False, None, True),   # the first report
    (True, False, 0, False),      # a second report
    (True, True, None, True),     # late report after the daemon gave it up for lost
    (True, True, 3, False),       # ...only once
])
def test_exit_report_counts(ended: bool, lost: bool, code: int | None, counts: bool) -> None:
    assert s.exit_report_counts(ended, lost, code) is counts


def test_the_last_session_of_a_task_to_end_decides() -> None:
    assert s.session_end_decides(other_sessions_live=False) is True
    assert s.session_end_decides(other_sessions_live=True) is False
