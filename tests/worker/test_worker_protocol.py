"""The session worker's socket: bad frames and bad requests get errors, never a crash."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from agentd.errors import AgentdError
from agentd.protocol import codec
from agentd.protocol.connection import Connection
from agentd.protocol.messages import Failure, Request
from tests.helpers import Env, scaled


def worker_socket(env: Env, repo: Path) -> Path:
    env.ok("run", "--agent", "sleeper", "--name", "w", cwd=repo)
    return env.root / "sessions" / f"{env.task('w')['session']}.sock"


def raw_exchange(path: Path, data: bytes) -> list[object]:
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(path))
    s.settimeout(scaled(10))
    s.sendall(data)
    decoder = codec.Decoder()
    out: list[object] = []
    while not out:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += decoder.feed(chunk)
    s.close()
    return out


def test_bad_frames_get_errors_and_the_worker_lives(env: Env, repo: Path) -> None:
    path = worker_socket(env, repo)
    cases = [
        (struct.pack(">BI", 1, 5) + b"{oops", "malformed JSON"),
        (struct.pack(">BI", 9, 1) + b"x", "unknown frame type 0x09"),
        (codec.encode(Request(1, "frobnicate", {})), "unknown request 'frobnicate'"),
        (struct.pack(">BI", 1, 1 << 30), "exceeds"),
    ]
    for data, needle in cases:
        reply = raw_exchange(path, data)
        assert reply and isinstance(reply[0], Failure) and needle in reply[0].message
    with Connection.open(path, timeout=scaled(10)) as conn:
        with pytest.raises(AgentdError, match="unknown key 'bogus'"):
            conn.request("keys", {"names": ["bogus"]})
        assert conn.request("info")["task"] == "w"
    assert env.status("w") == "running"


def test_reattach_read_only_gives_up_the_interactive_seat(env: Env, repo: Path) -> None:
    path = worker_socket(env, repo)
    with (Connection.open(path, timeout=scaled(10)) as first,
          Connection.open(path, timeout=scaled(10)) as other):
        first.request("attach", {"mode": "interactive"})
        first.request("attach", {"mode": "read-only"})
        assert other.request("attach", {"mode": "interactive"})["interactive"] is True
