"""What every agent integration provides: one module per agent (agents/claude.py, ...), each
with an `INTEGRATION`, an instance of a subclass of `Integration` below.

`agent hook NAME` imports this module on every hook call of an agent, so it imports nothing
heavier than json at run time: no dataclasses, typing or pathlib (see protocol/messages.py).
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from agentd.config import AgentSpec
    from agentd.records import Batch

    # suffix -> a per-session file, `<root>/sessions/<session>.<suffix>` (Paths.session_file)
    SessionFile = Callable[[str], Path]


class Defaults:
    """An agent's built-in configuration: what `[agents.NAME]` starts from (docs/config.md)."""

    __slots__ = ("command", "args", "prompt", "waiting_patterns", "busy_patterns",
                 "idle_seconds")

    def __init__(self, command: str, args: tuple[str, ...] = (), prompt: str = "arg",
                 waiting_patterns: tuple[str, ...] = (), busy_patterns: tuple[str, ...] = (),
                 idle_seconds: float = 0.0) -> None:
        self.command, self.args, self.prompt = command, args, prompt  # prompt: arg|type|none
        self.waiting_patterns, self.busy_patterns = waiting_patterns, busy_patterns
        self.idle_seconds = idle_seconds

    def to_config(self) -> dict[str, Any]:
        """The keys as config.toml spells them, for config.py to merge the user's over."""
        return {"command": self.command, "args": list(self.args), "prompt": self.prompt,
                "waiting_patterns": list(self.waiting_patterns),
                "busy_patterns": list(self.busy_patterns), "idle_seconds": self.idle_seconds}


def command_line(spec: AgentSpec, prompt: str, extra: list[str] | None = None) -> list[str]:
    """`command`, the integration's own arguments, the user's `args`, then the prompt when
    it is passed as an argument (docs/config.md, "Prompt modes")."""
    argv = [spec.command, *(extra or ()), *spec.args]
    if spec.prompt == "arg" and prompt:
        argv.append(prompt)
    return argv


def without_dangling(argv: list[str], prompt: str, flag: str) -> list[str]:
    """Without a prompt, drop a last argument that is the agent's prompt option (Gemini
    CLI's `-i`, opencode's `--prompt`): it would take no value."""
    return argv[:-1] if not prompt and argv and argv[-1] == flag else argv


def conversation_id(value: Any) -> str | None:
    """`value` if it can be an agent's conversation id (the rule of protocol/events.py
    is_conversation_id, which this module may not import: it is passed back to the agent
    as an argument), else None."""
    if not isinstance(value, str) or not 0 < len(value) <= 200 or value[0] == "-":
        return None
    ok = all(c.isascii() and (c.isalnum() or c in "._:-") for c in value)
    return value if ok else None


def hook_command(agent: str) -> list[str]:
    """The command an agent runs for its hooks: `agent hook NAME` with this Python."""
    import sys

    return [sys.executable, "-m", "agentd", "hook", agent]


def short(value: Any, limit: int = 120) -> str:
    """One line of at most `limit` characters, for an event's summary."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def turn_ended(last_message: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The agent finished its turn: its last message joins the thread, and it waits."""
    events: list[dict[str, Any]] = []
    if last_message:
        events.append({"kind": "result", "attention": "info", "summary": short(last_message),
                       "data": {**data, "role": "assistant", "content": last_message}})
    events.append({"kind": "waiting", "attention": "notice",
                   "summary": "finished its turn; waiting for the next prompt", "data": data})
    return events


