"""How a worker records its session's end: through the daemon, or straight into SQLite
when the daemon is down. Either way the write is committed before the worker exits.

The store is imported with the worker, not when the session ends: a worker may outlive an
upgrade of the installed agentd, and must not load a newer store (and run its migrations)
at exit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentd.errors import AgentdError
from agentd.protocol.connection import Connection
from agentd.protocol.views import WorkerSpec
from agentd.store.db import Store


def report_events(spec: WorkerSpec, events: list[dict[str, Any]]) -> None:
    """Best effort: screen-detected states are transient, so with the daemon down they are
    dropped rather than written behind its back."""
    try:
        with Connection.open(Path(spec.daemon_socket), timeout=2) as conn:
            conn.request("append_session_events", {"session": spec.session_id,
                                                   "events": events})
    except (OSError, AgentdError):
        pass


def report_exit(spec: WorkerSpec, exit_code: int, reason: str,
                failed_to_start: bool = False) -> None:
    params = {"session": spec.session_id, "exit_code": exit_code, "reason": reason,
              "failed_to_start": failed_to_start}
    try:
        with Connection.open(Path(spec.daemon_socket), timeout=5) as conn:
            conn.request("session_exited", params)
            return
    except (OSError, AgentdError):
        pass
    store = Store(Path(spec.db))
    try:
        store.finish_session(spec.session_id, exit_code, reason)
    finally:
        store.close()
