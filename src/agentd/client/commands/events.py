"""`agent events`, `agent emit`, `agent ack`: the event stream from the command line."""

from __future__ import annotations

import json
import os

from agentd.attention import ACTION, NOTICE
from agentd.client import format as fmt
from agentd.errors import UsageError
from agentd.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace
    from typing import Any

    from agentd.client.api import AgentdClient
    from agentd.protocol.views import EventView

MARKS = {ACTION: "!", NOTICE: "*"}


def line(e: EventView, colour: bool) -> str:
    text = (f"{e.id:>6} {e.ts[11:19]} {MARKS.get(e.attention, ' ')} {(e.task or '-'):<20} "
            f"{printable(e.kind):<15} {printable(e.summary)}")
    return fmt.paint(text, e.attention, colour)


def cmd_events(a: Namespace, api: AgentdClient) -> int:
    colour = fmt.use_colour()
    level = a.attention or "info"
    stream = (api.follow_events(a.since, a.name, level) if a.follow
              else api.events(a.since, a.name, level))
    for e in stream:
        print(json.dumps(e.to_wire()) if a.json else line(e, colour), flush=a.follow)
    return 0


def cmd_emit(a: Namespace, api: AgentdClient) -> int:
    session = os.environ.get("AGENTD_SESSION_ID")
    if not session:
        raise UsageError("agent emit works inside a managed session (AGENTD_SESSION_ID "
                         "is not set); it adds an event to that session's task")
    event: dict[str, Any] = {"kind": a.kind, "summary": " ".join(a.summary)}
    if a.attention:
        event["attention"] = a.attention
    if a.data:
        try:
            event["data"] = json.loads(a.data)
        except ValueError as e:
            raise UsageError(f"--data is not valid JSON: {e}") from None
    result = api.emit(session, [event])
    if a.verbose:
        print(f"event {result['last_id']}")
    return 0


def cmd_ack(a: Namespace, api: AgentdClient) -> int:
    result = api.ack(a.name)
    print(f"acknowledged {result['name']}" + (f" (was {result['was']})" if result["was"]
                                              else ""))
    return 0
