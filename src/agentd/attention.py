"""Attention levels (docs/events.md): the one definition the store, the CLI and the TUI
rank by. A task's attention is the highest level among its events not yet acknowledged."""

from __future__ import annotations

INFO, NOTICE, ACTION = "info", "notice", "action"
LEVELS = (INFO, NOTICE, ACTION)  # lowest first
RANK = {level: n for n, level in enumerate(LEVELS)}


def rank(level: str | None) -> int:
    """0 info, 1 notice, 2 action; -1 for none (just acknowledged)."""
    return RANK.get(level or "", -1)


def at_least(level: str) -> tuple[str, ...]:
    """The levels at or above `level`."""
    return LEVELS[RANK[level]:]
