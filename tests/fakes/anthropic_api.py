"""A scriptable fake of the Anthropic Messages API, for driving the real Claude Code CLI offline.

Stdlib only. The server binds 127.0.0.1 on an ephemeral port and runs in a daemon thread::

    api = FakeAnthropic(turns=[bash("touch hello.txt"), "Done."]).start()
    env["ANTHROPIC_BASE_URL"] = api.url
    ...
    api.stop()

A *turn* is what the fake model answers to one request of the agent's main loop:

* a ``str``: one text block, ``stop_reason: end_turn``;
* a ``dict`` content block (see :func:`text`, :func:`tool_use`, :func:`bash`, :func:`write`):
  a ``tool_use`` block ends with ``stop_reason: tool_use``, so the CLI runs the tool (asking the
  user for permission first unless it is allowed) and comes back with a ``tool_result``;
* a ``list`` of such blocks, answered as one assistant message.

Which turn answers a request is decided by the conversation, not by arrival order: request
with ``k`` assistant messages already in ``messages`` gets ``turns[k]``. That makes retries
idempotent and means a ``tool_result`` coming back (one more assistant message in the history)
advances to the next turn. Once the script is exhausted every main request gets ``default_text``.

Requests that are not the agent's main loop (Claude Code's side queries: session titles,
topic detection, bash-command summaries, quota probes, ``count_tokens`` ...) never consume a
turn. They are recognised by having no ``tools`` array containing the agent's built-in tools
and get ``side_text`` (non-streaming or streaming, whatever they asked for).

Every request of any method/path is recorded in :attr:`FakeAnthropic.log`; bodies of
``POST /v1/messages`` in :attr:`FakeAnthropic.requests`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeServer, JsonHandler

DEFAULT_MODEL = "claude-sonnet-4-5"

Turn = str | dict[str, Any] | list[dict[str, Any]]


def text(s: str) -> dict[str, Any]:
    """A text content block."""
    return {"type": "text", "text": s}


def tool_use(name: str, input: dict[str, Any], id: str | None = None) -> dict[str, Any]:
    """A tool_use content block calling one of the CLI's tools."""
    return {
        "type": "tool_use",
        "id": id or "toolu_" + uuid.uuid4().hex[:24],
        "name": name,
        "input": input,
    }


def bash(command: str, description: str = "Run a shell command") -> dict[str, Any]:
    """A call of Claude Code's ``Bash`` tool."""
    return tool_use("Bash", {"command": command, "description": description})


def write(file_path: str, content: str) -> dict[str, Any]:
    """A call of Claude Code's ``Write`` tool (``file_path`` must be absolute)."""
    return tool_use("Write", {"file_path": file_path, "content": content})


