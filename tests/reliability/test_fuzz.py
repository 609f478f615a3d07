"""Protocol fuzzing of the daemon's and a worker's socket (docs/reliability.md, "Hostile
input"): well-formed requests with hostile parameters generated from every declaration in
protocol/requests.py, mutations of them and random bytes — over 100 000 frames in all.
Every frame is answered (an error, or a reply when it happens to be valid) or the
connection is closed; both processes stay up, their memory flat, and nothing changes but a
throwaway task's state."""

from __future__ import annotations

import json
import random
import socket
import sqlite3
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agentd.daemon import server
from agentd.errors import UsageError
from agentd.protocol import codec
from agentd.protocol.messages import Failure, Input, Invalid, Push, Reply, Request
from agentd.protocol.requests import DAEMON, MAX_LIST, MAX_STR, WORKER, Param, validate
from tests.helpers import Env, alive, scaled
from tests.reliability.support import connect, rss_kib

EXAMPLES = 8  # per socket and round; each example sends ~4000 frames
MUTANTS = 1500  # mutations of each small frame
NUMBERS = [0, -1, 1, 2, 999, 1000, 1001, 2**31, -(2**31) - 1, 2**53 + 1, 2**62, 2**63,
           -(2**63), 2**64, 10**30, -(10**30), 0.5, -0.0, 1e-300, 1e308, -1e308]

# Requests whose purpose is to stop the daemon, end the session or close the connection.
ENDS = ("daemon_stop", "daemon_upgrade", "terminate", "detach")

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=6)


def hostile(param: Param, names: list[str]) -> st.SearchStrategy[Any]:
    """Values for one declared parameter: of its kind but out of range or odd, of other
    kinds, boundaries, long, nested."""
    bounds = [b + d for b in (param.lo, param.hi) if b is not None for d in (-1, 0, 1)]
    numbers = st.sampled_from(NUMBERS + bounds) | st.integers() | st.floats()
    strings = (st.text(max_size=12) | st.sampled_from(
        ["", "\x00", "../../etc/passwd", "\u202e\x1b]52;c;aGk=\x07", "a" * 1000, *names,
         *(param.choices or ())]))
    shaped = {"str": strings, "int": numbers, "num": numbers, "bool": st.booleans(),
              "strs": st.lists(strings, max_size=5), "env": st.dictionaries(strings, strings,
                                                                            max_size=5),
              "words": strings | st.lists(strings, max_size=5),
              "list": st.lists(junk, max_size=5)}[param.kind]
    return st.one_of(shaped, numbers, strings, junk)


def requests(table: dict[str, dict[str, Param]], names: list[str]) -> st.SearchStrategy[Any]:
    """A request of the table with hostile params (some declared, some extra)."""
    per_name = []
    for name, declared in table.items():
        if name in ENDS:
            continue  # they stop the daemon, end the session or close: legitimately
        fields = {k: hostile(p, names) for k, p in declared.items()}
        per_name.append(st.tuples(st.just(name), st.fixed_dictionaries(
            {}, optional=fields), st.dictionaries(st.text(max_size=4), junk, max_size=1)))
    return st.one_of(per_name)


def encode(name: str, params: Any, req_id: Any) -> bytes:
    body = json.dumps({"type": "request", "id": req_id, "name": name,
                       "params": params}).encode()  # NaN and Infinity included, on purpose
    return struct.pack(">BI", codec.JSON, len(body)) + body


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(6)
    if op == 0 and len(b) > 5:  # flip payload bits
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(5, len(b))] ^= 1 << rng.randrange(8)
    elif op == 1:  # an empty payload
        b = bytearray(b[:1] + struct.pack(">I", 0))
    elif op == 2:  # another frame type
        b[0] = rng.randrange(256)
    elif op == 3 and len(b) > 6:  # truncated payload, length fixed up
        cut = rng.randrange(5, len(b))
        b = b[:cut]
        b[1:5] = struct.pack(">I", cut - 5)
    elif op == 4:  # random bytes inside the payload
        at = rng.randrange(5, max(6, len(b)))
        b[at:at] = rng.randbytes(rng.randint(1, 16))
        b[1:5] = struct.pack(">I", len(b) - 5)
    elif op == 5:  # a well-framed random payload
        payload = rng.randbytes(rng.randint(0, 64))
        b = bytearray(struct.pack(">BI", rng.choice([1, 2, 3, 4]), len(payload)) + payload)
    return bytes(b)


def desync(rng: random.Random, data: bytes, cap: int) -> bytes:
    """A mutation after which the stream cannot be framed: the end of a connection."""
    op = rng.randrange(4)
    if op == 3:  # a length a little off: the next frame is read from the middle
        b = bytearray(data)
        b[1:5] = struct.pack(">I", max(0, len(b) - 5 + rng.choice([-3, -1, 1, 7])))
        return bytes(b)
    if op == 0:  # raw random bytes
        return rng.randbytes(rng.randint(1, 32))
    if op == 1:  # a flipped length bit
        b = bytearray(data)
        b[rng.randrange(1, 5)] ^= 1 << rng.randrange(8)
        return bytes(b)
    return codec.HEADER.pack(rng.choice([1, 2, 3]), cap + 1 + rng.randrange(1 << 20))


def unanswered(msg: Any) -> bool:
    """A valid `synced` has no reply (docs/protocol.md): it is sent during floods."""
    if not (isinstance(msg, Request) and msg.name == "synced"):
        return False
    try:
        validate(WORKER, "synced", msg.params)
    except UsageError:
        return False
    return True


