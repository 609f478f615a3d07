"""The daemon's socket server: accept, check the peer, decode, validate, dispatch, reply.

Handlers are `async def h_<request name>(self, params, peer)` on `Handlers`. Parameters are
checked against the request's declaration (protocol/requests.py) first, so a bad one is the
caller's `usage` error naming it; anything a handler raises other than an AgentdError is a
bug, logged with its traceback and answered `error`. Neither takes the daemon down.

What one peer may cost the daemon is bounded (docs/reliability.md): the connections open,
the bytes of a frame and of unfinished frames across all connections, the output queued for
a peer that does not read, and the follows (`stream_events`, `read_log`) a peer may run.
Past a bound the peer gets an error frame saying which, and is refused or closed; requests
of one connection are served one at a time, yielding to the others between them.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import time
import traceback
from collections.abc import Coroutine
from typing import Any

from agentd.daemon.handlers import Handlers
from agentd.errors import AgentdError, DaemonError
from agentd.jsonlog import JsonLog
from agentd.protocol import codec
from agentd.protocol.messages import Failure, Invalid, Message, Reply, Request
from agentd.protocol.requests import DAEMON, validate
from agentd.unix import same_user

MAX_FRAME = 4 << 20  # no daemon request needs more; a larger length closes the connection
MAX_PEERS = 1000  # open connections; the next one is refused with an error frame
INPUT_BUDGET = 64 << 20  # bytes of unfinished frames held across all connections
READ_SIZE = 65536
HIGH_WATER = 1 << 20  # a sender waits for the peer to read once this much is queued
MAX_QUEUED = 8 << 20  # a peer with this much unread output is dropped
MAX_FOLLOWS = 16  # stream_events / read_log follows per connection
MAX_FOLLOWS_TOTAL = 256
ACCEPT_PAUSE = 0.2  # out of descriptors: accepting waits this long before it tries again
OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class Peer:
    """One client connection."""

    def __init__(self, server: Server, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.decoder = codec.Decoder(max_payload=MAX_FRAME)
        self.held = 0  # bytes of an unfinished frame, counted in server.held
        self.closed = False
        self.tasks: set[asyncio.Task[None]] = set()  # follows running for this peer

    def send(self, msg: Message) -> None:
        if self.closed:
            return
        if self.writer.transport.get_write_buffer_size() >= MAX_QUEUED:
            self.server.log("warning", "dropped a client that does not read its replies",
                            queued=self.writer.transport.get_write_buffer_size())
            self.close(abort=True)
            return
        self.writer.write(codec.encode(msg))

    @property
    def behind(self) -> bool:
        """More is queued for the peer than it should be sent before it reads some."""
        return not self.closed and self.writer.transport.get_write_buffer_size() > HIGH_WATER

    async def drain(self) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            self.closed = True

    def follow(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a follow (a stream that outlives its request's reply) for this peer, within
        the per-connection and total caps."""
        server = self.server
        if len(self.tasks) >= MAX_FOLLOWS or server.follows >= MAX_FOLLOWS_TOTAL:
            coro.close()
            cap = (f"{MAX_FOLLOWS} on one connection" if len(self.tasks) >= MAX_FOLLOWS
                   else f"{MAX_FOLLOWS_TOTAL} in all")
            raise DaemonError(f"too many follows ({cap}); stop one (close its connection) "
                              "and try again")
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        server.follows += 1

        def done(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            server.follows -= 1

        task.add_done_callback(done)

    def close(self, abort: bool = False) -> None:
        self.closed = True
        for task in list(self.tasks):
            task.cancel()
        if abort:
            self.writer.transport.abort()
        else:
            self.writer.close()


class Listener:
    """Accepts on the daemon's socket. Out of file descriptors, it refuses one waiting
    client with an error frame (through a spare descriptor kept for it), pauses accepting
    for ACCEPT_PAUSE, logs once per episode, and goes on serving the open connections."""

    def __init__(self, server: Server, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        sock.setblocking(False)
        self.loop = asyncio.get_running_loop()
        self.spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.starved = 0  # connections refused in the current out-of-descriptors episode
        self.retry: asyncio.TimerHandle | None = None
        self.open = True
        self.loop.add_reader(sock, self.accept)

    def accept(self) -> None:
        for _ in range(64):  # then let the loop serve the others
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno not in OUT_OF_FDS:
                    self.server.log("error", "accept failed", error=repr(e))
                    return
                self.out_of_fds(e)
                return
            if self.starved:
                self.server.log("warning", "accepting connections again",
                                refused=self.starved)
                self.starved = 0
            self.server.connected(conn)

    def out_of_fds(self, e: OSError) -> None:
        if self.spare >= 0:  # the spare makes room to log, and to tell one waiting client
            os.close(self.spare)
            self.spare = -1
        if not self.starved:
            self.server.log("error", "out of file descriptors: refusing new connections "
                            "until some close (raise the open-files limit, ulimit -n)",
                            error=e.strerror)
        self.starved += 1
        try:
            conn, _ = self.sock.accept()
        except OSError:
            pass
        else:
            refuse(conn, "agentd is out of file descriptors; close some sessions or "
                         "raise its open-files limit (ulimit -n), then retry")
        try:
            self.spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            pass
        self.loop.remove_reader(self.sock)
        self.retry = self.loop.call_later(ACCEPT_PAUSE, self.resume)

    def resume(self) -> None:
        self.retry = None
        if not self.open:
            return
        if self.spare < 0:
            try:
                self.spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                pass
        self.loop.add_reader(self.sock, self.accept)
        self.accept()

    def close(self) -> None:
        self.open = False
        if self.retry is not None:
            self.retry.cancel()
        self.loop.remove_reader(self.sock)
        self.sock.close()
        if self.spare >= 0:
            os.close(self.spare)
            self.spare = -1


def refuse(conn: socket.socket, message: str) -> None:
    """Tell a connection why it is not served (one failed reply), and close it."""
    try:
        conn.setblocking(False)
        conn.send(codec.encode(Failure(None, "daemon", message)))
    except OSError:
        pass
    conn.close()


class Server:
    """Serves the handlers; `peers` are the open connections, drained at shutdown."""

    def __init__(self, handlers: Handlers, log: JsonLog) -> None:
        self.handlers = handlers
        self.log = log
        self.peers: set[Peer] = set()
        self.held = 0  # bytes of unfinished frames across all peers
        self.follows = 0
        self.listener: Listener | None = None
        self.connections: set[asyncio.Task[None]] = set()
        self.refused_at = 0.0
        self.stopping = False
        self.inflight = 0  # requests being handled
        self.idle = asyncio.Event()
        self.idle.set()

    async def serve(self, sock: socket.socket) -> Listener:
        self.listener = Listener(self, sock)
        return self.listener

    async def shutdown(self, timeout: float, requests_timeout: float) -> None:
        """Refuse new requests, let those being handled finish (at most `requests_timeout`
        seconds: an `agent run` creating its worktree is not cut in half), let replies
        already written reach their clients (at most `timeout` seconds), then close every
        connection."""
        self.stopping = True
        try:
            await asyncio.wait_for(self.idle.wait(), requests_timeout)
        except TimeoutError:
            self.log("warning", "stopping with requests still being handled",
                     count=self.inflight)
        peers = list(self.peers)
        if peers:
            await asyncio.wait([asyncio.ensure_future(p.drain()) for p in peers],
                               timeout=timeout)
        for p in peers:
            p.close()

    def connected(self, conn: socket.socket) -> None:
        if not same_user(conn):
            self.log("warning", "refused a peer of another user")
            conn.close()
            return
        if len(self.connections) >= MAX_PEERS:
            now = time.monotonic()
            if now - self.refused_at > 10:  # once in a while, not once per connection
                self.log("warning", "too many connections: refusing new ones",
                         open=len(self.peers))
            self.refused_at = now
            refuse(conn, f"agentd has too many connections open ({MAX_PEERS}); close some "
                         "and retry")
            return
        task = asyncio.create_task(self.start(conn))
        self.connections.add(task)
        task.add_done_callback(self.connections.discard)

    async def start(self, conn: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(sock=conn, limit=READ_SIZE)
        except OSError:
            conn.close()
            return
        writer.transport.set_write_buffer_limits(high=HIGH_WATER)
        await self.on_connect(reader, writer)

    async def on_connect(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        peer = Peer(self, reader, writer)
        self.peers.add(peer)
        try:
            while not peer.closed:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                for msg in peer.decoder.feed(data):
                    await self.dispatch(peer, msg)
                    if peer.behind:
                        await peer.drain()
                    await asyncio.sleep(0)  # one request at a time: the others go on
                    if peer.closed:
                        break
                if peer.decoder.dead:  # its last message said why
                    peer.closed = True
                self.account(peer)
                await peer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.held -= peer.held
            peer.held = 0
            peer.close()
            self.peers.discard(peer)

    def account(self, peer: Peer) -> None:
        """Count the peer's unfinished frame in the budget shared by all connections; the
        peer that would exceed it is told so and closed."""
        self.held += peer.decoder.pending - peer.held
        peer.held = peer.decoder.pending
        if self.held > INPUT_BUDGET and peer.held and not peer.closed:
            peer.send(Failure(None, "daemon", "agentd holds too many unfinished frames "
                                              "across its connections; this one is closed"))
            self.log("warning", "closed a connection over the input budget",
                     held=self.held, peer_held=peer.held)
            peer.closed = True

    async def dispatch(self, peer: Peer, msg: Message | Invalid) -> None:
        if isinstance(msg, Invalid):
            peer.send(Failure(msg.id, "protocol", msg.reason))
            return
        if not isinstance(msg, Request):
            peer.send(Failure(None, "protocol",
                              f"the daemon takes requests, not {type(msg).__name__} frames"))
            return
        handler = getattr(self.handlers, f"h_{msg.name}", None)
        if handler is None or msg.name not in DAEMON:
            peer.send(Failure(msg.id, "protocol", f"unknown request {msg.name[:100]!r}"))
            return
        if self.stopping:
            peer.send(Failure(msg.id, "daemon", "agentd is stopping; run the command again "
                                                "(it starts agentd anew)"))
            return
        self.inflight += 1
        self.idle.clear()
        try:
            await self._handle(peer, msg, handler)
        finally:
            self.inflight -= 1
            if not self.inflight:
                self.idle.set()

    async def _handle(self, peer: Peer, msg: Request, handler: Any) -> None:
        try:
            result = await handler(validate(DAEMON, msg.name, msg.params), peer)
        except AgentdError as e:
            peer.send(Failure(msg.id, e.code, e.message))
        except Exception as e:  # noqa: BLE001 - a bug must not take the daemon down
            self.log("error", f"request {msg.name} failed", error=traceback.format_exc())
            peer.send(Failure(msg.id, "error", f"internal error in {msg.name}: {e!r}; "
                                               "see logs/agentd.log"))
        else:
            try:
                peer.send(Reply(msg.id, result))
            except ValueError as e:  # larger than a frame may be
                peer.send(Failure(msg.id, "error", f"reply to {msg.name} too large: {e}"))
