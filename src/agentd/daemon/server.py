"""The daemon's socket server: accept, check the peer, decode, validate, dispatch, reply.

Handlers are `async def h_<request name>(self, params, peer)` on `Handlers`. Parameters are
checked against the request's declaration (protocol/requests.py) first, so a bad one is the
caller's `usage` error naming it; anything a handler raises other than an AgentdError is a
bug, logged with its traceback and answered `error`. Neither takes the daemon down.
"""

from __future__ import annotations

import asyncio
import socket
import traceback
from typing import Any

from agentd.daemon.handlers import Handlers
from agentd.errors import AgentdError
from agentd.jsonlog import JsonLog
from agentd.protocol import codec
from agentd.protocol.messages import Failure, Invalid, Message, Reply, Request
from agentd.protocol.requests import DAEMON, validate
from agentd.unix import same_user


class Peer:
    """One client connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = codec.Decoder()
        self.closed = False
        self.tasks: set[asyncio.Task[None]] = set()  # streams running for this peer

    def send(self, msg: Message) -> None:
        if not self.closed:
            self.writer.write(codec.encode(msg))

    async def drain(self) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            self.closed = True


class Server:
    """Serves the handlers; `peers` are the open connections, drained at shutdown."""

    def __init__(self, handlers: Handlers, log: JsonLog) -> None:
        self.handlers = handlers
        self.log = log
        self.peers: set[Peer] = set()
        self.stopping = False
        self.inflight = 0  # requests being handled
        self.idle = asyncio.Event()
        self.idle.set()

    async def serve(self, sock: socket.socket) -> asyncio.Server:
        return await asyncio.start_unix_server(self.on_connect, sock=sock, limit=1 << 20)

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
            p.closed = True
            for task in p.tasks:
                task.cancel()
            p.writer.close()

    async def on_connect(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if not same_user(sock):
            self.log("warning", "refused a peer of another user")
            writer.close()
            return
        peer = Peer(reader, writer)
        self.peers.add(peer)
        try:
            while not peer.closed:
                data = await reader.read(262144)
                if not data:
                    break
                for msg in peer.decoder.feed(data):
                    await self.dispatch(peer, msg)
                    if peer.decoder.dead:
                        peer.closed = True
                await peer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            peer.closed = True
            for task in peer.tasks:
                task.cancel()
            self.peers.discard(peer)
            writer.close()

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
            peer.send(Failure(msg.id, "protocol", f"unknown request {msg.name!r}"))
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
