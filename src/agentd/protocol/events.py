"""Events from agents: the kinds and the validation of `append_session_events` batches.

See docs/events.md for the contract; this module is its executable form.
"""

from __future__ import annotations

import json
import math
from typing import Any

from agentd.attention import LEVELS
from agentd.errors import UsageError

MAX_BATCH = 1000
MAX_SUMMARY = 500
MAX_DATA_BYTES = 64 * 1024
FIELDS = {"kind", "attention", "summary", "data", "ts"}

# Kinds an agent may send, with their default attention. `x-...` kinds are free for
# extensions and default to info.
AGENT_KINDS: dict[str, str] = {
    "progress": "info",        # a step of work; nothing to do for the user
    "message": "info",         # thread: a message (data.role, data.content)
    "tool_call": "info",       # thread: a tool call (data.tool, data.input)
    "tool_result": "info",     # thread: its result (data.tool, data.output, data.ok)
    "usage": "info",           # tokens and cost (data.tokens_in, tokens_out, cache_read_tokens,
                               # cache_write_tokens, cost_usd, model)
    "artifact": "notice",      # a durable output (data.path, data.type, data.description)
    "waiting": "action",       # the agent waits for the user: the task becomes blocked
    "resumed": "info",         # the agent works again: the task becomes running
    "result": "notice",        # thread: the final result (data.content)
    "error": "notice",         # something went wrong (data.message)
    "notify": "notice",        # anything else worth the user's attention
    "setup": "info",           # a worktree's setup command (data.phase: started|done|failed)
    "conversation": "info",    # the agent's own id for its conversation (data.id)
}
THREAD_KINDS = {"message", "tool_call", "tool_result", "result"}


def is_conversation_id(value: Any) -> bool:
    """An agent's conversation id is passed back to it as an argument (`agent resume`):
    1-200 ASCII letters, digits and `._:-`, not starting with `-` (never an option). The
    hook's side of this rule is agents/base.conversation_id (it imports nothing of ours)."""
    return isinstance(value, str) and 0 < len(value) <= 200 and value[0] != "-" and all(
        c.isascii() and (c.isalnum() or c in "._:-") for c in value)


class AgentEvent:
    """One checked event. A plain slotted class, not a dataclass: every session worker loads
    this module (through the store, for its fallback write), and importing dataclasses would
    cost each worker ~1.4 MB."""

    __slots__ = ("kind", "attention", "summary", "data", "ts")

    def __init__(self, kind: str, attention: str, summary: str, data: dict[str, Any],
                 ts: float | None) -> None:
        self.kind, self.attention, self.summary, self.data, self.ts = (
            kind, attention, summary, data, ts)

    def _fields(self) -> tuple[Any, ...]:
        return (self.kind, self.attention, self.summary, self.data, self.ts)

    def __eq__(self, other: object) -> bool:
        return type(other) is AgentEvent and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "AgentEvent({!r}, {!r}, {!r}, {!r}, {!r})".format(*self._fields())


def validate_batch(events: Any) -> list[AgentEvent]:
    """All or nothing: the first bad event rejects the batch, naming its index and field."""
    if not isinstance(events, list) or not events:
        raise UsageError("'events' must be a non-empty list of event objects")
    if len(events) > MAX_BATCH:
        raise UsageError(f"batch of {len(events)} events exceeds the limit of {MAX_BATCH}")
    return [_validate(i, e) for i, e in enumerate(events)]


def _validate(i: int, e: Any) -> AgentEvent:
    def bad(field: str, what: str) -> UsageError:
        return UsageError(f"event {i}: field '{field}' {what}; batch rejected, nothing stored")

    if not isinstance(e, dict):
        raise UsageError(f"event {i}: must be an object; batch rejected, nothing stored")
    for key in e:
        if key not in FIELDS:
            raise bad(key, f"is unknown (allowed: {', '.join(sorted(FIELDS))})")
    kind = e.get("kind")
    if not isinstance(kind, str) or not kind:
        raise bad("kind", "is required and must be a non-empty string")
    if kind not in AGENT_KINDS and not (kind.startswith("x-") and len(kind) > 2):
        raise bad("kind", f"has unknown kind {kind!r} (known: {', '.join(AGENT_KINDS)}; "
                          "extensions use an 'x-' prefix)")
    attention = e.get("attention", AGENT_KINDS.get(kind, "info"))
    if attention not in LEVELS:
        raise bad("attention", f"must be one of {', '.join(LEVELS)}")
    summary = e.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise bad("summary", "is required and must be a non-empty string")
    if len(summary) > MAX_SUMMARY:
        raise bad("summary", f"is longer than {MAX_SUMMARY} characters")
    data = e.get("data", {})
    if not isinstance(data, dict):
        raise bad("data", "must be an object")
    if len(json.dumps(data)) > MAX_DATA_BYTES:
        raise bad("data", f"is larger than {MAX_DATA_BYTES} bytes as JSON")
    if kind == "usage":
        for key in ("tokens_in", "tokens_out", "cache_read_tokens", "cache_write_tokens"):
            v = data.get(key, 0)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise bad(f"data.{key}", "must be a whole number ≥ 0")
        cost = data.get("cost_usd", 0)
        if not isinstance(cost, int | float) or isinstance(cost, bool) or cost < 0:
            raise bad("data.cost_usd", "must be a number ≥ 0")
    if kind == "conversation" and not is_conversation_id(data.get("id")):
        raise bad("data.id", "must be the agent's conversation id: 1-200 letters, digits "
                             "or ._:- not starting with -")
    ts = e.get("ts")
    if ts is not None and (not isinstance(ts, int | float) or isinstance(ts, bool)
                           or not math.isfinite(ts)):
        raise bad("ts", "must be a Unix timestamp in seconds")
    return AgentEvent(kind, attention, summary.strip().splitlines()[0], data,
                      float(ts) if ts is not None else None)
