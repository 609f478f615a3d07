"""Session commands: attach, detach, send-input, logs."""

from __future__ import annotations

import os

from agentd.client import daemonctl
from agentd.errors import UsageError
from agentd.protocol.connection import Connection

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any


def session_name(name: str | None) -> str:
    name = name or os.environ.get("AGENTD_SESSION_ID")
    if not name:
        raise UsageError("name a task or session (or run this inside a managed session, "
                         "where AGENTD_SESSION_ID names it)")
    return name


def cmd_attach(a: argparse.Namespace) -> int:
    from agentd.client.attach import attach

    return attach(a.name, read_only=a.read_only, force=a.force)


def cmd_detach(a: argparse.Namespace) -> int:
    name = session_name(a.name)
    with daemonctl.connect() as conn:
        info = conn.request("get_session", {"name": name})
    try:
        with Connection.open(info["socket"], timeout=10) as conn:
            result = conn.request("detach", {"reason": "detached by 'agent detach'"})
    except OSError:
        result = {"detached": False}
    if not result["detached"]:
        print(f"no client is attached to {info['name']}")
        return 1
    print(f"detached the client of {info['name']}")
    return 0


def cmd_send_input(a: argparse.Namespace) -> int:
    text = " ".join(a.text)
    if not text and not a.key:
        raise UsageError("nothing to send: give TEXT after '--' or one or more --key KEY")
    with daemonctl.connect() as conn:
        result = conn.request("send_input", {"name": a.name, "text": text, "keys": a.key,
                                             "enter": bool(text) and not a.no_enter})
    if a.verbose:
        print(f"sent {result['bytes']} bytes to {result['name']}")
    return 0


def cmd_logs(a: argparse.Namespace) -> int:
    from pathlib import Path

    from agentd.client import logs
    from agentd.logfiles import log_files

    with daemonctl.connect() as conn:
        info = conn.request("get_session", {"name": a.name})
    path = Path(info["log"])
    files = log_files(path)
    logs.show(files, a.raw)
    if not a.follow or info["session_ended"]:
        return 0
    socket = Path(info["socket"])
    offset = path.stat().st_size if path.exists() else 0
    return logs.follow(path, a.raw, socket.exists, offset)


def add_session_commands(sub: Any) -> None:
    at = sub.add_parser("attach", help="connect this terminal to a task's PTY (Ctrl-] detaches)",
                        epilog="example: agent attach fix-tests")
    at.add_argument("name", help="task name or session id")
    at.add_argument("--read-only", action="store_true", help="watch only; keys are ignored")
    at.add_argument("--force", action="store_true", help="take over from another attacher")
    at.set_defaults(fn=cmd_attach)

    de = sub.add_parser("detach", help="detach the client attached to a task")
    de.add_argument("name", nargs="?", help="default: this session (AGENTD_SESSION_ID)")
    de.set_defaults(fn=cmd_detach)

    si = sub.add_parser("send-input", help="type into a task's PTY in the background",
                        epilog="examples: agent send-input fix-tests -- yes\n"
                               "          agent send-input fix-tests --key Down --key Enter")
    si.add_argument("name")
    si.add_argument("--no-enter", action="store_true", help="do not press Enter after TEXT")
    si.add_argument("--key", action="append", default=[], metavar="KEY",
                    help="a named key (Enter, Esc, Tab, Up, Down, Left, Right, C-c, C-d, …)")
    si.add_argument("-v", "--verbose", action="store_true")
    si.add_argument("text", nargs="*")
    si.set_defaults(fn=cmd_send_input)

    lg = sub.add_parser("logs", help="a session's output (plain text, or --raw bytes)")
    lg.add_argument("name")
    lg.add_argument("-f", "--follow", action="store_true", help="stream until the session ends")
    lg.add_argument("--raw", action="store_true", help="raw bytes, escape sequences and all")
    lg.set_defaults(fn=cmd_logs)