class Integration:
    """One agent's integration. Subclasses set `name` and `defaults` and override what
    their agent supports; what is not overridden says "not supported"."""

    name: str = ""
    defaults: Defaults = Defaults("")
    # Where `agent hook NAME` finds the payload: "stdin" (Claude Code's hooks), "argv" (its
    # last argument: Codex's notify), or None when the agent has no hooks wired to agentd.
    hook_payload: str | None = None

    def launch(self, spec: AgentSpec, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]]:
        """The command line of one session and the variables to add to its environment.
        Files the agent needs for this session go to `session_file(suffix)`."""
        return command_line(spec, prompt), {}

    def hook_events(self, payload: dict[str, Any], argv: list[str],
                    session_file: SessionFile) -> list[dict[str, Any]]:
        """agentd events (dicts as `append_session_events` takes them) for one payload of
        the agent's hook or notify command; `argv` is that command's arguments."""
        raise NotImplementedError(f"agent {self.name!r} has no hooks wired to agentd")

    # -- the agent's own conversation: captured from its hooks, continued by agent resume --

    def conversation_id(self, payload: dict[str, Any]) -> str | None:
        """The agent's own id for its conversation, when this hook or notify payload names
        it (`agent hook` reports it once per session as a `conversation` event)."""
        return None

    def resume(self, spec: AgentSpec, conversation: str | None, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]] | None:
        """Like `launch`, for a session that continues the agent's earlier conversation in
        the same worktree: `conversation` is its id when one was captured (else the
        agent's own "latest in this directory" is used). `prompt`, when not empty, is the
        next message. None: the agent cannot continue a conversation, and `agent resume`
        starts a fresh session with the prompt instead."""
        return None

    # -- the agent's own records: usage and the thread (docs/usage.md) ---------------------

    def record_reader(self) -> RecordReader | None:
        """The reader of the agent's own record files (transcripts, rollouts, chat
        recordings): one pass over them yields both the session's usage and its thread
        (docs/usage.md). None: the agent keeps none agentd can read; its usage and thread
        come from instrumented events, or from the prompt, inputs and exit status."""
        return None


LINE_CAP = 64 << 20  # a record line longer than this is skipped (with a warning)


class RecordReader:
    """Reads one agent's record files for the daemon (daemon/records.py), incrementally:
    the daemon keeps each file's offset and this reader's per-file `state` (a JSON-able
    dict) in state.db, and hands it only complete lines appended since the last read.

    `provider` is the genai-prices provider of the agent's models when its records do not
    say (opencode's do)."""

    provider: str | None = None

    def roots(self, env: dict[str, str]) -> list[str]:
        """Where the agent keeps its records, from the session's environment (computed once,
        when the session starts, and stored with it)."""
        return []

    def discover(self, roots: list[str], worktree: str, since: float) -> list[str]:
        """The record files of a session run in `worktree` that changed since `since`."""
        return []

    def stamp(self, path: str) -> int:
        """A number that changes when the file has more to read (its size); -1: gone."""
        import os

        try:
            return os.stat(path).st_size
        except OSError:
            return -1

    def read(self, path: str, offset: int, state: dict[str, Any], worktree: str = "",
             limit: int = 1 << 20) -> tuple[Batch, int]:
        """What the complete lines from `offset` on give, and the offset after them
        (about `limit` bytes a call: a large file is read over several turns of the
        daemon's loop, which serves requests in between; one line is read whole up to
        LINE_CAP, a longer one skipped with a warning). A record
        that is not a file of lines (opencode's database) overrides this."""
        from agentd.records import Batch, complete_lines

        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(limit)
            # One line longer than `limit` (a big tool input or image): read on to its end.
            while len(data) >= limit and b"\n" not in data[-limit:] and len(data) < LINE_CAP:
                more = f.read(limit)
                if not more:
                    break
                data += more
        lines, end = complete_lines(data, offset)
        if not lines and len(data) >= LINE_CAP:
            batch = Batch()
            batch.bad.append((offset, f"a line longer than {LINE_CAP} bytes"))
            batch.more = True
            return batch, _next_newline(path, offset + len(data))
        batch = self.parse(path, lines, state)
        batch.more = len(data) >= limit and end > offset
        return batch, end

    def parse(self, path: str, lines: list[tuple[int, bytes]],
              state: dict[str, Any]) -> Batch:
        """Calls, thread entries and bad lines of complete `lines` (offset, bytes)."""
        raise NotImplementedError


def _next_newline(path: str, start: int) -> int:
    with open(path, "rb") as f:
        f.seek(start)
        pos = start
        while chunk := f.read(1 << 20):
            i = chunk.find(b"\n")
            if i >= 0:
                return pos + i + 1
            pos += len(chunk)
    return start