def answers_expected(stream: bytes, max_payload: int, worker: bool) -> tuple[int, int]:
    """How many answers the server owes for this byte stream (the frames a decoder with its
    cap makes of it, up to a fatal one; INPUT frames and valid `synced` requests are not
    answered by a worker), and how many frames it reads."""
    answers = frames = 0
    for msg in codec.Decoder(max_payload).feed(stream):
        frames += 1
        if not (worker and (isinstance(msg, Input) or unanswered(msg))):
            answers += 1
        if isinstance(msg, Invalid) and msg.fatal:
            break
    return answers, frames


def exchange(path: Path, stream: bytes) -> tuple[int, bool]:
    """Send the stream, then EOF; count the answers until the server closes. Also whether
    the worker detached this connection (a `detached` push closes it early)."""
    s = connect(path, timeout=60)
    decoder = codec.Decoder()
    answers, detached = 0, False
    try:
        view, sent = memoryview(stream), 0
        s.setblocking(False)
        if not stream:
            s.shutdown(socket.SHUT_WR)
        import select

        while True:  # write and read at once: the server answers as it reads
            want_w = [s] if sent < len(stream) else []
            r, w, _ = select.select([s], want_w, [], scaled(60))
            if not r and not w:
                raise AssertionError("the server went silent")
            if w:
                try:
                    sent += s.send(view[sent:sent + 65536])
                except (BlockingIOError, InterruptedError):
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    sent = len(stream)
                if sent >= len(stream):
                    try:
                        s.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
            if r:
                try:
                    chunk = s.recv(1 << 20)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                for m in decoder.feed(chunk):
                    if isinstance(m, Reply | Failure):
                        answers += 1
                    elif isinstance(m, Push) and m.name in ("detached", "exited"):
                        detached = True
    finally:
        s.close()
    return answers, detached


def task_rows(env: Env, keep: str) -> tuple[list[Any], int]:
    with sqlite3.connect(env.root / "state.db") as db:
        rows = db.execute("SELECT t.*, s.* FROM tasks t JOIN sessions s ON s.task_id = t.id "
                          "WHERE t.name = ?", (keep,)).fetchall()
        count = db.execute("SELECT COUNT(*) FROM tasks WHERE name != 'throwaway'").fetchone()
    return rows, count[0]


def fuzz(path: Path, table: dict[str, dict[str, Param]], names: list[str], worker: bool,
         seen: list[int]) -> None:
    cap = codec.MAX_PAYLOAD if worker else server.MAX_FRAME

    # Values just past the length caps, for every string and list parameter (too large to
    # draw or mutate in bulk).
    longs = [encode(name, {key: value}, 7) for name, declared in table.items()
             if name not in ENDS for key, p in declared.items()
             for value in ("x" * (MAX_STR + 1), ["x"] * (MAX_LIST + 1))]
    stream = b"".join(longs)
    assert exchange(path, stream) == (answers_expected(stream, cap, worker)[0], False)
    seen[0] += len(longs)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(requests(table, names), st.integers() | st.sampled_from(
        [None, "1", 1.5, True, [1]])), min_size=2, max_size=4), st.integers(0, 2**32))
    def one(reqs: list[tuple[tuple[str, dict[str, Any], dict[str, Any]], Any]],
            seed: int) -> None:
        rng = random.Random(seed)  # the mutations: many, so not drawn through hypothesis
        frames = []
        for (name, params, extra), req_id in reqs:
            frames.append(encode(name, {**extra, **params}, req_id))
        for f in [f for f in frames if len(f) < 65536]:
            frames += [mutate(rng, f) for _ in range(min(MUTANTS, (1 << 21) // len(f)))]
        rng.shuffle(frames)
        frames += [desync(rng, rng.choice(frames), cap) for _ in range(rng.randint(0, 3))]
        stream = b"".join(frames)
        expected, read = answers_expected(stream, cap, worker)
        answers, detached = exchange(path, stream)
        assert answers == expected or (detached and answers < expected), (answers, expected)
        seen[0] += read

    one()


# The kept task's agent reads all its input (raw mode: a fuzzed ^C or ^Z is just a byte);
# an agent that does not read is tests/reliability/test_slow.py's input flood.
READER = """
[agents.reader]
command = "sh"
args = ["-c", "stty raw -echo; exec cat >/dev/null"]
prompt = "none"
"""


@pytest.mark.timeout(600)
def test_fuzz_the_daemon_and_a_worker(env: Env, repo: Path) -> None:
    env.write_config((env.root / "config.toml").read_text() + READER)
    env.ok("run", "--agent", "reader", "--name", "keep", cwd=repo)
    env.ok("run", "--agent", "sleeper", "--name", "throwaway", cwd=repo)
    keep, spare = env.task("keep"), env.task("throwaway")
    before = task_rows(env, "keep")
    (worker, agent), _ = env.session_pids()
    daemon = env.daemon_pid()
    assert daemon
    names = ["throwaway", spare["session"], "", "-", "x" * 65]
    # Warm both up (first allocations are not growth), then measure.
    seen = [0]
    fuzz(env.root / "agentd.sock", DAEMON, names, False, seen)
    wsock = env.root / "sessions" / f"{keep['session']}.sock"
    fuzz(wsock, WORKER, names, True, seen)
    rss = rss_kib(daemon), rss_kib(worker)
    for _ in range(2):
        fuzz(env.root / "agentd.sock", DAEMON, names, False, seen)
        fuzz(wsock, WORKER, names, True, seen)
    assert seen[0] >= 100_000, seen[0]
    assert alive(daemon) and env.daemon_pid() == daemon
    assert alive(worker) and agent and alive(agent)
    grown = rss_kib(daemon) - rss[0], rss_kib(worker) - rss[1]
    assert grown[0] < 30 * 1024 and grown[1] < 30 * 1024, f"RSS grew by {grown} KiB"
    assert task_rows(env, "keep") == before, "the fuzzing changed the kept task"
    assert env.status("keep") == "running"
