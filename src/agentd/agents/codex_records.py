"""Codex rollouts, read by the daemon for usage and the thread (docs/usage.md).

`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`, a file belonging to the task whose
worktree is its `session_meta.cwd`. `token_count` events carry cumulative totals and are
re-emitted unchanged: a call is a total that moved, counted as the difference (a total
that went down is a reset: its `last_token_usage` counts). A forked or subagent rollout
starts by replaying its parent's history, written in the second the fork began: those
totals set the baseline and count nothing. `input_tokens` already includes cached input.
"""

from __future__ import annotations

import json
import os
import time

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

_TOOL_CALLS = ("function_call", "custom_tool_call", "local_shell_call")
_TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")


def _figures(usage: Any) -> tuple[int, int, int, int] | None:
    """(input incl. cached, cached, cache written, output) of a token usage object."""
    if not isinstance(usage, dict):
        return None
    return (as_int(usage.get("input_tokens")), as_int(usage.get("cached_input_tokens")),
            as_int(usage.get("cache_write_input_tokens")), as_int(usage.get("output_tokens")))


def _item_text(item: dict[str, Any]) -> str:
    return "\n".join(str(c.get("text", "")) for c in item.get("content") or []
                     if isinstance(c, dict))


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        try:  # older versions wrap it: {"output": "...", "metadata": {...}}
            parsed = json.loads(output)
        except ValueError:
            return output
        if isinstance(parsed, dict) and isinstance(parsed.get("output"), str):
            return parsed["output"]
        return output
    if isinstance(output, list):
        return "\n".join(str(i.get("text", "")) for i in output if isinstance(i, dict))
    if isinstance(output, dict) and isinstance(output.get("output"), str):
        return output["output"]
    return json.dumps(output)


def _arguments(payload: dict[str, Any]) -> Any:
    if payload.get("type") == "local_shell_call":
        action = payload.get("action") or {}
        return (action.get("exec") or action).get("command") if isinstance(action, dict) \
            else action
    raw = payload.get("arguments", payload.get("input"))
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


