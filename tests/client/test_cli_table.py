"""The CLI's command table: the fast path agrees with the full parser, every row is real,
and `agent hook` is dispatched before argparse without showing in `agent --help`."""

from __future__ import annotations

import importlib
import subprocess

import pytest

from agentd.client import cli
from tests.helpers import AGENT, Env

FAST = [["ls"], ["attach", "fix-tests"], ["attach", "0123456789"]]
NOT_FAST = [["ls", "--all"], ["ls", "--json"], ["attach", "--read-only", "x"],
            ["attach", "x", "--force"], ["kill", "x"], ["diff", "x", "--stat"],
            ["events", "--since", "3"], ["send-input", "x", "--", "hi"], ["run", "fix it"]]


@pytest.mark.parametrize("argv", FAST, ids=" ".join)
def test_fast_path_gives_the_full_parsers_namespace(argv: list[str]) -> None:
    fast = cli.fast_path(argv)
    assert fast is not None
    assert vars(fast) == vars(cli.parse(argv))
    # The table's lazy parser (one command built) agrees with the parser of them all.
    assert vars(cli.parser().parse_args(argv)) == vars(fast)


@pytest.mark.parametrize("argv", NOT_FAST, ids=" ".join)
def test_other_forms_take_the_parser(argv: list[str]) -> None:
    assert cli.fast_path(argv) is None
    full = cli.parse(argv)
    assert full.command == argv[0]


def test_fast_path_declines_what_it_cannot_mirror() -> None:
    for argv in ([], ["attach"], ["attach", "a", "b"], ["hook", "claude"], ["nope"]):
        assert cli.fast_path(argv) is None


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
