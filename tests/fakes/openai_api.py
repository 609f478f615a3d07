"""A scriptable fake of the OpenAI Responses API, for driving the real Codex CLI offline.

Stdlib only. Binds 127.0.0.1 on an ephemeral port, serves from a daemon thread::

    api = FakeOpenAI(turns=["Hello from the fake."]).start()
    # config.toml: [model_providers.fake] base_url = api.url + "/v1", wire_api = "responses"
    ...
    api.stop()

A *turn* is what the fake model answers to one sampling request of the agent's loop:

* a ``str``: one assistant ``message`` item with one ``output_text`` part;
* a ``dict`` output item (see :func:`message`, :func:`function_call`, :func:`shell_call`);
  a turn containing a ``function_call`` makes Codex run the tool (asking for approval first
  when its policy says so) and come back with a ``function_call_output``;
* a ``list`` of output items.

The turn answering a request is chosen from the conversation: a request whose ``input``
already holds ``k`` runs of model output (assistant messages / function calls, separated by
user messages or tool outputs) gets ``turns[k]``. Retries are idempotent and a tool result
coming back advances to the next turn. Past the script, main requests get ``default_text``.

Side queries (Codex's thread-title generator: turn metadata ``thread_source`` other than
``"user"``) never use a turn; they get ``side_text``, as JSON matching the requested schema
when ``text.format`` is ``json_schema``. See :func:`default_is_main`.

Codex needs, from the stream (codex-rs/codex-api/src/sse/responses.rs): ``response.created``,
``response.output_item.added``/``done`` with the full item, ``response.output_text.delta``
for live text, and a final ``response.completed`` whose ``response`` has an ``id`` and
``usage`` {input_tokens, input_tokens_details.cached_tokens, output_tokens,
output_tokens_details.reasoning_tokens, total_tokens}. A stream that ends without
``response.completed`` is an error ("stream closed before response.completed").
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeServer, JsonHandler

DEFAULT_MODEL = "gpt-fake-codex"

Turn = str | dict[str, Any] | list[dict[str, Any]]

_MODEL_OUTPUT_TYPES = {"function_call", "custom_tool_call", "local_shell_call", "reasoning",
                       "web_search_call", "tool_search_call"}


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def message(text: str) -> dict[str, Any]:
    """An assistant message output item."""
    return {"type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def function_call(name: str, arguments: dict[str, Any] | str,
                  call_id: str | None = None) -> dict[str, Any]:
    """A ``function_call`` output item (``arguments`` is sent as a JSON string)."""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return {"type": "function_call", "status": "completed", "name": name,
            "arguments": arguments, "call_id": call_id or _id("call")}


def shell_call(command: str, workdir: str | None = None, *, tool: str = "exec_command",
               escalate: bool = False, justification: str = "Run a command") -> dict[str, Any]:
    """A call of Codex's shell tool. Codex 0.169 offers ``exec_command`` (``cmd`` string);
    older versions offered ``shell`` (``command`` argv). ``escalate`` asks to run outside
    the sandbox, which makes Codex ask the user for approval under ``on-request``."""
    if tool == "shell":
        args: dict[str, Any] = {"command": ["bash", "-lc", command]}
    else:
        args = {"cmd": command}
    if workdir:
        args["workdir"] = workdir
    if escalate:
        args["sandbox_permissions"] = "require_escalated"
        args["justification"] = justification
    return function_call(tool, args)


def estimate_tokens(obj: Any) -> int:
    if not isinstance(obj, str):
        obj = json.dumps(obj, separators=(",", ":"))
    return max(1, len(obj) // 4)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    time: float = field(default_factory=time.time)
    kind: str = ""  # "main", "side", "models", "other"
    turn: int | None = None
    response_id: str | None = None
    usage: dict[str, int] | None = None  # input (cached included), cached, output


def turn_metadata(headers: dict[str, str], body: Any) -> dict[str, Any]:
    """Codex's ``x-codex-turn-metadata`` (header, or body ``client_metadata``) as a dict."""
    raw = next((v for k, v in headers.items() if k.lower() == "x-codex-turn-metadata"), None)
    if raw is None and isinstance(body, dict):
        raw = (body.get("client_metadata") or {}).get("x-codex-turn-metadata")
    try:
        md = json.loads(raw) if raw else {}
    except ValueError:
        md = {}
    return md if isinstance(md, dict) else {}


