"""`agent hook NAME`: turns one payload of an agent's own hook or notify command into agentd
events for the session it runs in (AGENTD_SESSION_ID), sent with append_session_events.

It runs on every tool call of the agent, so it imports only that agent's integration. A hook
must never get in the agent's way: it prints nothing, and exits 0 whatever happens (a
failure is written to the daemon's log).
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import IO, Any


def run_hook(agent: str, argv: list[str], stdin: IO[str]) -> int:
    session = os.environ.get("AGENTD_SESSION_ID")
    socket = os.environ.get("AGENTD_SOCKET")
    if not session or not socket:
        return 0
    from pathlib import Path

    root = Path(socket).parent
    try:
        from agentd.agents import integration
        from agentd.paths import Paths

        it = integration(agent)
        if it.hook_payload == "stdin":
            raw = stdin.read()
        elif it.hook_payload == "argv":
            raw = argv[-1] if argv else ""
        else:
            raise LookupError(f"agent {agent!r} has no hooks wired to agentd")
        # Session files are in the runtime root whatever data_dir says: no config to read.
        paths = Paths.resolve(root=root)
        payload = json.loads(raw or "{}")
        events = it.hook_events(payload, argv,
                                lambda suffix: paths.session_file(session, suffix))
        source = f"{it.name}-{'notify' if it.hook_payload == 'argv' else 'hook'}"
        marker, conversation = conversation_news(it.name, source, it.conversation_id(payload),
                                                 paths.session_file(session, "conversation"))
        if conversation:
            events.insert(0, conversation)
        from agentd.protocol.connection import Connection

        with Connection.open(Path(socket), timeout=5) as conn:
            conn.request("append_session_events", {"session": session, "events": events})
        if conversation:
            marker.write_text(conversation["data"]["id"])
    except Exception as e:  # noqa: BLE001 - never break the agent
        _log_failure(root, agent, session, e)
    return 0


def conversation_news(agent: str, source: str, conversation: str | None,
                      marker: Path) -> tuple[Path, dict[str, Any] | None]:
    """A `conversation` event when the payload names a conversation id the session has not
    reported yet (`marker`, `<session>.conversation`, holds the last one delivered)."""
    if not conversation:
        return marker, None
    try:
        if marker.read_text() == conversation:
            return marker, None
    except OSError:
        pass
    return marker, {"kind": "conversation", "summary": f"{agent} conversation {conversation}",
                    "data": {"id": conversation, "agent": agent, "source": source}}


def _log_failure(root: Path, agent: str, session: str, error: Exception) -> None:
    """Into the daemon's log, wherever data_dir puts it (read from config only now)."""
    from agentd.jsonlog import JsonLog
    from agentd.paths import DAEMON_LOG, Paths

    try:
        log = Paths.load(root).daemon_log
    except Exception:  # noqa: BLE001 - a broken config.toml: the default place
        log = root / "logs" / DAEMON_LOG
    try:
        log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return
    JsonLog(log, f"hook-{agent}")("warning", "hook failed", session=session, error=repr(error))
