"""Gemini CLI's chat recordings, read by the daemon for usage and the thread (docs/usage.md).

`~/.gemini/tmp/<project>/chats/session-*.jsonl` (and subagents' `chats/<parent>/*.jsonl`),
where `<project>` is the SHA-256 of the project's directory, or a short name whose
`.project_root` file holds it. A first metadata line, then one line per message record;
a record is appended again, whole, each time it changes: the last one wins, which for its
token counts is the largest. `tokens.input` includes the cached tokens; thoughts are billed
as output.
"""

from __future__ import annotations

import hashlib
import os

from agentd.agents.base import RecordReader
from agentd.records import (
    RESULT_LIMIT,
    TEXT_LIMIT,
    Batch,
    Call,
    Entry,
    as_int,
    clip,
    iso_ts,
    parse_lines,
    short_args,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content
                         if isinstance(p, dict) and "text" in p)
    if isinstance(content, dict) and "text" in content:
        return str(content["text"])
    return ""


def _result(call: dict[str, Any]) -> str:
    shown = call.get("resultDisplay")
    if isinstance(shown, str) and shown:
        return shown
    for part in call.get("result") or []:
        response = (part.get("functionResponse") or {}).get("response") \
            if isinstance(part, dict) else None
        if isinstance(response, dict):
            value = response.get("output", response.get("error", response))
            return value if isinstance(value, str) else str(value)
    return ""


def _project_dirs(tmp: str, worktree: str) -> list[str]:
    wanted = {worktree, os.path.realpath(worktree)}
    hashes = {hashlib.sha256(w.encode()).hexdigest() for w in wanted}
    try:
        names = os.listdir(tmp)
    except OSError:
        return []
    found = []
    for name in names:
        d = os.path.join(tmp, name)
        if name in hashes:
            found.append(d)
            continue
        try:
            with open(os.path.join(d, ".project_root"), encoding="utf-8") as f:
                if f.read().strip() in wanted:
                    found.append(d)
        except OSError:
            pass
    return found


class GeminiRecords(RecordReader):
    provider = "google"

    def roots(self, env: dict[str, str]) -> list[str]:
        home = env.get("GEMINI_CLI_HOME") or env.get("HOME") or os.path.expanduser("~")
        return [os.path.join(home, ".gemini")]

    def discover(self, roots: list[str], worktree: str, since: float) -> list[str]:
        found = []
        for root in roots:
            for project in _project_dirs(os.path.join(root, "tmp"), worktree):
                for top, _, files in os.walk(os.path.join(project, "chats")):
                    for f in files:
                        path = os.path.join(top, f)
                        try:
                            fresh = os.stat(path).st_mtime >= since
                        except OSError:
                            continue
                        if f.endswith(".jsonl") and fresh:
                            found.append(path)
        return sorted(found)

    def parse(self, path: str, lines: list[tuple[int, bytes]],
              state: dict[str, Any]) -> Batch:
        batch = Batch()
        for _, rec in parse_lines(lines, batch):
            if "sessionId" in rec and "projectHash" in rec:
                state["session"] = str(rec["sessionId"])
                continue
            rid, kind = rec.get("id"), rec.get("type")
            if not rid or kind not in ("user", "gemini"):
                continue  # $set / $rewindTo updates, info, warnings, errors
            key = f"{state.get('session', path)}:{rid}"
            ts = iso_ts(rec.get("timestamp"))
            if kind == "user":
                text = _text(rec.get("displayContent") or rec.get("content"))
                if text.strip():
                    known = state.setdefault("users", [])
                    entry_kind = "prompt" if not known or known[0] == rid else "input"
                    if rid not in known:
                        known.append(rid)
                    batch.entries.append(Entry("user:" + key, ts, "user", entry_kind,
                                               {"text": clip(text, TEXT_LIMIT)}))
                continue
            tokens = rec.get("tokens")
            if isinstance(tokens, dict):
                total_in = as_int(tokens.get("input")) + as_int(tokens.get("tool"))
                cached = min(as_int(tokens.get("cached")), total_in)
                batch.calls.append(Call(
                    "gemini:" + key, ts, str(rec.get("model") or "") or None,
                    input=total_in - cached,
                    output=as_int(tokens.get("output")) + as_int(tokens.get("thoughts")),
                    cache_read=cached, provider=self.provider))
            for call in rec.get("toolCalls") or []:
                if not isinstance(call, dict):
                    continue
                call_id = str(call.get("id") or f"{key}:{call.get('name')}")
                batch.entries.append(Entry(
                    "tool:" + call_id, iso_ts(call.get("timestamp")) or ts, "assistant",
                    "tool_call", {"tool": str(call.get("name", "?")),
                                  "args": short_args(call.get("args")), "call_id": call_id}))
                if call.get("status") in ("success", "error", "cancelled"):
                    batch.entries.append(Entry(
                        "result:" + call_id, iso_ts(call.get("timestamp")) or ts, "tool",
                        "tool_result", {"call_id": call_id,
                                        "output": clip(_result(call), RESULT_LIMIT),
                                        "is_error": call.get("status") != "success"}))
            text = _text(rec.get("content"))
            if text.strip():
                batch.entries.append(Entry("text:" + key, ts, "assistant", "message",
                                           {"text": clip(text, TEXT_LIMIT)}))
        return batch


READER = GeminiRecords()
