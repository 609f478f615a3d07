"""Shared by the reliability tests: raw sockets to the daemon and workers, RSS from /proc."""

from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path
from typing import Any

from agentd.protocol import codec
from agentd.protocol.messages import Failure, Message, Reply, Request
from tests.helpers import Env, scaled


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def frame(name: str, params: Any, req_id: int = 1) -> bytes:
    body = json.dumps({"type": "request", "id": req_id, "name": name,
                       "params": params}).encode()
    return struct.pack(">BI", codec.JSON, len(body)) + body


def connect(path: Path, timeout: float = 10) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(scaled(timeout))
    deadline = time.monotonic() + scaled(timeout)
    while True:
        try:
            s.connect(str(path))
            return s
        except BlockingIOError:  # the listen backlog is full: the server is catching up
            if time.monotonic() > deadline:
                s.close()
                raise
            time.sleep(0.005)


def read_until_closed(s: socket.socket, limit: int = 1 << 24) -> list[Message | Any]:
    """Everything the peer sends until it closes the connection (or `limit` bytes)."""
    decoder = codec.Decoder()
    out: list[Any] = []
    got = 0
    while got < limit:
        try:
            chunk = s.recv(1 << 16)
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += len(chunk)
        out += decoder.feed(chunk)
    return out


def replies(s: socket.socket, count: int) -> list[Message]:
    """The next `count` replies (Reply or Failure) on a socket; pushes and output skipped."""
    decoder = codec.Decoder()
    out: list[Message] = []
    while len(out) < count:
        chunk = s.recv(1 << 20)
        if not chunk:
            raise AssertionError(f"closed after {len(out)} of {count} replies")
        out += [m for m in decoder.feed(chunk) if isinstance(m, Reply | Failure)]
    return out


def round_trip(env: Env, name: str = "list_sessions", params: Any = None) -> float:
    """Seconds for a fresh connection to get the reply to one request."""
    started = time.perf_counter()
    with connect(env.root / "agentd.sock") as s:
        s.sendall(codec.encode(Request(1, name, params or {})))
        (reply,) = replies(s, 1)
    assert isinstance(reply, Reply), reply
    return time.perf_counter() - started
