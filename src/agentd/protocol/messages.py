"""The wire vocabulary. Every message on every agentd socket is one of these.

JSON frames carry `Request`, `Reply`, `Failure` and `Push`; binary frames carry PTY bytes
as `Output` (worker → client) and `Input` (client → worker). `Invalid` never travels: the
decoder produces it for a frame it could not understand, so the receiver can answer with
an error naming the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    id: int
    result: Any = None


@dataclass(frozen=True, slots=True)
class Failure:
    id: int | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Push:
    """An unsolicited message from the server: an event, a status change, a detach."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Output:
    data: bytes


@dataclass(frozen=True, slots=True)
class Input:
    data: bytes


@dataclass(frozen=True, slots=True)
class Invalid:
    """A frame the decoder could not turn into a message. `fatal`: the stream is unusable."""

    reason: str
    fatal: bool = False
    id: int | None = None


Message = Request | Reply | Failure | Push | Output | Input
