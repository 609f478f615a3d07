"""The CLI's commands, one module per group; each `cmd_<name>(args, api)` returns an exit
code. Which module holds which command, and its arguments, is the table in cli.py."""

from __future__ import annotations

import json
import os

from agentd.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2))


def session_name(name: str | None) -> str:
    """NAME, or this managed session's id."""
    name = name or os.environ.get("AGENTD_SESSION_ID")
    if not name:
        raise UsageError("name a task or session (or run this inside a managed session, "
                         "where AGENTD_SESSION_ID names it)")
    return name
