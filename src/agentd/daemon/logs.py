"""`read_log`: a session's raw PTY log sent to a client as OUTPUT frames, so no client has
to read the daemon's files (docs/protocol.md §6, read_log).

The log's files are opened before anything is sent, so a rotation meanwhile does not
matter: a renamed file reads on through its open descriptor. A follower polls the live
file's size (every POLL seconds) and notices a rotation by its inode changing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from agentd.logfiles import log_files
from agentd.protocol.messages import Output, Push

CHUNK = 256 * 1024
POLL = 0.05


class LogReader:
    """Sends the log of one session to one peer, with back-pressure (awaits its drain)."""

    def __init__(self, peer: Any, path: Path) -> None:
        self.peer = peer
        self.path = path
        self.sent = 0

    async def send_file(self, f: BinaryIO) -> None:
        """Everything `f` holds from its position on (it stays open, at its end)."""
        while not self.peer.closed and (block := f.read(CHUNK)):
            self.peer.send(Output(block))
            self.sent += len(block)
            await self.peer.drain()

    def open_all(self) -> list[BinaryIO]:
        """The rotations oldest first, then the live file (which may not exist yet)."""
        files: list[BinaryIO] = []
        for p in log_files(self.path):
            try:
                files.append(p.open("rb"))
            except FileNotFoundError:  # rotated away between the listing and the open
                continue
        return files

    async def history(self, tail: int = 0) -> BinaryIO | None:
        """Send what is there now (with `tail`, only its last `tail` bytes); the live file,
        kept open to follow, if there is one."""
        files = self.open_all()
        if tail:
            skip = sum(os.fstat(f.fileno()).st_size for f in files) - tail
            while files and skip > 0:
                size = os.fstat(files[0].fileno()).st_size
                if skip < size or Path(files[0].name) == self.path:
                    files[0].seek(max(0, min(skip, size)))
                    break
                skip -= size
                files.pop(0).close()
        return await self.send_files(files)

    async def send_files(self, files: list[BinaryIO]) -> BinaryIO | None:
        """Send each file in turn and close it, but the live one: that is returned, open."""
        live = None
        try:
            while files:
                f = files.pop(0)
                if Path(f.name) == self.path:
                    live = f
                await self.send_file(f)
                if f is not live:
                    f.close()
        except BaseException:
            for f in [*files, *([live] if live else [])]:
                f.close()
            raise
        return live

    async def follow(self, live: BinaryIO | None, ended: Callable[[], bool]) -> None:
        """Send what the log gains until the session has ended and all of it was sent,
        then push `log_end`."""
        try:
            while not self.peer.closed:
                done = ended()  # looked at before the last read: nothing written after it
                live = await self.catch_up(live)
                if done:
                    self.peer.send(Push("log_end", {"reason": "the session has ended",
                                                    "bytes": self.sent}))
                    await self.peer.drain()
                    return
                await asyncio.sleep(POLL)
        finally:
            if live is not None:
                live.close()

    async def catch_up(self, live: BinaryIO | None) -> BinaryIO | None:
        """Read on in `live`; when the log rotated since, finish the old file and send the
        rotations newer than it before moving to the new live file."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            now = None
        if live is not None:
            await self.send_file(live)
            if now is None or os.fstat(live.fileno()).st_ino == now.st_ino:
                return live
            old = os.fstat(live.fileno()).st_ino
            live.close()
            live = None
            newer = self.open_all()
            inodes = [os.fstat(f.fileno()).st_ino for f in newer]
            start = inodes.index(old) + 1 if old in inodes else 0
            for f in newer[:start]:
                f.close()
            return await self.send_files(newer[start:])
        if now is None:
            return None
        try:
            live = self.path.open("rb")
        except FileNotFoundError:
            return None
        await self.send_file(live)
        return live


async def read_log(peer: Any, session_id: str, path: Path, ended: Callable[[], bool],
                   follow: bool, size: tuple[int, int] = (80, 24),
                   tail: int = 0) -> dict[str, Any]:
    """The reply of `read_log`; with `follow`, the stream goes on in a task of the peer's
    after the reply. A `log_size` push comes first: the terminal size the session started
    at, so a client can replay the bytes through an emulator (agentd.plaintext)."""
    cols, rows = size
    peer.send(Push("log_size", {"cols": cols, "rows": rows}))
    reader = LogReader(peer, path)
    if not follow:
        live = await reader.history(tail)
        if live is not None:
            live.close()
        return {"session": session_id, "bytes": reader.sent, "ended": ended(),
                "cols": cols, "rows": rows}

    async def stream() -> None:
        await reader.follow(await reader.history(tail), ended)

    peer.follow(stream())
    return {"following": True, "session": session_id, "ended": ended(), "cols": cols,
            "rows": rows}
