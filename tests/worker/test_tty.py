"""A direct attacher's terminal, written by the worker: where a notification may go, the
bounded queue with its repaint, and the descriptor handed over with `attach`."""

from __future__ import annotations

import os
import select
import selectors
import socket
from pathlib import Path

import pytest

from agentd.errors import UsageError
from agentd.protocol import codec
from agentd.protocol.connection import Connection
from agentd.protocol.messages import Output, Push
from agentd.worker.clients import INTERACTIVE, LIMIT, Client, Clients, ends_clean
from tests.helpers import Env, scaled, wait_for


@pytest.mark.parametrize("data, clean", [
    (b"plain text", True),
    (b"", True),
    (b"\x1b[31mred\x1b[0m", True),
    (b"abc\x1b", False),
    (b"abc\x1b[", False),
    (b"abc\x1b[38;5;2", False),
    (b"abc\x1b[38;5;2m", True),
    (b"\x1b]0;title", False),
    (b"\x1b]0;title\x07", True),
    (b"\x1b]0;title\x1b\\", True),
    (b"\x1bP1$r", False),
    (b"\x1b(", False),
    (b"\x1b(B", True),
    (b"\x1b7", True),
    ("caf\u00e9".encode(), True),
    ("caf\u00e9".encode()[:-1], False),
    ("\u20ac".encode()[:2], False),
    ("\U0001f600".encode()[:3], False),
    ("\U0001f600".encode(), True),
])
def test_ends_clean(data: bytes, clean: bool) -> None:
    assert ends_clean(data) is clean


class Seat:
    """A direct attacher over a pipe (its terminal) and a socket pair (its connection)."""

    def __init__(self, threaded: bool = True) -> None:
        self.sel = selectors.DefaultSelector()
        self.clients = Clients(self.sel, lambda: b"SNAPSHOT")
        self.clients.threaded = threaded
        self.r, w = os.pipe2(os.O_NONBLOCK)
        a, self.peer = socket.socketpair()
        a.setblocking(False)
        self.c = Client(a)
        self.clients.by_fd[self.c.fd] = self.c
        self.sel.register(a, selectors.EVENT_READ, self.c)
        self.clients.attach(self.c, INTERACTIVE, w)
        assert self.c.tty is not None
        self.tty = self.c.tty
        self.decoder = codec.Decoder()

    def terminal(self) -> bytes:
        try:
            return os.read(self.r, 1 << 20)
        except BlockingIOError:
            return b""

    def socket(self) -> list[object]:
        self.peer.setblocking(False)
        out: list[object] = []
        while True:
            try:
                data = self.peer.recv(1 << 20)
            except BlockingIOError:
                return out
            out.extend(self.decoder.feed(data))

    def close(self) -> None:
        self.clients.drop(self.c)
        self.peer.close()
        os.close(self.r)


def test_a_note_waits_for_the_end_of_a_sequence() -> None:
    seat = Seat()
    clients, c, t = seat.clients, seat.c, seat.tty
    clients.write_tty(c, b"\x1b[38;5")
    clients.note(c, b"\aNOTE")
    assert seat.terminal() == b"\x1b[38;5"
    clients.write_tty(c, b";1mred")
    assert seat.terminal() == b";1mred\aNOTE"
    clients.note(c, b"\aAGAIN")  # between sequences: at once
    assert seat.terminal() == b"\aAGAIN"
    clients.write_tty(c, b"\x1b]0;never")
    clients.write_tty(c, b" ends")  # inside the OSC still, though this chunk has no ESC
    clients.note(c, b"\aLATE")
    assert seat.terminal() == b"\x1b]0;never ends"
    deadline = t.deadline()
    assert deadline is not None
    t.fire(deadline)  # at the latest: written anyway
    assert seat.terminal() == b"\aLATE"
    seat.close()


def read_all(fd: int, until: int, quiet: float = 1.0) -> bytes:
    """Read a pipe until `until` bytes came, or its end, or nothing for `quiet` seconds."""
    got = bytearray()
    while len(got) < until:
        r, _, _ = select.select([fd], [], [], scaled(quiet))
        if not r:
            break
        data = os.read(fd, 1 << 20)
        if not data:
            break
        got += data
    return bytes(got)


def test_a_terminal_behind_gets_the_rest_from_the_writer_thread_in_order() -> None:
    seat = Seat()
    clients, c, t = seat.clients, seat.c, seat.tty
    chunks = [bytes([65 + i % 26]) * 65536 for i in range(16)]  # 1 MiB; a pipe takes 64 KiB
    for chunk in chunks:
        clients.write_tty(c, chunk)
    assert t.writer is not None and t.writer.busy  # the rest is the thread's
    clients.note(c, b"\aNOTE")  # between sequences: after the output before it
    expected = b"".join(chunks) + b"\aNOTE"
    assert read_all(seat.r, len(expected)) == expected  # every byte once, in order
    assert t.writer.idle(scaled(10)) and not t.spilled
    assert seat.socket() == []  # nothing went over the socket
    clients.write_tty(c, b"inline")  # caught up: written at once again
    assert seat.terminal() == b"inline"
    seat.close()


def test_a_stalled_terminal_gets_a_repaint_instead_of_an_unbounded_queue() -> None:
    seat = Seat()
    clients, c, t = seat.clients, seat.c, seat.tty
    for i in range(160):  # 10 MiB at a terminal that reads nothing
        clients.write_tty(c, bytes([65 + i % 26]) * 65536)
        assert t.writer is None or t.writer.queued <= LIMIT
    clients.write_tty(c, b"LAST")
    assert [m.name for m in seat.socket() if isinstance(m, Push)] == ["resync"] * 2
    got = read_all(seat.r, 10 * 65536 * 16)
    assert len(got) < 8 * 1024 * 1024  # the dropped part never reached it
    tail = got[got.rindex(b"\x18SNAPSHOT") + len(b"\x18SNAPSHOT"):]
    assert tail.endswith(b"LAST") and len(tail) <= LIMIT + 4  # what came after the repaint
    seat.close()


