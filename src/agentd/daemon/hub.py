"""The hub that wakes `stream_events` followers as soon as new events are committed."""

from __future__ import annotations

import asyncio


class Hub:
    """Wakes every follower when events are committed (no polling interval)."""

    def __init__(self) -> None:
        self.waiters: set[asyncio.Event] = set()

    def notify(self) -> None:
        for w in self.waiters:
            w.set()

    def subscribe(self) -> asyncio.Event:
        ev = asyncio.Event()
        self.waiters.add(ev)
        return ev

    def unsubscribe(self, ev: asyncio.Event) -> None:
        self.waiters.discard(ev)
