"""`agent`: the command-line client. Each subcommand is a small function `cmd_<name>`.

Start-up stays light: only argparse, json, socket and agentd's own small modules are
imported on the path of `agent ls` and `agent send-input`.
"""

from __future__ import annotations

import json
import os
import sys

from agentd import __version__
from agentd.client import daemonctl
from agentd.client import format as fmt
from agentd.errors import EXIT_USAGE, AgentdError, UsageError
from agentd.procs import wait_gone

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

EXAMPLES = """examples:
  agent run --name fix-tests "fix failing tests in auth service"
  agent ls
  agent attach fix-tests        # Ctrl-] detaches
  agent diff fix-tests --stat
  agent kill fix-tests          # agent kill --rm fix-tests also removes worktree + logs
"""


def request(name: str, params: dict[str, Any] | None = None, start: bool = True) -> Any:
    with daemonctl.connect(start=start) as conn:
        return conn.request(name, params or {})


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2))


# -- commands ------------------------------------------------------------------------------


def cmd_run(a: argparse.Namespace) -> int:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError):
        size = os.terminal_size((120, 40))  # not a terminal: a roomy default
    params = {"name": a.name, "agent": a.agent, "base": a.base,
              "workspace": os.path.abspath(a.workspace or os.getcwd()), "prompt": a.prompt,
              "env": dict(os.environ), "cols": size.columns, "rows": size.lines}
    task = request("create_session", params)
    if a.json:
        print_json(task)
    else:
        print(f"started {task['name']}\n"
              f"  agent     {task['agent']}\n"
              f"  branch    {task['branch']} (from {task['base']})\n"
              f"  worktree  {task['worktree']}\n"
              f"  session   {task['session']}")
    if task["start_error"]:
        print(f"agent: error: {task['name']} failed to start: {task['start_error']}",
              file=sys.stderr)
        return 1
    if getattr(a, "attach", False):
        from agentd.client.attach import attach

        return attach(task["name"], read_only=False, force=False)
    return 0


def cmd_ls(a: argparse.Namespace) -> int:
    tasks = fmt.sort_tasks(request("list_sessions", {"all": a.all}))
    if a.json:
        print_json(tasks)
    elif tasks:
        print(fmt.table(tasks, fmt.use_colour()))
    else:
        print("no tasks" + ("" if a.all else " in the last 24 hours (agent ls --all shows "
                                              "older ones)"))
    return 0


def cmd_kill(a: argparse.Namespace) -> int:
    result = request("kill_session", {"name": a.name, "rm": a.rm, "force": a.force})
    if a.json:
        print_json(result)
        return 0
    print(f"{'removed' if result['removed'] else 'killed'} {result['name']}")
    for note in result.get("notes", []):
        print(f"  {note}")
    return 0


def cmd_diff(a: argparse.Namespace) -> int:
    colour = fmt.use_colour() if a.color == "auto" else a.color == "always"
    result = request("session_diff", {"name": a.name, "stat": a.stat, "color": colour})
    sys.stdout.write(result["diff"])
    return 0


def cmd_daemon(a: argparse.Namespace) -> int:
    if a.action == "info":
        info = request("daemon_info")
        if a.json:
            print_json(info)
        else:
            width = max(len(k) for k in info)
            for k, v in info.items():
                shown = ", ".join(v) or "-" if isinstance(v, list) else v
                print(f"{k.ljust(width)}  {shown}")
        return 0
    if a.action in ("stop", "restart"):
        try:
            info = request("daemon_stop", start=False)
        except AgentdError:
            if a.action == "stop":
                print("agentd is not running")
                return 0
        else:
            if not wait_gone(info["pid"]):
                raise AgentdError(f"agentd (pid {info['pid']}) did not stop")
            print(f"agentd stopped (pid {info['pid']}); running tasks keep running")
        if a.action == "restart":
            info = request("hello")
            print(f"agentd started (version {info['version']})")
        return 0
    # upgrade: the daemon re-executes itself from the installed code, keeping its socket.
    old = request("daemon_info")
    request("daemon_upgrade")
    new = request("daemon_info")
    print(f"agentd upgraded in place: pid {new['pid']}, version {old['version']} → "
          f"{new['version']}; {len(new['running_tasks'])} running task(s) untouched")
    return 0


# -- parser --------------------------------------------------------------------------------


