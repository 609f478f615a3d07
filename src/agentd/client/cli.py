"""`agent`: the command-line client.

Every command is one row of `COMMANDS` (its module under agentd.client.commands, its
function, help and arguments as data). From that table come both the parser, built for the
one command being run (building all of them would cost `agent ls` about as much as its
whole request to the daemon), and the fast path that skips argparse for the plain forms of
commands (`agent ls`, `agent attach NAME`, `agent run --name X PROMPT...`).
tests/client/test_cli_table.py checks the two agree, on generated command lines too.

`agent hook AGENT ...` (run by agents on every tool call) is dispatched before any of this
and is not a command of the table: it is not for users, so `agent --help` does not list it.

Start-up stays light: on the path of `agent ls` only json, socket and agentd's own small
modules are imported; argparse only when a command needs parsing.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

from agentd import __version__
from agentd.attention import LEVELS
from agentd.errors import EXIT_USAGE, AgentdError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

EXAMPLES = """examples:
  agent                         # on a terminal: the live view of every task
  agent run --name fix-tests "fix failing tests in auth service"
  agent ls
  agent attach fix-tests        # Ctrl-] detaches
  agent diff fix-tests --stat
  agent merge fix-tests --dry-run
  agent kill fix-tests          # agent kill --rm fix-tests also removes worktree + logs
"""


def arg(*flags: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One argument, as `add_argument(*flags, **options)` takes it."""
    return flags, options


class Command:
    __slots__ = ("module", "function", "help", "epilog", "args")

    def __init__(self, module: str, function: str, help: str,
                 args: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (),
                 epilog: str | None = None) -> None:
        self.module, self.function, self.help = module, function, help
        self.args, self.epilog = args, epilog

    def run(self, args: Any) -> int:
        from agentd.client.api import AgentdClient

        module = __import__(f"agentd.client.commands.{self.module}", fromlist=["_"])
        return int(getattr(module, self.function)(args, AgentdClient()))


JSON = arg("--json", action="store_true")

