"""The task lifecycle. All status rules live in this one table; no status string is
assigned anywhere else (the store calls `next_status`).

Inputs:
  start       a session starts (the first, or a restart of an ended task)
  wait        the agent waits for the user (hook, instrumented event, screen pattern)
  resume      the agent works again
  exit_ok     the agent exited with status 0
  exit_error  the agent exited non-zero, was killed by a signal, or could not start
  kill        the user stopped the task
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
    # An ended task can be started again (a new session).
    (COMPLETED, "start"): RUNNING,
    (FAILED, "start"): RUNNING,
    (KILLED, "start"): RUNNING,
    (LOST, "start"): RUNNING,
}

INPUTS = frozenset(i for _, i in TRANSITIONS)


def next_status(current: str | None, event: str) -> str | None:
    """The status after `event`, or None when the event does not change it."""
    if event not in INPUTS:
        raise ValueError(f"unknown lifecycle input {event!r}")
    return TRANSITIONS.get((current, event))
