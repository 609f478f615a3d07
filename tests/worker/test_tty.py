"""A direct attacher's terminal, written by the worker: where a notification may go, the
bounded queue with its repaint, and the descriptor handed over with `attach`."""

from __future__ import annotations

import os
import selectors
import socket
from pathlib import Path

import pytest

from agentd.errors import UsageError
from agentd.protocol import codec
from agentd.protocol.connection import Connection
from agentd.protocol.messages import Output, Push
from agentd.worker.clients import INTERACTIVE, Client, Clients, ends_clean
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

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.clients = Clients(self.sel, lambda: b"SNAPSHOT")
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


def test_a_terminal_behind_spills_over_the_socket_until_the_client_caught_up() -> None:
    seat = Seat()
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
    """A direct attacher that reads neither its terminal nor its socket while 30 MB go by:
    the agent gets all its output out; when the client reads again, it is resynced."""
    env.write_config('[agents.flood]\ncommand = "sh"\n'
                     'args = ["-c", "sleep 1; head -c 30000000 /dev/zero | tr \'\\\\0\' x; '
                     'echo; echo FLOOD-DONE; sleep 600"]\nprompt = "none"\n')
    env.ok("run", "--agent", "flood", "--name", "flood", cwd=repo)
    sock = env.root / "sessions" / f"{env.task('flood')['session']}.sock"
    master, slave = os.openpty()
    try:
        with Connection.open(sock, timeout=scaled(10)) as conn:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            info = conn.request("attach", {"mode": "interactive", "tty": True}, fds=[slave])
            assert info["tty"] is True
            wait_for(lambda: b"FLOOD-DONE" in env.log_of("flood").read_bytes()[-100:], 60,
                     "the agent to get all its output out")
            seen: list[object] = []

            def resynced() -> bool:
                conn.pump()
                while conn.pending():
                    seen.append(conn.recv())
                return any(isinstance(m, Push) and m.name == "resync" for m in seen)

            wait_for(resynced, 30, "a resync push")
            i = next(i for i, m in enumerate(seen) if isinstance(m, Push) and m.name == "resync")
            while len(seen) <= i + 1:
                seen.append(conn.recv())
            snapshot = seen[i + 1]
            assert isinstance(snapshot, Output) and snapshot.data.startswith(b"\x18")
            assert b"FLOOD-DONE" in snapshot.data
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
