"""The CLI's command table: the fast path agrees with the full parser, every row is real,
and `agent hook` is dispatched before argparse without showing in `agent --help`."""

from __future__ import annotations

import contextlib
import importlib
import io
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentd.client import cli
from tests.helpers import AGENT, Env

FAST = [["ls"], ["ls", "--all"], ["ls", "--json"], ["attach", "fix-tests"],
        ["attach", "0123456789"], ["attach", "--read-only", "x"], ["attach", "x", "--force"],
        ["kill", "x"], ["kill", "--rm", "x", "--force"], ["diff", "x", "--stat"],
        ["run", "fix it"], ["run", "--name", "a", "--agent=b", "fix", "the", "tests"],
        ["run", "--json"], ["run", "--name", ""], ["resume", "x", "go", "on", "--json"],
        ["events", "-f"], ["events", "t", "--json"], ["emit", "need", "you"],
        ["logs", "x", "-f", "--raw"], ["detach"], ["run", "-"]]
NOT_FAST = [["events", "--since", "3"], ["send-input", "x", "--", "hi"],
            ["send-input", "x", "--key", "Down"], ["run", "fix", "--json", "it"],
            ["run", "--nam", "x"], ["run", "-h"], ["run", "--name", "-x"], ["run", "--name"],
            ["ls", "--json=1"], ["daemon", "info"], ["events", "--attention", "action"],
            ["logs", "-fv", "x"], ["run", "--", "x"], ["show", "x", "--events", "3"]]


@pytest.mark.parametrize("argv", FAST, ids=" ".join)
def test_fast_path_gives_the_full_parsers_namespace(argv: list[str]) -> None:
    fast = cli.fast_path(argv)
    assert fast is not None
    assert vars(fast) == vars(cli.parse(argv))
    # The table's lazy parser (one command built) agrees with the parser of them all.
    assert vars(cli.parser().parse_args(argv)) == vars(fast)


@pytest.mark.parametrize("argv", NOT_FAST, ids=" ".join)
def test_other_forms_take_the_parser(argv: list[str]) -> None:
    """Options it does not mirror (typed, choices, repeated), help, abbreviations, `--`,
    interleaved positionals and every line argparse refuses: argparse decides."""
    assert cli.fast_path(argv) is None
    if "--" not in argv:
        full = full_parse(argv)
        assert full is None or full["command"] == argv[0]


def test_fast_path_declines_what_it_cannot_mirror() -> None:
    for argv in ([], ["attach"], ["attach", "a", "b"], ["hook", "claude"], ["nope"]):
        assert cli.fast_path(argv) is None


def full_parse(argv: list[str]) -> dict[str, object] | None:
    """argparse's namespace, or None where it refuses the command line."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return vars(cli.parser(argv[0]).parse_args(argv))
        except SystemExit:
            return None


def tokens(name: str) -> list[str]:
    flags = [f for flags, _ in cli.COMMANDS[name].args for f in flags if f.startswith("-")]
    return [*flags, *[f + "=v" for f in flags], "x", "fix it", "", "-", "--", "-1", "-h",
            "--nam", "--json=1", "Down", "3", "add", "info"]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    name = draw(st.sampled_from(sorted(cli.COMMANDS)))
    return [name, *draw(st.lists(st.sampled_from(tokens(name)), max_size=7))]


@settings(max_examples=3000)
@given(command_lines())
def test_fast_path_agrees_with_argparse_on_generated_command_lines(argv: list[str]) -> None:
    """Whenever the fast path answers, argparse accepts the same line and builds the same
    namespace (lines with `--` go through `parse`, which handles it before argparse)."""
    fast = cli.fast_path(argv)
    if fast is None or "--" in argv:
        assert fast is None or "--" not in argv
        return
    assert vars(fast) == full_parse(argv), argv


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_row_names_a_real_function_and_builds(name: str) -> None:
    cmd = cli.COMMANDS[name]
    module = importlib.import_module(f"agentd.client.commands.{cmd.module}")
    assert callable(getattr(module, cmd.function))
    only = cli.parser(name)
    sub = next(a for a in only._actions if a.dest == "command")
    assert list(sub.choices) == [name]  # type: ignore[union-attr]


def test_help_lists_every_command_and_hides_hook(env: Env) -> None:
    out = env.ok("--help").out
    assert "SUPPRESS" not in out
    assert "hook" not in out
    for name in cli.COMMANDS:
        assert f"    {name}" in out


def test_hook_is_dispatched_before_argparse(env: Env) -> None:
    # Outside a managed session a hook does nothing and never fails the agent.
    environ = {k: v for k, v in env.env.items() if k not in ("AGENTD_SESSION_ID",
                                                             "AGENTD_SOCKET")}
    proc = subprocess.run([*AGENT, "hook", "claude"], env=environ, input="{}",
                          capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    r = env.agent("hook")
    assert r.code == 2 and "usage: agent hook AGENT" in r.err
