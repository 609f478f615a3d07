"""The signals still to send to the agent's process group, and when (the escalation of
`agentd.procs`: SIGHUP at once, SIGTERM after half the grace time, SIGKILL after all of it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentd.procs import escalation, signal_group


class KillPlan:
    def __init__(self, pgid: int, arm: Callable[[Any], None],
                 send: Callable[[int, int], object] = signal_group) -> None:
        self.pgid = pgid
        self.arm = arm
        self.send = send
        self.steps: list[tuple[float, int]] = []  # (monotonic time, signal), in order

    def start(self, steps: list[tuple[float, int]], now: float) -> None:
        """Replace the plan by `steps`, (seconds from now, signal)."""
        self.steps = [(now + at, sig) for at, sig in steps]
        if self.steps:
            self.arm(self)

    def terminate(self, grace: float, now: float) -> None:
        """Stop the agent within `grace` seconds; the first signal goes at once."""
        self.start(escalation(grace), now)
        self.fire(now)

    def cancel(self) -> None:
        self.steps = []

    def deadline(self) -> float | None:
        return self.steps[0][0] if self.steps else None

    def fire(self, now: float) -> None:
        while self.steps and self.steps[0][0] <= now:
            _, sig = self.steps.pop(0)
            self.send(self.pgid, sig)
