"""The daemon's socket server: accept, check the peer, decode, dispatch, reply.

Handlers are `async def h_<request name>(self, params, conn)` on `Handlers`; each returns
the reply's result or raises an AgentdError, which travels back as a failed reply.
"""

from __future__ import annotations

import asyncio
import socket
import traceback
from typing import Any

from agentd.errors import AgentdError
from agentd.protocol import codec
from agentd.protocol.messages import Failure, Invalid, Message, Reply, Request
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
    def __init__(self, handlers: Any, log: Any) -> None:
        self.handlers = handlers
        self.log = log
        self.peers: set[Peer] = set()

    async def serve(self, sock: socket.socket) -> asyncio.Server:
        return await asyncio.start_unix_server(self.on_connect, sock=sock, limit=1 << 20)

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
        if handler is None:
            peer.send(Failure(msg.id, "protocol", f"unknown request {msg.name!r}"))
            return
        try:
            result = await handler(msg.params, peer)
        except AgentdError as e:
            peer.send(Failure(msg.id, e.code, e.message))
        except (KeyError, TypeError, ValueError) as e:
            peer.send(Failure(msg.id, "usage", f"bad parameters for {msg.name}: {e!r}"))
        except Exception as e:  # noqa: BLE001 - a bug must not take the daemon down
            self.log("error", f"request {msg.name} failed", error=traceback.format_exc())
            peer.send(Failure(msg.id, "error", f"internal error in {msg.name}: {e!r}; "
                                               "see logs/agentd.log"))
        else:
            try:
                peer.send(Reply(msg.id, result))
            except ValueError as e:  # larger than a frame may be
                peer.send(Failure(msg.id, "error", f"reply to {msg.name} too large: {e}"))
