"""Every daemon request is checked against its declaration (protocol/requests.py) before
its handler runs: a bad parameter is a `usage` failure naming it, and the daemon goes on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentd.errors import AgentdError, UsageError
from agentd.protocol.connection import Connection
from agentd.protocol.requests import DAEMON
from tests.helpers import Env


def daemon(env: Env) -> Connection:
    return Connection.open(env.root / "agentd.sock", timeout=30)


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("create_session", {}, "create_session: parameter 'workspace' is required (a string)"),
    ("create_session", {"workspace": 5}, "parameter 'workspace' must be a string"),
    ("create_session", {"workspace": "/x", "cols": [1]},
     "parameter 'cols' must be an integer from 1 to 1000"),
    ("create_session", {"workspace": "/x", "rows": 10**12}, "parameter 'rows' must be"),
    ("create_session", {"workspace": "/x", "env": {"A": 1}},
     "parameter 'env' must be an object of string values"),
    ("create_session", {"workspace": "/x", "prompt": 7},
     "parameter 'prompt' must be a string or a list of strings"),
    ("list_sessions", {"all": "yes"}, "parameter 'all' must be true or false"),
    ("get_session", {"name": ["a"]}, "get_session: parameter 'name' must be a string"),
    ("send_input", {"name": "t", "keys": "Enter"}, "parameter 'keys' must be a list of strings"),
    ("send_input", {"name": "t", "text": 3}, "parameter 'text' must be a string"),
    ("stream_events", {"since": 1.5}, "parameter 'since' must be an integer"),
    ("stream_events", {"attention": "urgent"},
     "parameter 'attention' must be one of info, notice, action"),
    ("kill_session", {}, "kill_session: parameter 'name' is required"),
    ("session_exited", {"session": "s", "exit_code": "0"}, "parameter 'exit_code' must be"),
    ("append_session_events", {"session": "s", "events": {"kind": "x"}},
     "parameter 'events' must be a list"),
    ("add_artifact", {"name": "t", "paths": "/a"}, "parameter 'paths' must be a list of "
                                                   "strings"),
    ("add_artifact", {"name": "t", "paths": ["/a"], "kind": "patch"},
     "parameter 'kind' must be one of file, test-results, screenshot, report"),
    ("add_artifact", {"name": "t", "paths": ["a"]},
     "add_artifact: parameter 'paths' must be a non-empty list of absolute paths"),
    ("get_artifact", {"name": "t", "id": 0}, "parameter 'id' must be an integer from 1"),
    ("get_artifact", {"name": "t"}, "get_artifact: parameter 'id' is required"),
    ("merge_task", {"name": "t", "squash": 1}, "parameter 'squash' must be true or false"),
    ("apply_patch", {"name": "t"}, "apply_patch: parameter 'workspace' is required"),
    ("apply_patch", {"name": "t", "workspace": "rel"},
     "apply_patch: parameter 'workspace' must be an absolute path"),
    ("start_session", {}, "start_session: parameter 'name' is required (a string)"),
    ("start_session", {"name": "t", "resume": "yes"}, "parameter 'resume' must be true or"),
    ("start_session", {"name": "t", "env": ["A=1"]}, "parameter 'env' must be an object"),
    ("show_task", {"name": "t", "thread": 1001},
     "show_task: parameter 'thread' must be an integer from 0 to 1000"),
]


@pytest.mark.parametrize(("name", "params", "needle"), BAD, ids=[f"{n}-{i}" for i, (n, _, _)
                                                                 in enumerate(BAD)])
def test_bad_parameters_are_named_and_the_daemon_goes_on(env: Env, name: str,
                                                         params: dict[str, Any],
                                                         needle: str) -> None:
    env.ok("ls")  # the daemon is up
    with daemon(env) as conn:
        with pytest.raises(UsageError) as err:
            conn.request(name, params)
        assert needle in str(err.value)
        assert conn.request("hello")["protocol"] == 1  # same connection, still served


def test_params_that_are_not_an_object(env: Env) -> None:
    env.ok("ls")
    from agentd.protocol.messages import Failure, Request

    with daemon(env) as conn:
        conn.send(Request(1, "list_sessions", [1, 2]))  # type: ignore[arg-type]
        reply = conn.recv()
    # The codec already refuses non-object params at the frame level, or validation does.
    assert isinstance(reply, Failure)
    assert reply.code in ("protocol", "usage")


def test_read_only_attach_does_not_acknowledge(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "needy", cwd=repo)
    sid = env.task("needy")["session"]
    with daemon(env) as conn:
        conn.request("append_session_events", {"session": sid, "events": [
            {"kind": "waiting", "summary": "need a decision", "attention": "action"}]})
        watch = conn.request("attach_session", {"name": "needy", "read_only": True})
        assert watch["detach_key"] == "C-]"
        assert env.task("needy")["attention"] == "action"  # a watcher is not an answer
        conn.request("attach_session", {"name": "needy"})
    assert env.task("needy")["attention"] is None  # an interactive attach acknowledges
    kinds = [json.loads(line)["kind"]
             for line in env.ok("events", "needy", "--json").out.splitlines()]
    assert kinds.index("watching") < kinds.index("attached")


def test_detach_key_comes_from_config(env: Env, repo: Path) -> None:
    env.write_config('detach_key = "C-b"\n[agents.sleeper]\ncommand = "sleep"\n'
                     'args = ["600"]\nprompt = "none"\n')
    env.ok("run", "--agent", "sleeper", "--name", "k", cwd=repo)
    with daemon(env) as conn:
        assert conn.request("attach_session", {"name": "k", "read_only": True})[
            "detach_key"] == "C-b"
        with pytest.raises(AgentdError):
            conn.request("no_such_request")
def test_every_handler_is_declared_and_every_declaration_handled() -> None:
    from agentd.daemon.handlers import Handlers

    handled = {n[2:] for n in dir(Handlers) if n.startswith("h_")}
    assert handled == set(DAEMON)


