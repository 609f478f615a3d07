"""The worker's requests: every one is checked against its declaration before its handler
runs; a bad parameter is a `usage` failure naming it, a bug in a handler an `error` reply,
and neither harms the session."""

from __future__ import annotations

import json
import os
import selectors
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentd.errors import ProtocolError, UsageError
from agentd.jsonlog import JsonLog
from agentd.protocol import codec
from agentd.protocol.connection import Connection
from agentd.protocol.messages import Failure, Reply, Request
from agentd.protocol.requests import WORKER
from agentd.unix import bind_private
from agentd.worker import process
from agentd.worker.clients import Client, Clients
from agentd.worker.inputs import InputQueue
from agentd.worker.requests import Requests
from agentd.worker.screen import Screen
from agentd.worker.watch import ScreenWatch
from tests.helpers import Env, kill_pid, wait_for

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("resize", {"cols": [1], "rows": 24}, "cols"),
    ("resize", {"cols": 10**9, "rows": 24}, "cols"),
    ("resize", {"cols": 80.5, "rows": 24}, "cols"),
    ("resize", {"cols": 80}, "rows"),
    ("resize", {"cols": 80, "rows": 0}, "rows"),
    ("attach", {"mode": "x"}, "mode"),
    ("attach", {"mode": 1}, "mode"),
    ("attach", {"force": "yes"}, "force"),
    ("attach", {"cols": True, "rows": 24}, "cols"),
    ("attach", {"cols": 80, "rows": -1}, "rows"),
    ("attach", {"cols": 80, "rows": 1001}, "rows"),
    ("detach", {"reason": 5}, "reason"),
    ("keys", {"names": 5}, "names"),
    ("keys", {"names": [1]}, "names"),
    ("keys", {"names": "Enter"}, "names"),
    ("keys", {"names": ["a"], "enter": "yes"}, "enter"),
    ("keys", {"enter": True, "enter_delay": 1e308}, "enter_delay"),
    ("keys", {"enter": True, "enter_delay": -1}, "enter_delay"),
    ("terminate", {"grace": 1e308}, "grace"),
    ("terminate", {"grace": -1}, "grace"),
    ("terminate", {"grace": "3"}, "grace"),
]


def session(env: Env, repo: Path) -> Path:
    env.ok("run", "--agent", "sleeper", "--name", "w", cwd=repo)
    return env.root / "sessions" / f"{env.task('w')['session']}.sock"


def echoes(conn: Connection, text: str) -> bool:
    """Input typed into the session comes back on its screen (the PTY echoes it)."""
    conn.send_input(text.encode() + b"\r")
    wait_for(lambda: any(text in line for line in conn.request("snapshot")["lines"]),
             timeout=10, what=f"{text!r} echoed")
    return True


def test_bad_parameters_are_usage_failures_naming_them(env: Env, repo: Path) -> None:
    path = session(env, repo)
    with Connection.open(path, timeout=10) as conn:
        pid = conn.request("info")["pid"]
        for name, params, param in BAD:
            with pytest.raises(UsageError) as failed:
                conn.request(name, params)
            assert f"{name}: parameter '{param}'" in failed.value.message, (name, params)
        info = conn.request("info")
        assert info["pid"] == pid and not info["exited"] and info["interactive"] is False
        assert (info["cols"], info["rows"]) == (120, 40)  # no resize slipped through
        assert echoes(conn, "still-here")
        assert conn.request("keys", {"names": ["C-u"], "enter": True,
                                     "enter_delay": 0}) == {"bytes": 2}
    assert env.status("w") == "running"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_refused_and_the_session_goes_on(env: Env, repo: Path,
                                                              constant: str) -> None:
    """NaN and Infinity are not JSON (Python's json would read them): the frame is refused
    before any handler sees the value."""
    path = session(env, repo)
    body = (b'{"type":"request","id":7,"name":"terminate","params":{"grace":'
            + constant.encode() + b"}}")
    with Connection.open(path, timeout=10) as conn:
        conn.sock.sendall(codec.HEADER.pack(codec.JSON, len(body)) + body)
        reply = conn.recv()
        assert isinstance(reply, Failure) and reply.code == "protocol"
        assert f"{constant} is not JSON" in reply.message
        assert echoes(conn, "still-alive")
    assert env.status("w") == "running"


