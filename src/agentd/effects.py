"""What a batch of agent events does to its task, as a pure function: `plan(task, events)`
returns the `Effects` (attention, lifecycle inputs, thread entries, usage, artifacts, the
session's conversation id) that
the store then executes in the batch's transaction. The rules it applies come from
`agentd.lifecycle` (who may block and unblock a task) and `agentd.attention` (ranking).
It sits beside them, not in daemon/, because the store (below the daemon) plans inside
the batch's transaction, where the task's state is read.
"""

from __future__ import annotations

import json
from typing import Any

from agentd import attention, lifecycle
from agentd.protocol.events import THREAD_KINDS, AgentEvent
from agentd.records import RESULT_LIMIT, clip, short_args


class TaskState:
    """What the plan needs to know of the task before the batch."""

    __slots__ = ("status", "attention", "blocked_source")

    def __init__(self, status: str, attention: str | None, blocked_source: str | None) -> None:
        self.status, self.attention, self.blocked_source = status, attention, blocked_source


class Transition:
    """A lifecycle input to feed the task, with the evidence behind it."""

    __slots__ = ("input", "reason", "evidence")

    def __init__(self, input: str, reason: str, evidence: str) -> None:
        self.input, self.reason, self.evidence = input, reason, evidence

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transition) and (self.input, self.reason, self.evidence) == (
            other.input, other.reason, other.evidence)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Transition({self.input!r}, {self.reason!r}, {self.evidence!r})"


class ArtifactRow:
    """An artifact an event records; a file the daemon copied carries `stored` and the rest
    (daemon/artifacts.py fills them in before the batch is stored)."""

    __slots__ = ("ts", "kind", "path", "description", "data", "stored", "size", "sha256",
                 "mime")

    def __init__(self, ts: float | None, data: dict[str, Any], summary: str) -> None:
        self.ts = ts
        self.kind = str(data.get("type", "file"))
        self.path = data.get("path")
        self.description = str(data.get("description", summary))
        self.stored, self.size = data.get("stored"), data.get("size")
        self.sha256, self.mime = data.get("sha256"), data.get("mime")
        self.data = json.dumps({k: v for k, v in data.items() if k in ("tests",)})


class Effects:
    __slots__ = ("attention", "transitions", "blocked_source", "thread", "usage", "artifacts",
                 "conversation")

    def __init__(self) -> None:
        self.attention: tuple[str, str] | None = None  # (level, summary) to set
        self.transitions: list[Transition] = []
        self.blocked_source: str | None = None  # set when a stronger wait arrives
        # ts, role, kind, content
        self.thread: list[tuple[float | None, str, str, dict[str, Any]]] = []
        self.usage: list[tuple[float | None, dict[str, Any]]] = []
        self.artifacts: list[ArtifactRow] = []
        self.conversation: str | None = None  # the agent's conversation id for the session


def thread_role(e: AgentEvent) -> str:
    return str(e.data.get("role") or ("assistant" if e.kind in ("message", "result")
                                       else "tool"))


def thread_content(e: AgentEvent) -> dict[str, Any]:
    """An instrumented agent's thread event in the shape entries read from records have
    (docs/usage.md): text; tool, args, call_id; call_id, output, is_error. The event's
    summary and data are kept beside them."""
    d = e.data
    content: dict[str, Any] = {**d, "summary": e.summary}
    if e.kind in ("message", "result"):
        text = d.get("content", d.get("text"))
        content["text"] = text if isinstance(text, str) else e.summary
    elif e.kind == "tool_call":
        content["tool"] = str(d.get("tool") or "tool")
        given = d.get("input", d.get("args", d.get("path")))
        content["args"] = short_args(given) if given is not None else e.summary
    elif e.kind == "tool_result":
        output = d.get("output", e.summary)
        content["output"] = clip(output if isinstance(output, str) else json.dumps(output),
                                 RESULT_LIMIT)
        content["is_error"] = d.get("ok") is False
    return content


def plan(task: TaskState, events: list[AgentEvent]) -> Effects:
    fx = Effects()
    # Attention: the latest of the highest-ranked events that tell something new.
    telling = [e for e in events if not (
        e.kind == "waiting" and task.status == lifecycle.BLOCKED
        and not lifecycle.wait_replaces(lifecycle.evidence_of(e.data), task.blocked_source))]
    if telling:
        top = max(reversed(telling), key=lambda e: attention.rank(e.attention))
        if task.attention is None or attention.rank(top.attention) >= attention.rank(
                task.attention):
            fx.attention = (top.attention, top.summary)

    status, blocked_source = task.status, task.blocked_source
    for e in events:
        if e.kind == "waiting":
            evidence = lifecycle.evidence_of(e.data)
            if lifecycle.next_status(status, "wait"):
                fx.transitions.append(Transition("wait", e.summary, evidence))
                status, blocked_source = lifecycle.BLOCKED, evidence
            elif status == lifecycle.BLOCKED and evidence != blocked_source and \
                    lifecycle.wait_replaces(evidence, blocked_source):
                blocked_source = fx.blocked_source = evidence
        elif e.kind == "resumed":
            evidence = lifecycle.evidence_of(e.data)
            if lifecycle.next_status(status, "resume") and lifecycle.resume_applies(
                    evidence, blocked_source):
                fx.transitions.append(Transition("resume", e.summary, evidence))
                status, blocked_source = lifecycle.RUNNING, None
        if e.kind in THREAD_KINDS:
            # The agents with hooks keep transcripts the daemon reads: the thread comes
            # from there, each entry once, not from their hooks as well (docs/usage.md).
            if lifecycle.evidence_of(e.data) != lifecycle.HOOK:
                fx.thread.append((e.ts, thread_role(e), e.kind, thread_content(e)))
        elif e.kind == "usage":
            fx.usage.append((e.ts, e.data))
        elif e.kind == "conversation":
            fx.conversation = str(e.data["id"])  # the latest in the batch wins
        elif e.kind == "artifact":
            fx.artifacts.append(ArtifactRow(e.ts, e.data, e.summary))
    if fx.transitions:
        fx.blocked_source = None  # the transitions carry it
    return fx