COMMANDS = ("run", "ls", "kill", "diff", "daemon", "attach", "detach", "send-input", "logs",
            "events", "emit", "ack", "hook")


class _Skipped:
    """Stands in for the parser of a subcommand not being run."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_defaults(self, **kwargs: Any) -> None:
        pass


class _OnlyOne:
    """Builds the parser of one subcommand only: building all of them would cost `agent ls`
    about as much as its whole request to the daemon."""

    def __init__(self, sub: Any, only: str | None) -> None:
        self.sub, self.only = sub, only

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self.only is None or name == self.only:
            return self.sub.add_parser(name, **kwargs)
        return _Skipped()


def parser(only: str | None = None) -> argparse.ArgumentParser:
    import argparse

    p = argparse.ArgumentParser(
        prog="agent", description="Run coding agents like processes, supervise them like jobs.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"agent {__version__}")
    sub: Any = _OnlyOne(p.add_subparsers(dest="command", metavar="COMMAND"), only)

    r = sub.add_parser("run", help="start a task: branch, worktree and agent in a PTY",
                       epilog='example: agent run --name fix-tests "fix failing tests"')
    r.add_argument("--name", help="task name (default: a generated adjective-noun)")
    r.add_argument("--agent", help="agent from config (default: default_agent)")
    r.add_argument("--base", help="branch or commit to start from (default: current branch)")
    r.add_argument("--workspace", help="the repository (default: current directory)")
    r.add_argument("--attach", action="store_true", help="attach right after starting")
    r.add_argument("--json", action="store_true")
    r.add_argument("prompt", nargs="*", help="what the agent should do")
    r.set_defaults(fn=cmd_run)

    ls = sub.add_parser("ls", help="list tasks, those needing you first")
    ls.add_argument("--all", action="store_true", help="include tasks ended over 24h ago")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(fn=cmd_ls)

    k = sub.add_parser("kill", help="stop a task (its worktree, branch and logs are kept)")
    k.add_argument("name")
    k.add_argument("--rm", action="store_true",
                   help="also remove worktree, logs, artifacts and the task's records")
    k.add_argument("--force", action="store_true",
                   help="with --rm: discard uncommitted changes in the worktree")
    k.add_argument("--json", action="store_true")
    k.set_defaults(fn=cmd_kill)

    d = sub.add_parser("diff", help="the task's changes against its base")
    d.add_argument("name")
    d.add_argument("--stat", action="store_true")
    d.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    d.set_defaults(fn=cmd_diff)

    dm = sub.add_parser("daemon", help="daemon control: info, stop, restart, upgrade")
    dm.add_argument("action", choices=("info", "stop", "restart", "upgrade"))
    dm.add_argument("--json", action="store_true")
    dm.set_defaults(fn=cmd_daemon)

    from agentd.client.commands import add_session_commands
    from agentd.client.events import add_event_commands

    add_session_commands(sub)
    add_event_commands(sub)
    return p


def fast_path(argv: list[str]) -> Any:
    """The plain forms of the commands that must start instantly skip argparse (its import
    and parser cost more than the rest of `agent ls`)."""
    from types import SimpleNamespace

    if argv == ["ls"]:
        return SimpleNamespace(command="ls", all=False, json=False, fn=cmd_ls)
    if len(argv) == 2 and argv[0] == "attach" and not argv[1].startswith("-"):
        from agentd.client.commands import cmd_attach

        return SimpleNamespace(command="attach", name=argv[1], read_only=False, force=False,
                               fn=cmd_attach)
    return None


def parse(argv: list[str]) -> Any:
    # Everything after the first "--" is free text (argparse mishandles "--" after a
    # subcommand's positionals), appended to the command's text or prompt.
    rest: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1:]
    only = argv[0] if argv and argv[0] in COMMANDS else None
    args = parser(only).parse_args(argv)
    for field in ("text", "prompt"):
        if hasattr(args, field):
            setattr(args, field, getattr(args, field) + rest)
    if args.command is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            return parser("ls").parse_args(["ls"])
        parser().print_help()
        return None
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = fast_path(argv) or parse(argv)
    if args is None:
        return 0
    try:
        return int(args.fn(args))
    except AgentdError as e:
        print(f"agent: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


__all__ = ["main", "UsageError", "EXIT_USAGE"]
