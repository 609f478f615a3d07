"""Claude Code's transcripts, read by the daemon for usage and the thread (docs/usage.md).

`<config dir>/projects/<worktree, every non-alphanumeric character as "->/*.jsonl`, and the
subagent transcripts below it (`<session>/subagents/agent-*.jsonl`). One API message spans
several lines (one per content block), and its usage is repeated, or partial while it
streams: a call is its (message id, request id), counted once with the largest figures
seen.
"""

from __future__ import annotations

import hashlib
import os
import re

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

MANGLE_LIMIT = 200  # Claude Code cuts longer project names and appends a hash


def project_dir_name(path: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]", "-", path)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif isinstance(block, str):
                parts.append(block)
        return "\n".join(parts)
    return ""


def _injected(text: str) -> bool:
    """Text Claude Code adds to the user's turn itself (reminders, slash-command echoes)."""
    head = text.lstrip()[:40]
    return head.startswith(("<system-reminder>", "<command-", "<local-command",
                            "Caveat: The messages below"))


class ClaudeRecords(RecordReader):
    provider = "anthropic"

    def roots(self, env: dict[str, str]) -> list[str]:
        configured = env.get("CLAUDE_CONFIG_DIR")
        if configured:
            return [p for p in configured.split(",") if p]
        home = env.get("HOME") or os.path.expanduser("~")
        return [os.path.join(home, ".claude"), os.path.join(home, ".config", "claude")]

    def discover(self, roots: list[str], worktree: str, since: float) -> list[str]:
        names = {project_dir_name(worktree), project_dir_name(os.path.realpath(worktree))}
        found = []
        for root in roots:
            projects = os.path.join(root, "projects")
            dirs = [os.path.join(projects, n) for n in names if len(n) <= MANGLE_LIMIT]
            if any(len(n) > MANGLE_LIMIT for n in names):  # cut and hashed: match the cut
                try:
                    dirs += [os.path.join(projects, d) for d in os.listdir(projects)
                             if any(len(n) > MANGLE_LIMIT and d.startswith(n[:MANGLE_LIMIT])
                                    for n in names)]
                except OSError:
                    pass
            for d in dirs:
                for top, _, files in os.walk(d):
                    for f in files:
                        path = os.path.join(top, f)
                        if f.endswith(".jsonl") and _changed_since(path, since):
                            found.append(path)
        return sorted(found)

    def parse(self, path: str, lines: list[tuple[int, bytes]],
              state: dict[str, Any]) -> Batch:
        batch = Batch()
        for at, entry in parse_lines(lines, batch):
            kind = entry.get("type")
            if kind == "assistant":
                self._assistant(entry, batch, f"{path}@{at}")
            elif kind == "user":
                self._user(entry, batch, state, f"{path}@{at}")
        return batch

    def _assistant(self, entry: dict[str, Any], batch: Batch, where: str) -> None:
        msg = entry.get("message")
        if not isinstance(msg, dict):
            return
        ts = iso_ts(entry.get("timestamp"))
        mid = msg.get("id")
        model = entry.get("requestedModel") or msg.get("model")
        usage = msg.get("usage")
        if isinstance(usage, dict) and model != "<synthetic>":
            key = f"{mid}:{entry.get('requestId') or ''}" if mid else (
                entry.get("uuid") or where)
            cache_write = as_int(usage.get("cache_creation_input_tokens"))
            split = usage.get("cache_creation")
            if isinstance(split, dict) and any(split.values()):
                cache_write = as_int(split.get("ephemeral_5m_input_tokens")) + as_int(
                    split.get("ephemeral_1h_input_tokens"))
            batch.calls.append(Call(
                "claude:" + key, ts, str(model) if model else None,
                input=as_int(usage.get("input_tokens")),
                output=as_int(usage.get("output_tokens")),
                cache_read=as_int(usage.get("cache_read_input_tokens")),
                cache_write=cache_write, provider=self.provider))
        if entry.get("isSidechain"):
            return  # a subagent's inner conversation: its usage counts, its text is not ours
        content = msg.get("content")
        if not isinstance(content, list):
            return
        final = msg.get("stop_reason") == "end_turn"
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and str(block.get("text", "")).strip():
                text = str(block["text"])
                digest = hashlib.sha1(text.encode()).hexdigest()[:16]
                batch.entries.append(Entry(
                    f"text:{mid or where}:{digest}", ts, "assistant",
                    "result" if final else "message", {"text": clip(text, TEXT_LIMIT)}))
            elif block.get("type") == "tool_use":
                call_id = str(block.get("id") or where)
                batch.entries.append(Entry(
                    f"tool:{call_id}", ts, "assistant", "tool_call",
                    {"tool": str(block.get("name", "?")),
                     "args": short_args(block.get("input")), "call_id": call_id}))

    def _user(self, entry: dict[str, Any], batch: Batch, state: dict[str, Any],
              where: str) -> None:
        msg = entry.get("message")
        if not isinstance(msg, dict) or entry.get("isMeta") or entry.get("isSidechain") \
                or entry.get("isCompactSummary"):
            return
        ts = iso_ts(entry.get("timestamp"))
        content = msg.get("content")
        results = [b for b in content if isinstance(b, dict) and b.get("type") ==
                   "tool_result"] if isinstance(content, list) else []
        for block in results:
            call_id = str(block.get("tool_use_id") or where)
            output = _text_of(block.get("content"))
            batch.entries.append(Entry(
                f"result:{call_id}", ts, "tool", "tool_result",
                {"call_id": call_id, "output": clip(output, RESULT_LIMIT),
                 "is_error": bool(block.get("is_error"))}))
        if results:
            return
        text = _text_of(content)
        if not text.strip() or _injected(text):
            return
        kind = "input" if state.get("prompted") else "prompt"
        state["prompted"] = True
        batch.entries.append(Entry(f"user:{entry.get('uuid') or where}", ts, "user", kind,
                                   {"text": clip(text, TEXT_LIMIT)}))


def _changed_since(path: str, since: float) -> bool:
    try:
        return os.stat(path).st_mtime >= since
    except OSError:
        return False


READER = ClaudeRecords()