def estimate_tokens(obj: Any) -> int:
    """About four characters a token, like the real tokenizer on English/JSON."""
    if not isinstance(obj, str):
        obj = json.dumps(obj, separators=(",", ":"))
    return max(1, len(obj) // 4)


@dataclass
class Request:
    """One HTTP request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, raw str, or None
    time: float = field(default_factory=time.time)
    kind: str = ""  # "main", "side", "count_tokens", "other"
    turn: int | None = None  # index of the scripted turn that answered it
    after_tool_result: bool = False  # last user message carried a tool_result
    message_id: str | None = None  # of the message it was answered with
    usage: dict[str, int] | None = None  # the usage that message reported


def _blocks(turn: Turn) -> list[dict[str, Any]]:
    if isinstance(turn, str):
        return [text(turn)]
    if isinstance(turn, dict):
        return [turn]
    return list(turn)


def _last_user_has_tool_result(body: dict[str, Any]) -> bool:
    msgs = body.get("messages") or []
    for m in reversed(msgs):
        if m.get("role") != "user":
            continue
        c = m.get("content")
        return isinstance(c, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in c
        )
    return False


class FakeAnthropic(FakeServer):
    name = "FakeAnthropic"
    """Scriptable fake of ``api.anthropic.com`` bound to 127.0.0.1."""

    MAIN_TOOLS = frozenset({"Bash", "Write", "Edit", "Read", "Glob", "Grep"})

    def __init__(
        self,
        turns: Iterable[Turn] = (),
        *,
        model: str = DEFAULT_MODEL,
        default_text: str = "OK.",
        side_text: str = "Fake title",
        chunk_size: int = 12,
        is_main: Callable[[dict[str, Any]], bool] | None = None,
        extra_routes: dict[str, tuple[int, Any]] | None = None,
    ) -> None:
        self.turns: list[Turn] = list(turns)
        self.model = model
        self.default_text = default_text
        self.side_text = side_text
        self.chunk_size = chunk_size
        self._is_main = is_main or self._default_is_main
        # "METHOD /path" or "/path" -> (status, json body). Checked before the built-in routes.
        self.extra_routes = dict(extra_routes or {})
        super().__init__()

    # ---------------------------------------------------------------- public API
    @property
    def requests(self) -> list[Any]:
        """Bodies of every ``POST /v1/messages`` received, main loop and side queries."""
        with self.lock:
            return [r.body for r in self.log if r.path == "/v1/messages" and r.method == "POST"]

    # ---------------------------------------------------------------- decisions
    def _default_is_main(self, body: dict[str, Any]) -> bool:
        tools = body.get("tools") or []
        names = {t.get("name") for t in tools if isinstance(t, dict)}
        return bool(names & self.MAIN_TOOLS)

    def turn_for(self, body: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        msgs = body.get("messages") or []
        k = sum(1 for m in msgs if m.get("role") == "assistant")
        if k < len(self.turns):
            return k, _blocks(self.turns[k])
        return k, [text(self.default_text)]

    def known_usage(self, kind: str, n: int, in_tok: int, out_tok: int) -> dict[str, int]:
        """The usage reported for the ``n``-th request (from 0) of its ``kind``: fixed,
        distinct figures, cache reads and writes included, for tests to expect exactly."""
        if kind == "main":
            return {"input_tokens": in_tok, "output_tokens": out_tok,
                    "cache_creation_input_tokens": 300 + 7 * n,
                    "cache_read_input_tokens": 0 if n == 0 else 2000 + 11 * n}
        return {"input_tokens": 40 + n, "output_tokens": 3,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5}

    def build_message(
        self, body: dict[str, Any], blocks: list[dict[str, Any]], kind: str = "main", n: int = 0
    ) -> dict[str, Any]:
        blocks = [dict(b) for b in blocks]
        for b in blocks:
            if b.get("type") == "tool_use" and not b.get("id"):
                b["id"] = "toolu_" + uuid.uuid4().hex[:24]
        stop = "tool_use" if any(b.get("type") == "tool_use" for b in blocks) else "end_turn"
        in_tok = estimate_tokens(
            {k: body.get(k) for k in ("system", "messages", "tools") if k in body}
        )
        out_tok = sum(estimate_tokens(b.get("text") or b.get("input") or "") for b in blocks) + 1
        return {
            "id": "msg_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": body.get("model") or self.model,
            "content": blocks,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {**self.known_usage(kind, n, in_tok, out_tok), "service_tier": "standard"},
        }

    def sse_events(self, msg: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        start = dict(msg, content=[], stop_reason=None, stop_sequence=None)
        start["usage"] = dict(msg["usage"], output_tokens=1)
        ev: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start",
                                                                   "message": start})]
        for i, b in enumerate(msg["content"]):
            if b["type"] == "text":
                ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": {"type": "text", "text": ""}}))
                if i == 0:
                    ev.append(("ping", {"type": "ping"}))
                s = b["text"]
                for j in range(0, len(s), self.chunk_size) or [0]:
                    ev.append(("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "text_delta", "text": s[j:j + self.chunk_size]}}))
            elif b["type"] == "tool_use":
                ev.append(("content_block_start", {
                    "type": "content_block_start", "index": i,
                    "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"],
                                      "input": {}}}))
                js = json.dumps(b["input"])
                for j in range(0, len(js), self.chunk_size * 2):
                    ev.append(("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "input_json_delta",
                                  "partial_json": js[j:j + self.chunk_size * 2]}}))
            else:  # pass anything else (e.g. thinking) through as one start/stop pair
                ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": b}))
            ev.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
        ev.append(("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": msg["usage"]["output_tokens"]}}))
        ev.append(("message_stop", {"type": "message_stop"}))
        return ev


class _Handler(JsonHandler):
    owner: FakeAnthropic
    server_version = "FakeAnthropic/1.0"

    def _sse(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("request-id", "req_" + uuid.uuid4().hex[:24])
        self.end_headers()
        self.close_connection = True
        for name, data in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

    def _handle(self) -> None:
        o = self.owner
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        req = Request(self.command, path, dict(self.headers.items()), body)
        with o.lock:
            o.log.append(req)

        for key in (f"{self.command} {path}", path):
            if key in o.extra_routes:
                req.kind = "other"
                status, obj = o.extra_routes[key]
                self._json(status, obj)
                return

        if path == "/v1/messages/count_tokens" and self.command == "POST":
            req.kind = "count_tokens"
            b = body if isinstance(body, dict) else {}
            self._json(200, {"input_tokens": estimate_tokens(
                {k: b.get(k) for k in ("system", "messages", "tools") if k in b})})
            return

        if path == "/v1/messages" and self.command == "POST" and isinstance(body, dict):
            req.after_tool_result = _last_user_has_tool_result(body)
            if o._is_main(body):
                idx, blocks = o.turn_for(body)
                req.kind, req.turn = "main", idx
            else:
                req.kind, blocks = "side", [text(o.side_text)]
            with o.lock:
                n = sum(1 for r in o.log if r.kind == req.kind and r.usage is not None)
                msg = o.build_message(body, blocks, req.kind, n)
                req.message_id = msg["id"]
                req.usage = {k: v for k, v in msg["usage"].items() if isinstance(v, int)}
            if body.get("stream"):
                self._sse(o.sse_events(msg))
            else:
                self._json(200, msg)
            return

        req.kind = "other"
        if path.startswith("/v1/"):
            self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                         "message": f"fake: no route {path}"}})
        else:
            self._json(200, {})


__all__ = [
    "FakeAnthropic",
    "Request",
    "bash",
    "estimate_tokens",
    "text",
    "tool_use",
    "write",
]


FakeAnthropic.handler = _Handler