def test_letting_go_of_the_terminal_stops_a_write_it_does_not_take() -> None:
    """A client that went away while its terminal reads nothing: once the worker lets go,
    no descriptor of it is left that could still write (the pipe reads its end)."""
    seat = Seat()
    clients, c, t = seat.clients, seat.c, seat.tty
    for _ in range(8):
        clients.write_tty(c, b"x" * 65536)
    w = t.writer
    assert w is not None
    wait_for(lambda: w.writing, 10, "the writer blocked in its write")
    clients.drop(c)
    assert not w.thread.is_alive()
    got = read_all(seat.r, 1 << 30, quiet=10)  # its end, long before `quiet`
    assert len(got) < 8 * 65536  # the pipe's end came before the rest was written
    seat.peer.close()
    os.close(seat.r)


def test_without_a_writer_a_terminal_behind_spills_over_the_socket() -> None:
    """The fallback where the terminal cannot be opened again for a writer thread: what it
    does not take goes over the socket until the client has caught up."""
    seat = Seat(threaded=False)
    clients, c, t = seat.clients, seat.c, seat.tty
    chunk = b"x" * 65536
    written = 0
    while not t.spilled:  # fill the pipe: the terminal does not take more
        clients.write_tty(c, chunk)
        written += len(chunk)
    clients.write_tty(c, b"after")
    on_terminal = len(seat.terminal())
    msgs = seat.socket()
    spilled = b"".join(m.data for m in msgs if isinstance(m, Output))
    assert on_terminal + len(spilled) == written + len(b"after")  # every byte, once
    assert spilled.endswith(b"after")
    syncs = [m for m in msgs if isinstance(m, Push) and m.name == "sync"]
    assert len(syncs) == 1  # one outstanding at a time
    n = syncs[0].data["n"]
    clients.write_tty(c, b"more")  # spilled after the marker: not caught up yet
    clients.synced(c, n)
    assert t.spilled
    msgs = seat.socket()
    assert [m.data for m in msgs if isinstance(m, Output)] == [b"more"]
    (again,) = [m for m in msgs if isinstance(m, Push) and m.name == "sync"]
    clients.synced(c, again.data["n"])
    assert not t.spilled
    clients.write_tty(c, b"direct")
    assert seat.terminal() == b"direct" and seat.socket() == []
    seat.close()


def test_stalled_direct_terminal_does_not_stall_the_agent(env: Env, repo: Path) -> None:
    """A direct attacher whose terminal reads nothing while 30 MB go by: the agent gets all
    its output out; the writer holds a bounded queue, replaced by a repaint (and a `resync`
    push says so); when the terminal reads again, it gets the repaint and the end."""
    env.write_config('[agents.flood]\ncommand = "sh"\n'
                     'args = ["-c", "sleep 1; head -c 30000000 /dev/zero | tr \'\\\\0\' x; '
                     'echo; echo FLOOD-DONE; sleep 600"]\nprompt = "none"\n')
    env.ok("run", "--agent", "flood", "--name", "flood", cwd=repo)
    sock = env.root / "sessions" / f"{env.task('flood')['session']}.sock"
    master, slave = os.openpty()
    try:
        with Connection.open(sock, timeout=scaled(10)) as conn:
            info = conn.request("attach", {"mode": "interactive", "tty": True}, fds=[slave])
            assert info["tty"] is True
            wait_for(lambda: b"FLOOD-DONE" in env.log_of("flood").read_bytes()[-100:], 60,
                     "the agent to get all its output out")
            got = read_all(master, 1 << 30)
            assert len(got) < 10_000_000  # most of the 30 MB was dropped, not queued
            assert got.count(b"\x18\x1b[?1049l") >= 1  # CAN, then the repaint
            assert got.rstrip().endswith(b"FLOOD-DONE")
            seen: list[object] = []
            conn.pump()
            while conn.pending():
                seen.append(conn.recv())
            assert any(isinstance(m, Push) and m.name == "resync" for m in seen)
            assert not any(isinstance(m, Output) for m in seen)  # all of it on the terminal
    finally:
        os.close(master)
        os.close(slave)


def test_attach_tty_needs_a_terminal_descriptor(env: Env, repo: Path) -> None:
    env.write_config('[agents.sleeper]\ncommand = "sleep"\nargs = ["600"]\nprompt = "none"\n')
    env.ok("run", "--agent", "sleeper", "--name", "s", cwd=repo)
    sock = env.root / "sessions" / f"{env.task('s')['session']}.sock"
    r, w = os.pipe()
    try:
        with Connection.open(sock, timeout=scaled(10)) as conn:
            with pytest.raises(UsageError, match="no descriptor came with the request"):
                conn.request("attach", {"tty": True})
            with pytest.raises(UsageError, match="is not a terminal"):
                conn.request("attach", {"tty": True}, fds=[w])
            with pytest.raises(UsageError, match="interactive attaches only"):
                conn.request("attach", {"tty": True, "mode": "read-only"}, fds=[w])
            with pytest.raises(UsageError, match="'detach_key' needs 'tty'"):
                conn.request("attach", {"detach_key": "C-]"})
            assert conn.request("info")["interactive"] is False
    finally:
        os.close(r)
        os.close(w)
