"""Blocked detection from the screen: per-agent `waiting_patterns`, `busy_patterns` and
`idle_seconds` (config), checked against the screen model at most twice a second and only
after new output. A waiting pattern on screen means waiting; a busy pattern only vetoes the
idle verdict; with busy patterns configured, "working again" needs one on screen.
Edge-triggered: an event is produced only when the verdict changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agentd.worker.screen import Screen

CHECK_INTERVAL = 0.5
# While the emulator is this far behind the output (a flood), the watch does not look: reading
# the screen would feed it all at once. The worker loop feeds it in the next pause.
FAR_BEHIND = 1 << 20


class ScreenWatch:
    def __init__(self, waiting: list[str], busy: list[str], idle_seconds: float, *,
                 screen: Screen, last_output: Callable[[], float],
                 report: Callable[[dict[str, Any]], None], arm: Callable[[Any], None]) -> None:
        self.waiting = [re.compile(p) for p in waiting]
        self.busy = [re.compile(p) for p in busy]
        self.idle_seconds = idle_seconds
        self.screen = screen
        self.last_output = last_output  # monotonic time of the latest output; 0.0 before any
        self.report = report
        self.arm = arm
        self.active = bool(self.waiting or self.idle_seconds)
        self.state = "busy"
        self.checked_at = 0.0
        self.dirty = False

    def stop(self) -> None:
        """The agent has exited: nothing more to watch."""
        self.active = False

    def saw_output(self) -> None:
        if not self.dirty:  # once per look: this runs on every read of the PTY
            self.dirty = True
            if self.active:
                self.arm(self)

    def fire(self, now: float) -> None:
        if not self.active or self.screen.behind >= FAR_BEHIND:
            return
        event = self.check(now, self.last_output(), self.screen.text)
        if event:
            self.report(event)

    def deadline(self) -> float | None:
        if not self.active:
            return None
        last_output = self.last_output()
        times = []
        if self.dirty:
            times.append(self.checked_at + CHECK_INTERVAL)
        if self.idle_seconds and self.state != "idle" and last_output:
            times.append(last_output + self.idle_seconds)
        return min(times) if times else None

    @staticmethod
    def _last(patterns: list[re.Pattern[str]], text: str) -> tuple[str | None, int]:
        found, at = None, -1
        for p in patterns:
            for m in p.finditer(text):
                if m.start() > at:
                    found, at = p.pattern, m.start()
        return found, at

    def saw_input(self, now: float) -> None:
        """The user typed: look again after the agent had a moment to react (not at once,
        while its question is still on the screen), and report a question still there."""
        self.checked_at = now
        if self.state != "busy":
            self.state = "busy"
            self.dirty = True
            if self.active:
                self.arm(self)

    def check(self, now: float, last_output: float,
              lines: Callable[[], list[str]]) -> dict[str, Any] | None:
        """An event to report, when the verdict changed."""
        due = self.dirty and now >= self.checked_at + CHECK_INTERVAL
        idle_due = (self.idle_seconds and last_output and self.state != "idle"
                    and now - last_output >= self.idle_seconds)
        if not (due or idle_due):
            return None
        self.checked_at, self.dirty = now, False
        text = "\n".join(lines())
        match, wait_at = self._last(self.waiting, text)
        _, busy_at = self._last(self.busy, text)
        busy = busy_at > wait_at  # whichever shows lower on the screen is the news
        if busy:
            match = None
        summary, attention = "working again", "info"
        if match:
            new, summary, attention = "waiting", f"screen shows {match!r}", "action"
        elif busy:
            new = "busy"
        elif idle_due:
            new = "idle"
            summary, attention = f"no output for {self.idle_seconds:g}s", "notice"
        elif self.state == "idle" or not self.busy:
            # New output after idling, or a question gone from an agent with no busy
            # indicator to look for: working again.
            new = "busy"
        else:
            # The question is gone but no busy indicator shows: leave the verdict to the
            # agent's hooks (a Stop hook may just have said it waits for a new prompt).
            new = self.state
        if new == self.state:
            return None
        was, self.state = self.state, new
        if new == "busy":
            return {"kind": "resumed", "attention": "info", "summary": summary,
                    "data": {"source": "screen", "was": was}}
        if new == "idle":  # the evidence is the silence, not the screen (lifecycle.IDLE)
            return {"kind": "waiting", "attention": attention, "summary": summary,
                    "data": {"source": "idle", "seconds": self.idle_seconds}}
        return {"kind": "waiting", "attention": attention, "summary": summary,
                "data": {"source": "screen", "pattern": match}}