def default_is_main(body: dict[str, Any], headers: dict[str, str]) -> bool:
    """A request of the user's thread, not a side query (title generation etc.).

    Codex tags every request with turn metadata whose ``thread_source`` is ``"user"`` for the
    user's thread and e.g. ``"thread_title"`` for the title generator (which also asks for a
    JSON ``text.format``). Without metadata: has tools (classic ``tools`` array or, for newer
    catalog models, an ``additional_tools`` input item).
    """
    md = turn_metadata(headers, body)
    if "thread_source" in md:
        return md["thread_source"] == "user"
    if ((body.get("text") or {}).get("format") or {}).get("type") == "json_schema":
        return False
    inp = body.get("input")
    has_extra_tools = isinstance(inp, list) and any(
        isinstance(i, dict) and i.get("type") == "additional_tools" for i in inp)
    return bool(body.get("tools")) or has_extra_tools


def schema_filler(schema: Any, text: str) -> Any:
    """A minimal value satisfying a (simple) JSON schema, strings filled with ``text``."""
    if not isinstance(schema, dict):
        return text
    t = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if t == "object":
        props = schema.get("properties") or {}
        return {k: schema_filler(v, text) for k, v in props.items()}
    if t == "array":
        return []
    if t in ("integer", "number"):
        return schema.get("minimum", 0)
    if t == "boolean":
        return False
    if t == "null":
        return None
    s = text[: schema.get("maxLength", len(text))]
    return s or "x"


def _items(turn: Turn) -> list[dict[str, Any]]:
    if isinstance(turn, str):
        return [message(turn)]
    if isinstance(turn, dict):
        return [turn]
    return list(turn)


def model_output_runs(input_items: list[Any]) -> int:
    """How many runs of model output the conversation ``input`` already contains."""
    runs, in_run = 0, False
    for it in input_items:
        if not isinstance(it, dict):
            continue
        t = it.get("type", "message")
        is_model = (t == "message" and it.get("role") == "assistant") or t in _MODEL_OUTPUT_TYPES
        if is_model and not in_run:
            runs += 1
        in_run = is_model
    return runs


