"""Input for the agent's PTY: the queue, input held for later, and typing the prompt.

Input is written in the order it was given: nothing overtakes input held for later (an Enter
sent a moment after its text waits, and so does everything sent after it)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

CHUNK = 4096  # bytes per write to the PTY
LIMIT = 1 << 20  # input held for an agent that does not read: past it, clients wait
PROMPT_WAIT = 5.0  # the prompt is typed this long after start at the latest,
PROMPT_QUIET = 0.5  # or as soon as the agent's first output has paused this long


class InputQueue:
    def __init__(self, fd: int, want_write: Callable[[bool], None], arm: Callable[[Any], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fd = fd  # -1 once the PTY is closed: input goes nowhere
        self.want_write = want_write  # the PTY must (not) be watched for room to write
        self.arm = arm
        self.clock = clock
        self.queue = bytearray()
        self.delayed: list[tuple[float, bytes]] = []  # (monotonic time, bytes), in order
        self.delayed_bytes = 0
        self.writing = False

    @property
    def pending(self) -> int:
        """Bytes queued that the PTY has not taken yet (not counting input held for later)."""
        return len(self.queue)

    @property
    def full(self) -> bool:
        """More input is held (queued or for later) than an agent should be sent before it
        reads some: the worker stops reading its clients' input until it has (LIMIT)."""
        return len(self.queue) + self.delayed_bytes >= LIMIT

    @property
    def roomy(self) -> bool:
        return len(self.queue) + self.delayed_bytes < LIMIT // 2

    def send(self, data: bytes, delay: float = 0.0) -> None:
        """Queue input, after any held for later; `delay` seconds from now at the earliest."""
        if delay or self.delayed:
            last = self.delayed[-1][0] if self.delayed else 0.0
            self.delayed.append((max(self.clock() + delay, last), data))
            self.delayed_bytes += len(data)
            self.arm(self)
            return
        if not self.queue and self.fd >= 0 and len(data) <= CHUNK:
            try:  # the usual keystroke: straight to the PTY, no queue
                n = os.write(self.fd, data)
            except BlockingIOError:
                n = 0
            except OSError:
                return
            if n == len(data):
                return
            data = data[n:]
        self.queue += data
        self.write()

    def write(self) -> None:
        """Write what the PTY takes now; the rest waits until it has room."""
        if self.fd < 0:
            self.queue.clear()
            return
        while self.queue:
            try:
                n = os.write(self.fd, self.queue[:CHUNK])
            except BlockingIOError:
                break
            except OSError:
                self.queue.clear()
                break
            del self.queue[:n]
        if self.writing != bool(self.queue):
            self.writing = bool(self.queue)
            self.want_write(self.writing)

    def close(self) -> None:
        """The PTY is gone: drop what is queued, and take no more."""
        self.fd = -1
        self.queue.clear()
        self.delayed.clear()
        self.delayed_bytes = 0
        self.writing = False

    def deadline(self) -> float | None:
        return self.delayed[0][0] if self.delayed else None

    def fire(self, now: float) -> None:
        while self.delayed and self.delayed[0][0] <= now:
            data = self.delayed.pop(0)[1]
            self.delayed_bytes -= len(data)
            self.queue += data
        self.write()


class PromptTyper:
    """Types the prompt (prompt_mode "type") once the agent looks ready for it: when its
    first output has paused for PROMPT_QUIET, or PROMPT_WAIT after start at the latest."""

    def __init__(self, prompt: str, send: Callable[[bytes], None],
                 last_output: Callable[[], float], start: float,
                 arm: Callable[[Any], None]) -> None:
        self.text = prompt.encode() + b"\r"
        self.send = send
        self.last_output = last_output  # monotonic time of the latest output; 0.0 before any
        self.at: float | None = start + PROMPT_WAIT
        arm(self)

    def deadline(self) -> float | None:
        if self.at is None:
            return None
        last = self.last_output()
        return min(self.at, last + PROMPT_QUIET) if last else self.at

    def fire(self, now: float) -> None:
        if self.at is None:
            return
        last = self.last_output()
        if now >= self.at or (last and now - last > PROMPT_QUIET):
            self.at = None
            self.send(self.text)
