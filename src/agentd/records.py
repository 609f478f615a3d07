"""What an agent's own record files (transcripts, rollouts, chat recordings) yield when the
daemon reads them: API calls with their token figures, and thread entries. Each integration
in agents/ has a `RecordReader` that turns the complete lines appended to a file into these
(docs/usage.md). Plain slotted classes: the store, the daemon and the readers share them.
"""

from __future__ import annotations

import json
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TEXT_LIMIT = 4000  # characters of a message kept in a thread entry
RESULT_LIMIT = 2000  # characters of a tool's result
ARGS_LIMIT = 200  # characters of a tool call's arguments, shown short


class Call:
    """One API call: tokens by kind, the model the agent asked for, when. `key` identifies
    the call across lines and rereads (None: count every one, as instrumented events)."""

    __slots__ = ("key", "ts", "model", "input", "output", "cache_read", "cache_write",
                 "provider")

    def __init__(self, key: str | None, ts: float | None, model: str | None, input: int = 0,
                 output: int = 0, cache_read: int = 0, cache_write: int = 0,
                 provider: str | None = None) -> None:
        self.key, self.ts, self.model, self.provider = key, ts, model, provider
        # input: uncached input tokens only; cache_read and cache_write apart.
        self.input, self.output = input, output
        self.cache_read, self.cache_write = cache_read, cache_write

    def merge(self, other: Call) -> Call:
        """The same call seen again (a streamed message re-logged): its final figures are
        the largest of each."""
        return Call(self.key, self.ts or other.ts, self.model or other.model,
                    max(self.input, other.input), max(self.output, other.output),
                    max(self.cache_read, other.cache_read),
                    max(self.cache_write, other.cache_write), self.provider or other.provider)

    def figures(self) -> tuple[int, int, int, int]:
        return self.input, self.output, self.cache_read, self.cache_write

    def __repr__(self) -> str:
        return (f"Call({self.key!r}, model={self.model!r}, in={self.input}, "
                f"out={self.output}, cr={self.cache_read}, cw={self.cache_write})")


class Entry:
    """One thread entry. kind: prompt, input, message, tool_call, tool_result, result,
    exit; `key` makes it count once (a tool call and its result share `call_id`)."""

    __slots__ = ("key", "ts", "role", "kind", "content")

    def __init__(self, key: str | None, ts: float | None, role: str, kind: str,
                 content: dict[str, Any]) -> None:
        self.key, self.ts, self.role, self.kind, self.content = key, ts, role, kind, content

    def __repr__(self) -> str:
        return f"Entry({self.key!r}, {self.role!r}, {self.kind!r}, {self.content!r})"


class Batch:
    """What one read of one file gave: calls, thread entries, and bad lines (by the byte
    offset where each starts, with why)."""

    __slots__ = ("calls", "entries", "bad", "more")

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.entries: list[Entry] = []
        self.bad: list[tuple[int, str]] = []
        self.more = False  # the read stopped short of the end: read again


def complete_lines(data: bytes, offset: int) -> tuple[list[tuple[int, bytes]], int]:
    """The complete lines of `data` (read from byte `offset` of a file) with the offset
    each starts at, and the offset after the last complete one: a half-written last line
    is left for the next read."""
    end = data.rfind(b"\n") + 1
    lines: list[tuple[int, bytes]] = []
    pos = 0
    for raw in data[:end].split(b"\n")[:-1]:
        lines.append((offset + pos, raw))
        pos += len(raw) + 1
    return lines, offset + end


def parse_lines(lines: list[tuple[int, bytes]],
                batch: Batch) -> list[tuple[int, dict[str, Any]]]:
    """Each line as a JSON object, with its offset; a line that is not one is recorded in
    `batch.bad`."""
    out = []
    for at, raw in lines:
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            batch.bad.append((at, f"not JSON ({e.msg})"))
            continue
        except ValueError:
            batch.bad.append((at, "not UTF-8 text"))
            continue
        if not isinstance(obj, dict):
            batch.bad.append((at, "not a JSON object"))
            continue
        out.append((at, obj))
    return out


def iso_ts(value: Any) -> float | None:
    """An ISO 8601 time ("2026-09-01T10:00:00.123Z") or epoch (s or ms) as epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value / 1000 if value > 1e11 else float(value)
    if not isinstance(value, str) or len(value) < 19:
        return None
    try:
        base = time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    import calendar

    frac = 0.0
    rest = value[19:]
    if rest.startswith("."):
        digits = ""
        for ch in rest[1:]:
            if not ch.isdigit():
                break
            digits += ch
        frac = float("0." + digits) if digits else 0.0
        rest = rest[1 + len(digits):]
    seconds = calendar.timegm(base) + frac
    if rest and rest[0] in "+-" and len(rest) >= 6:  # an offset such as +02:00
        sign = 1 if rest[0] == "+" else -1
        seconds -= sign * (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60)
    return seconds


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_args(value: Any) -> str:
    """A tool call's arguments on one short line."""
    if isinstance(value, dict):
        for key in ("command", "cmd", "file_path", "path", "pattern", "url", "query"):
            if key in value:
                v = value[key]
                v = " ".join(v) if isinstance(v, list) else v
                return clip(" ".join(str(v).split()), ARGS_LIMIT)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return clip(" ".join(text.split()), ARGS_LIMIT)


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
