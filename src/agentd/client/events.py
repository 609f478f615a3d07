"""`agent events`, `agent emit`, `agent ack`: the event stream from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from agentd.agents import WITH_HOOKS
from agentd.client import daemonctl
from agentd.client import format as fmt
from agentd.errors import UsageError
from agentd.protocol.messages import Push


def line(e: dict[str, Any], colour: bool) -> str:
    level = e["attention"]
    mark = {"action": "!", "notice": "*"}.get(level, " ")
    text = (f"{e['id']:>6} {e['ts'][11:19]} {mark} {(e['task'] or '-'):<20} "
            f"{e['kind']:<15} {e['summary']}")
    return fmt.paint(text, level, colour)


def cmd_events(a: argparse.Namespace) -> int:
    colour = fmt.use_colour()
    params = {"task": a.name, "since": a.since, "attention": a.attention, "follow": a.follow}
    timeout = None if a.follow else 60
    with daemonctl.connect(timeout=timeout) as conn:
        conn.request("stream_events", params)
        # Without --follow the pushes arrived before the reply and wait in the inbox.
        while a.follow or conn.inbox:
            msg = conn.recv()
            if isinstance(msg, Push) and msg.name == "event":
                e = msg.data
                print(json.dumps(e) if a.json else line(e, colour), flush=a.follow)
    return 0


def cmd_emit(a: argparse.Namespace) -> int:
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
    with daemonctl.connect() as conn:
        result = conn.request("append_session_events", {"session": session,
                                                        "events": [event]})
    if a.verbose:
        print(f"event {result['last_id']}")
    return 0


def cmd_ack(a: argparse.Namespace) -> int:
    with daemonctl.connect() as conn:
        result = conn.request("ack", {"name": a.name})
    print(f"acknowledged {result['name']}" + (f" (was {result['was']})" if result["was"]
                                              else ""))
    return 0


def add_event_commands(sub: Any) -> None:
    ev = sub.add_parser("events", help="the event stream: what happened, who needs you",
                        epilog="examples: agent events --follow --attention action\n"
                               "          agent events fix-tests --json --since 100")
    ev.add_argument("name", nargs="?", help="only this task")
    ev.add_argument("-f", "--follow", action="store_true", help="keep streaming new events")
    ev.add_argument("--json", action="store_true", help="newline-delimited JSON")
    ev.add_argument("--since", type=int, default=0, metavar="ID",
                    help="events after this id (negative: the last N)")
    ev.add_argument("--attention", choices=("info", "notice", "action"),
                    help="minimum attention level")
    ev.set_defaults(fn=cmd_events)

    em = sub.add_parser("emit", help="add an event to this managed session's task",
                        epilog='example: agent emit --attention action "need a decision"')
    em.add_argument("--attention", choices=("info", "notice", "action"))
    em.add_argument("--kind", default="notify", help="event kind (default: notify)")
    em.add_argument("--data", help="a JSON object with details")
    em.add_argument("-v", "--verbose", action="store_true")
    em.add_argument("summary", nargs="+")
    em.set_defaults(fn=cmd_emit)

    ak = sub.add_parser("ack", help="acknowledge a task's attention")
    ak.add_argument("name")
    ak.set_defaults(fn=cmd_ack)

    hk = sub.add_parser("hook", help=argparse.SUPPRESS)
    hk.add_argument("agent", choices=WITH_HOOKS)
    hk.add_argument("payload", nargs="*")
    hk.set_defaults(fn=cmd_hook)


def cmd_hook(a: argparse.Namespace) -> int:
    from agentd.agents.hook import run_hook

    return run_hook(a.agent, a.payload, sys.stdin)
