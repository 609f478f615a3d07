"""The task lifecycle. Every status rule lives in this module (h11's "Rule 1"): the
transition table, and the guards that say which evidence may move a task between running
and blocked. No status string is assigned anywhere else (the store executes the inputs
that `daemon/effects.py` plans with these rules).

Inputs:
  start       a session starts (the first, or a restart of an ended task)
  wait        the agent waits for the user (hook, instrumented event, screen pattern)
  resume      the agent works again
  exit_ok     the agent exited with status 0
  exit_error  the agent exited non-zero, was killed by a signal, or could not start
  kill        the user stopped the task (a lost task only while its agent still runs)
  vanish      the session's worker is gone and no exit status was recorded
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

RUNNING: Final = "running"
BLOCKED: Final = "blocked"
COMPLETED: Final = "completed"
FAILED: Final = "failed"
KILLED: Final = "killed"
LOST: Final = "lost"

ACTIVE = frozenset({RUNNING, BLOCKED})
ENDED = frozenset({COMPLETED, FAILED, KILLED, LOST})
ALL = (RUNNING, BLOCKED, COMPLETED, FAILED, KILLED, LOST)

ICONS = {RUNNING: "●", BLOCKED: "⚠", COMPLETED: "✔", FAILED: "✖", KILLED: "■", LOST: "?"}

# (current status or None for a new task, input) -> next status.
# A pair that is absent is ignored: the status stays as it is.
TRANSITIONS: Final[dict[tuple[str | None, str], str]] = {
    (None, "start"): RUNNING,
    (RUNNING, "wait"): BLOCKED,
    (BLOCKED, "resume"): RUNNING,
    (RUNNING, "exit_ok"): COMPLETED,
    (BLOCKED, "exit_ok"): COMPLETED,
    (RUNNING, "exit_error"): FAILED,
    (BLOCKED, "exit_error"): FAILED,
    (RUNNING, "kill"): KILLED,
    (BLOCKED, "kill"): KILLED,
    (RUNNING, "vanish"): LOST,
    (BLOCKED, "vanish"): LOST,
    # A worker that reports its exit after the daemon gave it up for lost tells the truth.
    (LOST, "exit_ok"): COMPLETED,
    (LOST, "exit_error"): FAILED,
    # The worker is gone but its agent still runs: the user can still stop it.
    (LOST, "kill"): KILLED,
    # An ended task can be started again (a new session).
    (COMPLETED, "start"): RUNNING,
    (FAILED, "start"): RUNNING,
    (KILLED, "start"): RUNNING,
    (LOST, "start"): RUNNING,
}

INPUTS = frozenset(i for _, i in TRANSITIONS)

# -- evidence: who says the agent waits or works ----------------------------------------
# Stored as tasks.blocked_source while a task is blocked; read from an event's
# data.source (docs/events.md), never from the wording of a summary.
HOOK = "hook"      # the agent's own hook or notify program (data.source "<agent>-hook|notify")
AGENT = "agent"    # an instrumented agent, `agent emit` (no data.source)
SCREEN = "screen"  # a waiting/busy pattern seen on the screen by the worker
IDLE = "idle"      # no output for the agent's idle_seconds (worker)
USER = "user"      # the user typed (send-input); resumes only
EVIDENCE = (HOOK, AGENT, SCREEN, IDLE, USER)
WORKER_EVIDENCE = frozenset({SCREEN, IDLE})


def evidence_of(data: dict[str, object]) -> str:
    """The kind of evidence an event's data.source names."""
    source = data.get("source")
    if source in (SCREEN, IDLE, USER):
        return str(source)
    if isinstance(source, str) and source.endswith(("-hook", "-notify")):
        return HOOK
    return AGENT


# (evidence of a `resumed` event, tasks.blocked_source) -> does it take the block back?
# The screen only takes back a block the worker put there: a hook that said "waiting for
# the next prompt" knows better than a spinner seen a moment too late.
RESUME_TAKES_BACK: Final[dict[tuple[str, str], bool]] = {
    (e, b): not (e in WORKER_EVIDENCE and b not in WORKER_EVIDENCE)
    for e in EVIDENCE for b in (HOOK, AGENT, SCREEN, IDLE)
}

# (evidence of a `waiting` event, tasks.blocked_source) on a task already blocked -> does
# the new event become the task's blocked_source and attention summary? A question seen on
# the screen of a task already blocked (say, by Claude's PermissionRequest hook) adds
# nothing; the agent's own word always does.
WAIT_REPLACES: Final[dict[tuple[str, str], bool]] = {
    (e, b): e not in WORKER_EVIDENCE
    for e in (HOOK, AGENT, SCREEN, IDLE) for b in (HOOK, AGENT, SCREEN, IDLE)
}


def resume_applies(evidence: str, blocked_source: str | None) -> bool:
    return RESUME_TAKES_BACK.get((evidence, blocked_source or AGENT), True)


def wait_replaces(evidence: str, blocked_source: str | None) -> bool:
    return WAIT_REPLACES.get((evidence, blocked_source or AGENT), True)


def exit_report_counts(ended: bool, lost: bool, exit_code: int | None) -> bool:
    """Is a session's exit report recorded? The first one is; a later one only when the
    daemon had given the session up for lost and no exit status was known: a worker that
    reports late tells the truth."""
    return not ended or (lost and exit_code is None)


def session_end_decides(other_sessions_live: bool) -> bool:
    """Does the end of a session (its exit, or its loss) decide the task's status? A task
    may run several sessions at once (`agent run --task`: a reviewer beside the agent);
    it is active while any of them is live, and the last one to end decides: its exit
    status (or its loss) becomes the task's."""
    return not other_sessions_live


def next_status(current: str | None, event: str) -> str | None:
    """The status after `event`, or None when the event does not change it."""
    if event not in INPUTS:
        raise ValueError(f"unknown lifecycle input {event!r}")
    return TRANSITIONS.get((current, event))
