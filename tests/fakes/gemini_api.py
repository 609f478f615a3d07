"""A fake of the Gemini API (`streamGenerateContent`), for driving the real Gemini CLI offline.

Stdlib only; binds 127.0.0.1 on an ephemeral port. The CLI reaches it through
``GOOGLE_GEMINI_BASE_URL`` with any ``GEMINI_API_KEY``. Every generate request is answered
with one text part (``text``) and known usage (:meth:`FakeGemini.known_usage`), recorded on
the request in :attr:`FakeGemini.log`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeServer, JsonHandler


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    time: float = field(default_factory=time.time)
    kind: str = ""  # "main" (a generate request), "other"
    model: str | None = None
    usage: dict[str, int] | None = None  # prompt (cached included), cached, candidates, thoughts


class FakeGemini(FakeServer):
    name = "FakeGemini"

    def __init__(self, text: str = "Hello from the fake Gemini.") -> None:
        self.text = text
        super().__init__()

    def known_usage(self, n: int) -> dict[str, int]:
        return {"promptTokenCount": 1500 + 17 * n, "cachedContentTokenCount": 300 + n,
                "candidatesTokenCount": 9 + n, "thoughtsTokenCount": 4}


class _Handler(JsonHandler):
    owner: FakeGemini
    server_version = "FakeGemini/1.0"

    def _handle(self) -> None:
        o = self.owner
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        req = Request(self.command, path, dict(self.headers.items()), body)
        with o.lock:
            o.log.append(req)
        if ":countTokens" in path:
            req.kind = "other"
            self._json(200, {"totalTokens": 10})
            return
        if "enerateContent" not in path:
            req.kind = "other"
            self._json(404, {"error": {"code": 404, "message": f"fake: no route {path}"}})
            return
        with o.lock:
            n = sum(1 for r in o.log if r.kind == "main")
            req.kind = "main"
            req.model = path.split("/models/", 1)[-1].split(":", 1)[0]
            usage = o.known_usage(n)
            req.usage = usage
        chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": o.text}]},
                                 "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {**usage, "totalTokenCount": usage["promptTokenCount"]
                                   + usage["candidatesTokenCount"]
                                   + usage["thoughtsTokenCount"]},
                 "modelVersion": req.model}
        if "alt=sse" not in self.path:
            self._json(200, chunk)
            return
        data = f"data: {json.dumps(chunk)}\r\n\r\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


FakeGemini.handler = _Handler