def test_unknown_requests_are_protocol_failures(env: Env, repo: Path) -> None:
    path = session(env, repo)
    with Connection.open(path, timeout=10) as conn:
        for name in ("frobnicate", "dispatch", "resize_", "__init__"):
            with pytest.raises(ProtocolError, match=f"unknown request '{name}'"):
                conn.request(name, {})
        assert echoes(conn, "after-unknown")


def test_a_key_name_that_cannot_be_typed_is_a_usage_failure(env: Env, repo: Path) -> None:
    path = session(env, repo)
    with Connection.open(path, timeout=10) as conn:
        for names in (["M-\udcff"], ["C-ß"], ["bogus"]):
            with pytest.raises(UsageError, match="unknown key"):
                conn.request("keys", {"names": names})
        assert echoes(conn, "keys-ok")


def test_every_declared_request_has_a_handler_and_no_other() -> None:
    handlers = {n[4:] for n in dir(Requests) if n.startswith("req_")}
    assert handlers == set(WORKER)


# -- a bug in a handler ---------------------------------------------------------------------

class Broken(Requests):
    def req_snapshot(self, c: Client, p: dict[str, Any]) -> dict[str, Any]:
        return {"lines": {}["lines"]}  # a bug: KeyError


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[Broken, Client, socket.socket, Path]]:
    """A real agent, screen, socket and client set around the dispatcher."""
    agent = process.spawn(["sleep", "60"], dict(os.environ), str(tmp_path), 80, 24)
    sel = selectors.DefaultSelector()
    server = bind_private(str(tmp_path / "s.sock"), 4)
    peer = socket.socket(socket.AF_UNIX)
    peer.connect(str(tmp_path / "s.sock"))
    peer.settimeout(10)
    screen = Screen(80, 24)
    clients = Clients(sel, screen.snapshot)
    clients.accept(server)
    (client,) = clients.by_fd.values()
    inputs = InputQueue(agent.master, lambda on: None, lambda part: None)
    watch = ScreenWatch([], [], 0, screen=screen, last_output=lambda: 0.0,
                        report=lambda event: None, arm=lambda part: None)
    log = tmp_path / "agentd.log"
    requests = Broken(session="s1", task="t", agent=agent, screen=screen, clients=clients,
                      inputs=inputs, watch=watch, terminate=lambda grace: None,
                      log=JsonLog(log, "worker-s1"))
    try:
        yield requests, client, peer, log
    finally:
        peer.close()
        server.close()
        clients.drop(client)
        kill_pid(agent.pid, group=True)
        os.waitpid(agent.pid, 0)
        agent.close()


def answer(peer: socket.socket) -> Any:
    decoder = codec.Decoder()
    while True:
        got = decoder.feed(peer.recv(65536))
        if got:
            return got[0]


def test_a_bug_in_a_handler_is_an_error_reply_and_is_logged(
        parts: tuple[Broken, Client, socket.socket, Path]) -> None:
    requests, client, peer, log = parts
    requests.dispatch(client, Request(7, "snapshot", {}))
    failure = answer(peer)
    assert isinstance(failure, Failure) and failure.id == 7 and failure.code == "error"
    assert failure.message == ("internal error in snapshot: KeyError('lines'); "
                               "see logs/agentd.log")
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["level"] == "error" and record["message"] == "internal error in snapshot"
    assert "Traceback" in record["fields"]["traceback"]
    assert "req_snapshot" in record["fields"]["traceback"]
    requests.dispatch(client, Request(8, "info", {}))  # the dispatcher goes on
    reply = answer(peer)
    assert isinstance(reply, Reply) and reply.id == 8 and reply.result["task"] == "t"
    assert os.waitpid(requests.agent.pid, os.WNOHANG) == (0, 0)  # the agent lives