class FakeOpenAI(FakeServer):
    name = "FakeOpenAI"
    """Scriptable fake of the OpenAI Responses API bound to 127.0.0.1.

    ``url`` is ``http://127.0.0.1:PORT``; Codex wants ``url + "/v1"`` as the provider base_url.
    """

    def __init__(
        self,
        turns: Iterable[Turn] = (),
        *,
        model: str = DEFAULT_MODEL,
        default_text: str = "OK.",
        side_text: str = "Fake title",
        chunk_size: int = 12,
        is_main: Callable[[dict[str, Any], dict[str, str]], bool] | None = None,
        models: list[str] | None = None,
        extra_routes: dict[str, tuple[int, Any]] | None = None,
    ) -> None:
        self.turns: list[Turn] = list(turns)
        self.model = model
        self.default_text = default_text
        self.side_text = side_text
        self.chunk_size = chunk_size
        self._is_main = is_main or default_is_main
        self.models = models or [model]
        self.extra_routes = dict(extra_routes or {})
        super().__init__()

    @property
    def requests(self) -> list[Any]:
        """Bodies of every ``POST /v1/responses`` received."""
        with self.lock:
            return [r.body for r in self.log if r.method == "POST"
                    and r.path.endswith("/responses")]

    # ------------------------------------------------------------------ building answers
    def turn_for(self, body: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        inp = body.get("input")
        k = model_output_runs(inp) if isinstance(inp, list) else 0
        if k < len(self.turns):
            return k, _items(self.turns[k])
        return k, [message(self.default_text)]

    def known_usage(self, kind: str, n: int, in_tok: int, out_tok: int) -> dict[str, int]:
        """The usage reported for the ``n``-th request (from 0) of its ``kind``: fixed,
        distinct figures, cached input included in input (as OpenAI counts it)."""
        if kind == "main":
            cached = 0 if n == 0 else min(in_tok, 1024 + 13 * n)
            return {"input_tokens": in_tok + cached, "cached_tokens": cached,
                    "output_tokens": out_tok}
        return {"input_tokens": 60 + n, "cached_tokens": 0, "output_tokens": 4}

    def build_response(self, body: dict[str, Any], items: list[dict[str, Any]],
                       kind: str = "main", n: int = 0) -> dict[str, Any]:
        out = []
        for it in items:
            it = json.loads(json.dumps(it))  # deep copy
            if it.get("type") == "message":
                it.setdefault("id", _id("msg"))
            elif it.get("type") == "function_call":
                it.setdefault("id", _id("fc"))
                it.setdefault("call_id", _id("call"))
            out.append(it)
        in_tok = estimate_tokens({k: body.get(k) for k in ("instructions", "input", "tools")})
        out_tok = sum(estimate_tokens(i) for i in out)
        u = self.known_usage(kind, n, in_tok, out_tok)
        return {
            "id": _id("resp"),
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": body.get("model") or self.model,
            "output": out,
            "parallel_tool_calls": bool(body.get("parallel_tool_calls")),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": [],
            "usage": {
                "input_tokens": u["input_tokens"],
                "input_tokens_details": {"cached_tokens": u["cached_tokens"]},
                "output_tokens": u["output_tokens"],
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": u["input_tokens"] + u["output_tokens"],
            },
        }

    def sse_events(self, resp: dict[str, Any]) -> list[dict[str, Any]]:
        seq = 0
        ev: list[dict[str, Any]] = []

        def add(e: dict[str, Any]) -> None:
            nonlocal seq
            e["sequence_number"] = seq
            seq += 1
            ev.append(e)

        shell = dict(resp, status="in_progress", output=[], usage=None)
        add({"type": "response.created", "response": shell})
        add({"type": "response.in_progress", "response": shell})
        for oi, item in enumerate(resp["output"]):
            if item["type"] == "message":
                add({"type": "response.output_item.added", "output_index": oi,
                     "item": dict(item, status="in_progress", content=[])})
                for ci, part in enumerate(item["content"]):
                    add({"type": "response.content_part.added", "item_id": item["id"],
                         "output_index": oi, "content_index": ci,
                         "part": dict(part, text="")})
                    s = part.get("text", "")
                    for j in range(0, len(s), self.chunk_size):
                        add({"type": "response.output_text.delta", "item_id": item["id"],
                             "output_index": oi, "content_index": ci,
                             "delta": s[j:j + self.chunk_size], "logprobs": []})
                    add({"type": "response.output_text.done", "item_id": item["id"],
                         "output_index": oi, "content_index": ci, "text": s, "logprobs": []})
                    add({"type": "response.content_part.done", "item_id": item["id"],
                         "output_index": oi, "content_index": ci, "part": part})
            elif item["type"] == "function_call":
                add({"type": "response.output_item.added", "output_index": oi,
                     "item": dict(item, status="in_progress", arguments="")})
                add({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                     "output_index": oi, "delta": item["arguments"]})
                add({"type": "response.function_call_arguments.done", "item_id": item["id"],
                     "output_index": oi, "arguments": item["arguments"]})
            else:
                add({"type": "response.output_item.added", "output_index": oi, "item": item})
            add({"type": "response.output_item.done", "output_index": oi, "item": item})
        add({"type": "response.completed", "response": resp})
        return ev


class _Handler(JsonHandler):
    owner: FakeOpenAI
    server_version = "FakeOpenAI/1.0"
    request_id_header = "x-request-id"

    def _sse(self, events: list[dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("x-request-id", _id("req"))
        # Rate-limit headers, as the real API sends them: Codex reports them in a
        # token_count event that repeats the total so far (a re-emitted total).
        self.send_header("x-codex-primary-used-percent", "12.5")
        self.send_header("x-codex-primary-window-minutes", "300")
        self.send_header("x-codex-primary-reset-at", str(int(time.time()) + 3600))
        self.end_headers()
        self.close_connection = True
        for e in events:
            self.wfile.write(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode())
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
                self._json(*o.extra_routes[key])
                return

        if self.command == "GET" and path.rstrip("/").endswith("/models"):
            req.kind = "models"
            now = int(time.time())
            self._json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": now, "owned_by": "fake"}
                for m in o.models]})
            return

        if self.command == "POST" and path.endswith("/responses") and isinstance(body, dict):
            if o._is_main(body, req.headers):
                idx, items = o.turn_for(body)
                req.kind, req.turn = "main", idx
            else:
                req.kind = "side"
                fmt = (body.get("text") or {}).get("format") or {}
                if fmt.get("type") == "json_schema":
                    items = [message(json.dumps(schema_filler(fmt.get("schema"), o.side_text)))]
                else:
                    items = [message(o.side_text)]
            with o.lock:
                n = sum(1 for r in o.log if r.kind == req.kind and r.usage is not None)
                resp = o.build_response(body, items, req.kind, n)
                u = resp["usage"]
                req.response_id = resp["id"]
                req.usage = {"input_tokens": u["input_tokens"],
                             "cached_tokens": u["input_tokens_details"]["cached_tokens"],
                             "output_tokens": u["output_tokens"]}
            if body.get("stream", False):
                self._sse(o.sse_events(resp))
            else:
                self._json(200, resp)
            return

        req.kind = "other"
        self._json(404, {"error": {"message": f"fake: no route {self.command} {path}",
                                   "type": "invalid_request_error", "code": "not_found"}})


__all__ = [
    "FakeOpenAI",
    "Request",
    "default_is_main",
    "estimate_tokens",
    "function_call",
    "message",
    "model_output_runs",
    "schema_filler",
    "shell_call",
    "turn_metadata",
]


FakeOpenAI.handler = _Handler