COMMANDS: dict[str, Command] = {
    "run": Command(
        "run", "cmd_run", "start a task: branch, worktree and agent in a PTY",
        epilog='example: agent run --name fix-tests "fix failing tests"', args=(
            arg("--name", help="task name (default: a generated adjective-noun)"),
            arg("--agent", help="agent from config (default: default_agent)"),
            arg("--base", help="branch or commit to start from (default: current branch)"),
            arg("--workspace", help="the repository (default: current directory)"),
            arg("--task", metavar="NAME",
                help="add a session to this existing task instead (a second agent, a "
                     "reviewer: same worktree; not with --name, --base, --workspace)"),
            arg("--attach", action="store_true", help="attach right after starting"),
            JSON,
            arg("prompt", nargs="*", help="what the agent should do"))),
    "resume": Command(
        "resume", "cmd_resume",
        "a new session of an ended task's agent, continuing its conversation",
        epilog='example: agent resume fix-tests "now run the linter too"', args=(
            arg("name", help="task name or session id"),
            arg("--agent", help="whose conversation to continue when the task ran several "
                                "agents (default: the task's agent)"),
            arg("--attach", action="store_true", help="attach right after starting"),
            JSON,
            arg("prompt", nargs="*", help="the next message (default: none)"))),
    "show": Command(
        "show", "cmd_show", "a task's card: status, sessions, last events, thread",
        epilog="example: agent show fix-tests --json", args=(
            arg("name", help="task name or session id"),
            arg("--events", type=int, default=10, metavar="N", help="last N events (10)"),
            arg("--thread", type=int, default=10, metavar="N",
                help="last N thread entries (10)"),
            JSON)),
    "ls": Command(
        "ls", "cmd_ls", "list tasks, those needing you first", args=(
            arg("--all", action="store_true", help="include tasks ended over 24h ago"),
            JSON)),
    "kill": Command(
        "kill", "cmd_kill", "stop a task (its worktree, branch and logs are kept)", args=(
            arg("name"),
            arg("--rm", action="store_true",
                help="also remove worktree, logs, artifacts and the task's records"),
            arg("--force", action="store_true",
                help="with --rm: discard uncommitted changes in the worktree"),
            JSON)),
    "diff": Command(
        "diff", "cmd_diff", "the task's changes against its base", args=(
            arg("name"),
            arg("--stat", action="store_true"),
            arg("--color", choices=("auto", "always", "never"), default="auto"))),
    "daemon": Command(
        "daemon", "cmd_daemon", "daemon control: info, stop, restart, upgrade", args=(
            arg("action", choices=("info", "stop", "restart", "upgrade")),
            JSON)),
    "attach": Command(
        "attach", "cmd_attach", "connect this terminal to a task's PTY (Ctrl-] detaches)",
        epilog="example: agent attach fix-tests", args=(
            arg("name", help="task name or session id"),
            arg("--read-only", action="store_true", help="watch only; keys are ignored"),
            arg("--force", action="store_true", help="take over from another attacher"))),
    "detach": Command(
        "attach", "cmd_detach", "detach the client attached to a task", args=(
            arg("name", nargs="?", help="default: this session (AGENTD_SESSION_ID)"),)),
    "send-input": Command(
        "input", "cmd_send_input", "type into a task's PTY in the background",
        epilog="examples: agent send-input fix-tests -- yes\n"
               "          agent send-input fix-tests --key Down --key Enter", args=(
            arg("name"),
            arg("--no-enter", action="store_true", help="do not press Enter after TEXT"),
            arg("--key", action="append", default=[], metavar="KEY",
                help="a named key (Enter, Esc, Tab, Up, Down, Left, Right, C-c, C-d, …)"),
            arg("-v", "--verbose", action="store_true"),
            arg("text", nargs="*"))),
    "logs": Command(
        "logs", "cmd_logs", "a session's output (plain text, or --raw bytes)", args=(
            arg("name"),
            arg("-f", "--follow", action="store_true", help="stream until the session ends"),
            arg("--raw", action="store_true", help="raw bytes, escape sequences and all"))),
    "events": Command(
        "events", "cmd_events", "the event stream: what happened, who needs you",
        epilog="examples: agent events --follow --attention action\n"
               "          agent events fix-tests --json --since 100", args=(
            arg("name", nargs="?", help="only this task"),
            arg("-f", "--follow", action="store_true", help="keep streaming new events"),
            arg("--json", action="store_true", help="newline-delimited JSON"),
            arg("--since", type=int, default=0, metavar="ID",
                help="events after this id (negative: the last N)"),
            arg("--attention", choices=LEVELS, help="minimum attention level"))),
    "emit": Command(
        "events", "cmd_emit", "add an event to this managed session's task",
        epilog='example: agent emit --attention action "need a decision"', args=(
            arg("--attention", choices=LEVELS),
            arg("--kind", default="notify", help="event kind (default: notify)"),
            arg("--data", help="a JSON object with details"),
            arg("-v", "--verbose", action="store_true"),
            arg("summary", nargs="+"))),
    "ack": Command(
        "events", "cmd_ack", "acknowledge a task's attention", args=(arg("name"),)),
    "tui": Command(
        "tui", "cmd_tui", "the live view of every task (bare 'agent' on a terminal)",
        epilog="keys: Enter attach, n new, s send, k kill, d diff, ? help, q quit "
               "(docs/tui.md)"),
    "artifacts": Command(
        "artifacts", "cmd_artifacts", "a task's artifacts: commits, final patch, files, "
        "test results", epilog="example: agent artifacts fix-tests", args=(
            arg("name"), JSON)),
    "artifact": Command(
        "artifacts", "cmd_artifact", "add, get or show one artifact",
        epilog="examples: agent artifact add --kind test-results junit.xml   # in a session\n"
               "          agent artifact add --task fix-tests report.md\n"
               "          agent artifact get fix-tests 3 -o final.patch\n"
               "          agent artifact show fix-tests 5", args=(
            arg("action", choices=("add", "get", "show")),
            arg("items", nargs="+", metavar="ARG", help="add: PATH...; get, show: NAME ID"),
            arg("--kind", choices=("file", "test-results", "screenshot", "report"),
                default="file", help="add: what the file is (default: file)"),
            arg("--task", help="add: the task (default: this session's, AGENTD_SESSION_ID)"),
            arg("--outside", action="store_true",
                help="add: allow a file outside the task's worktree"),
            arg("--description", help="add: a line saying what it is"),
            arg("-o", "--output", metavar="PATH", help="get: write to PATH (default: stdout)"),
            JSON)),
    "merge": Command(
        "merge", "cmd_merge", "merge a task's branch into its base in the workspace checkout",
        epilog="examples: agent merge fix-tests --dry-run\n"
               "          agent merge fix-tests --squash", args=(
            arg("name"),
            arg("--squash", action="store_true", help="one new commit instead of the branch"),
            arg("--into", metavar="BRANCH", help="merge into BRANCH (default: the task's base)"),
            arg("--dry-run", action="store_true",
                help="say what would happen (fast-forward, merge, conflicts); change nothing"),
            JSON)),
    "apply": Command(
        "merge", "cmd_apply", "apply a task's final patch to this checkout, uncommitted",
        epilog="example: agent apply fix-tests && git diff", args=(
            arg("name"),
            arg("--workspace", help="the checkout (default: current directory)"),
            JSON)),
    "usage": Command(
        "usage", "cmd_usage", "tokens and cost: in total, or by task, agent, model or day",
        epilog="examples: agent usage --by model\n"
               "          agent usage fix-tests --since 2026-12-01 --json", args=(
            arg("name", nargs="?", help="only this task"),
            arg("--by", choices=("task", "agent", "model", "day"), help="one row per ..."),
            arg("--since", metavar="DATE", help="YYYY-MM-DD or an ISO date and time"),
            JSON)),
    "thread": Command(
        "usage", "cmd_thread", "a task's conversation: prompt, messages, tool calls, result",
        epilog="example: agent thread fix-tests --follow", args=(
            arg("name"),
            arg("-f", "--follow", action="store_true", help="keep printing new entries"),
            arg("--json", action="store_true",
                help="JSON (with --follow: newline-delimited)"))),
}


def parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of `only` (then the others are left out)."""
    import argparse

    p = argparse.ArgumentParser(
        prog="agent", description="Run coding agents like processes, supervise them like jobs.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"agent {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        if only is None or name == only:
            c = sub.add_parser(name, help=cmd.help, epilog=cmd.epilog)
            for flags, options in cmd.args:
                c.add_argument(*flags, **options)
    return p


def _dest(flags: tuple[str, ...], options: dict[str, Any]) -> str:
    if "dest" in options:
        return str(options["dest"])
    long = [f for f in flags if f.startswith("--")]
    return (long or list(flags))[0].lstrip("-").replace("-", "_")


def fast_path(argv: list[str]) -> Any:
    """The namespace argparse would build, without argparse (its import and parser cost
    ~7 ms, a fifth of `agent ls`): for the plain forms of a command — exact long or short
    flags (`--name X`, `--name=X`, `--json`), positionals in one run, no `--`. None when
    argparse is needed (help, abbreviations, typed or repeated options, anything unusual):
    argparse then decides, with its messages."""
    cmd = COMMANDS.get(argv[0]) if argv else None
    if cmd is None:
        return None
    ns: dict[str, Any] = {}
    flags_of: dict[str, tuple[str, bool, bool]] = {}  # flag -> (dest, takes a value, plain)
    positionals = []
    for flags, options in cmd.args:
        if not flags[0].startswith("-"):
            if options.keys() - {"help", "metavar", "nargs"}:
                return None  # choices and the like: argparse checks them
            positionals.append((flags[0], options.get("nargs")))
            continue
        dest, action = _dest(flags, options), options.get("action")
        ns[dest] = options.get("default", False if action == "store_true" else None)
        plain = action in (None, "store_true") and not (
            options.keys() - {"help", "metavar", "action", "default"})
        for f in flags:
            flags_of[f] = (dest, action is None, plain)
    words: list[str] = []
    runs, i, in_run = 0, 1, False
    while i < len(argv):
        a = argv[i]
        i += 1
        if not a.startswith("-") or a == "-":
            runs, in_run = runs + (not in_run), True
            words.append(a)
            continue
        in_run = False
        flag, eq, value = a.partition("=")
        known = flags_of.get(flag)
        if known is None or not known[2] or (eq and not flag.startswith("--")):
            return None
        dest, takes_value, _ = known
        if not takes_value:
            if eq:
                return None
            ns[dest] = True
            continue
        if not eq:
            if i >= len(argv) or argv[i].startswith("-"):
                return None
            value, i = argv[i], i + 1
        ns[dest] = value
    if runs > 1 or not _place(positionals, words, ns):
        return None
    return SimpleNamespace(command=argv[0], **ns)


def _place(positionals: list[tuple[str, Any]], words: list[str], ns: dict[str, Any]) -> bool:
    """Positionals as argparse fills them, for the shapes the table uses: single ones,
    then at most one `?`, `*` or `+` last."""
    singles = [p for p, nargs in positionals if nargs is None]
    rest = [(p, nargs) for p, nargs in positionals if nargs is not None]
    if len(rest) > 1 or (rest and positionals[-1][1] is None):
        return False
    if len(words) < len(singles):
        return False
    for name, word in zip(singles, words, strict=False):
        ns[name] = word
    extra = words[len(singles):]
    if not rest:
        return not extra
    name, nargs = rest[0]
    if nargs == "?":
        if len(extra) > 1:
            return False
        ns[name] = extra[0] if extra else None
    elif nargs in ("*", "+"):
        if nargs == "+" and not extra:
            return False
        ns[name] = extra
    else:
        return False
    return True


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
            return SimpleNamespace(command="tui")
        parser().print_help()
        return None
    return args


def hook(argv: list[str]) -> int:
    """`agent hook AGENT [PAYLOAD...]`: an agent's own hook or notify call."""
    if not argv:
        print("agent: error: usage: agent hook AGENT [PAYLOAD ...]", file=sys.stderr)
        return EXIT_USAGE
    from agentd.agents.hook import run_hook

    return run_hook(argv[0], argv[1:], sys.stdin)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["hook"]:
        return hook(argv[1:])
    args = fast_path(argv) or parse(argv)
    if args is None:
        return 0
    try:
        return COMMANDS[args.command].run(args)
    except AgentdError as e:
        print(f"agent: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