class CodexRecords(RecordReader):
    provider = "openai"

    def __init__(self) -> None:
        self.cwd_of: dict[str, str] = {}  # rollout -> its session_meta cwd (read once)

    def roots(self, env: dict[str, str]) -> list[str]:
        home = env.get("HOME") or os.path.expanduser("~")
        return [env.get("CODEX_HOME") or os.path.join(home, ".codex")]

    def discover(self, roots: list[str], worktree: str, since: float) -> list[str]:
        wanted = {worktree, os.path.realpath(worktree)}
        days = set()
        t = since - 86400  # the directories are named by local date, a day either side
        while t <= time.time() + 86400:
            days.add(time.strftime("%Y/%m/%d", time.localtime(t)))
            days.add(time.strftime("%Y/%m/%d", time.gmtime(t)))
            t += 86400
        found = []
        for root in roots:
            for day in sorted(days):
                d = os.path.join(root, "sessions", day)
                try:
                    names = os.listdir(d)
                except OSError:
                    continue
                for name in names:
                    path = os.path.join(d, name)
                    if not (name.startswith("rollout-") and name.endswith(".jsonl")):
                        continue
                    try:
                        if os.stat(path).st_mtime < since:
                            continue
                    except OSError:
                        continue
                    if self._cwd(path) in wanted:
                        found.append(path)
        return sorted(found)

    def _cwd(self, path: str) -> str | None:
        if path in self.cwd_of:
            return self.cwd_of[path]
        try:
            with open(path, "rb") as f:
                first = f.readline(1 << 20)
        except OSError:
            return None
        if not first.endswith(b"\n"):
            return None  # not written yet: look again next time
        try:
            meta = json.loads(first)
            cwd = str(meta["payload"]["cwd"]) if meta.get("type") == "session_meta" else ""
        except (ValueError, KeyError, TypeError, AttributeError):
            cwd = ""
        self.cwd_of[path] = cwd
        return cwd

    def parse(self, path: str, lines: list[tuple[int, bytes]],
              state: dict[str, Any]) -> Batch:
        batch = Batch()
        for at, line in parse_lines(lines, batch):
            payload = line.get("payload")
            if not isinstance(payload, dict):
                continue
            kind, ts_raw = line.get("type"), str(line.get("timestamp") or "")
            ts = iso_ts(ts_raw)
            where = f"{path}@{at}"
            if kind == "session_meta":
                source = payload.get("source")
                forked = bool(payload.get("forked_from_id")) or (
                    isinstance(source, dict) and "subagent" in source)
                if forked and "replay" not in state:
                    state["replay"] = ts_raw[:19]  # the fork's second
                continue
            replayed = bool(state.get("replay")) and ts_raw[:19] == state["replay"]
            if kind == "turn_context":
                if payload.get("model"):
                    state["model"] = str(payload["model"])
                continue
            if kind == "event_msg":
                self._event(payload, ts, where, replayed, batch, state)
            elif kind == "response_item" and not replayed:
                self._item(payload, ts, where, batch)
        return batch

    def _event(self, p: dict[str, Any], ts: float | None, where: str, replayed: bool,
               batch: Batch, state: dict[str, Any]) -> None:
        kind = p.get("type")
        if kind == "token_count":
            info = p.get("info")
            if not isinstance(info, dict):
                return  # rate limits only
            total = _figures(info.get("total_token_usage"))
            if total is None:
                return
            last: tuple[int, ...] | None = tuple(state["total"]) if state.get("total") \
                else None
            state["total"] = list(total)
            if replayed or total == last:
                return  # the parent's history, or a total re-emitted unchanged
            if last is not None and len(last) != len(total):
                last = None  # state from a version of this reader that kept three figures
            if last is None:
                inp, cached, written, out = total
            elif all(a >= b for a, b in zip(total, last, strict=True)):
                inp, cached, written, out = (a - b for a, b in zip(total, last, strict=True))
            else:  # a total that went down (a reset): this call's own figures
                inp, cached, written, out = _figures(info.get("last_token_usage")) or total
            cached = min(cached, inp)
            written = min(written, inp - cached)
            if inp or out:
                batch.calls.append(Call("codex:" + where, ts, state.get("model"),
                                        input=inp - cached - written, output=out,
                                        cache_read=cached, cache_write=written,
                                        provider=self.provider))
            return
        if replayed:
            return
        item = p.get("item") if kind == "item_completed" else None
        if isinstance(item, dict):  # newer versions: items instead of *_message events
            kind = {"UserMessage": "user_message", "AgentMessage": "agent_message"}.get(
                str(item.get("type")), "")
            p = {"message": _item_text(item)}
        if kind == "user_message":
            text = str(p.get("message") or "")
            if text.strip() and state.get("last_said") != ["user", text]:
                entry_kind = "input" if state.get("prompted") else "prompt"
                state["prompted"] = True
                state["last_said"] = ["user", text]  # told twice (event and item): once
                batch.entries.append(Entry("user:" + where, ts, "user", entry_kind,
                                           {"text": clip(text, TEXT_LIMIT)}))
        elif kind == "agent_message":
            text = str(p.get("message") or "")
            if text.strip() and state.get("last_said") != ["assistant", text]:
                state["last_said"] = ["assistant", text]
                state["last_message"] = ["text:" + where, ts]
                batch.entries.append(Entry("text:" + where, ts, "assistant", "message",
                                           {"text": clip(text, TEXT_LIMIT)}))
        elif kind in ("task_complete", "turn_complete"):
            final = p.get("last_agent_message")
            if isinstance(final, str) and final.strip():
                key, when = state.pop("last_message", None) or ["text:" + where, ts]
                batch.entries.append(Entry(str(key), when, "assistant", "result",
                                           {"text": clip(final, TEXT_LIMIT)}))

    def _item(self, p: dict[str, Any], ts: float | None, where: str, batch: Batch) -> None:
        kind = p.get("type")
        if kind in _TOOL_CALLS:
            call_id = str(p.get("call_id") or p.get("id") or where)
            batch.entries.append(Entry(
                "tool:" + call_id, ts, "assistant", "tool_call",
                {"tool": str(p.get("name") or kind), "args": short_args(_arguments(p)),
                 "call_id": call_id}))
        elif kind in _TOOL_OUTPUTS:
            call_id = str(p.get("call_id") or where)
            batch.entries.append(Entry(
                "result:" + call_id, ts, "tool", "tool_result",
                {"call_id": call_id, "output": clip(_output_text(p.get("output")),
                                                    RESULT_LIMIT)}))


READER = CodexRecords()
