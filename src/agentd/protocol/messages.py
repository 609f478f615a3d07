"""The wire vocabulary. Every message on every agentd socket is one of these.

JSON frames carry `Request`, `Reply`, `Failure` and `Push`; binary frames carry PTY bytes
as `Output` (worker → client) and `Input` (client → worker). `Invalid` never travels: the
decoder produces it for a frame it could not understand, so the receiver can answer with
an error naming the problem.

Plain slotted classes rather than dataclasses: this module is on the start-up path of
every `agent` command, and importing dataclasses costs more than the whole protocol.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Message:
    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(
            getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{s}={getattr(self, s)!r}" for s in self.__slots__)
        return f"{type(self).__name__}({fields})"

    __hash__ = None  # type: ignore[assignment]


class Request(_Message):
    __slots__ = ("id", "name", "params")

    def __init__(self, id: int, name: str, params: dict[str, Any] | None = None) -> None:
        self.id, self.name, self.params = id, name, {} if params is None else params


class Reply(_Message):
    __slots__ = ("id", "result")

    def __init__(self, id: int, result: Any = None) -> None:
        self.id, self.result = id, result


class Failure(_Message):
    __slots__ = ("id", "code", "message")

    def __init__(self, id: int | None, code: str, message: str) -> None:
        self.id, self.code, self.message = id, code, message


class Push(_Message):
    """An unsolicited message from the server: an event, a status change, a detach."""

    __slots__ = ("name", "data")

    def __init__(self, name: str, data: dict[str, Any] | None = None) -> None:
        self.name, self.data = name, {} if data is None else data


class Output(_Message):
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Input(_Message):
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Invalid(_Message):
    """A frame the decoder could not turn into a message. `fatal`: the stream is unusable."""

    __slots__ = ("reason", "fatal", "id")

    def __init__(self, reason: str, fatal: bool = False, id: int | None = None) -> None:
        self.reason, self.fatal, self.id = reason, fatal, id


Message = Request | Reply | Failure | Push | Output | Input
