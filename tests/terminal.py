"""The user's side of `agent attach` in tests: a real PTY and a pyte screen reading it.

pyte is independent of the avt emulator the worker uses, so a snapshot bug in the worker
cannot hide behind the same bug on the test side.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
from pathlib import Path

import pyte

from tests.helpers import scaled, wait_for


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str], cols: int = 80, rows: int = 24,
                 cwd: Path | None = None) -> None:
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.lock = threading.Lock()
        self.master, slave = os.openpty()
        self._set_size(cols, rows)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=cwd, start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _set_size(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.raw += data
                self.stream.feed(for_pyte(data))

    def send(self, data: bytes | str) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def resize(self, cols: int, rows: int) -> None:
        with self.lock:
            self.cols, self.rows = cols, rows
            self.screen.resize(rows, cols)
        self._set_size(cols, rows)  # the kernel sends SIGWINCH to the foreground group

    def display(self) -> list[str]:
        with self.lock:
            return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        return "\n".join(self.display())

    def cursor(self) -> tuple[int, int]:
        with self.lock:
            return self.screen.cursor.x, self.screen.cursor.y

    def wait_text(self, needle: str, timeout: float = 15) -> None:
        wait_for(lambda: needle in self.text(), timeout, f"{needle!r} on screen:\n"
                 + self.text())

    def wait_exit(self, timeout: float = 15) -> int:
        return self.proc.wait(scaled(timeout))

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(scaled(10))
        self.reader.join(scaled(5))
        try:
            os.close(self.master)
        except OSError:
            pass


# xterm's key-modifier settings and their query (CSI > Ps ; Ps m, CSI ? Ps m: sent by vim
# once it knows it talks to an xterm): no effect on the screen, and pyte raises on them.
_XTMODKEYS = re.compile(rb"\x1b\[[>?][0-9;]*m")


def for_pyte(data: bytes) -> bytes:
    return _XTMODKEYS.sub(b"", data)


def render(data: bytes, cols: int, rows: int) -> tuple[list[str], tuple[int, int]]:
    """What a terminal of this size shows after these bytes: the program's real screen."""
    screen = pyte.Screen(cols, rows)
    pyte.ByteStream(screen).feed(for_pyte(data))
    return [line.rstrip() for line in screen.display], (screen.cursor.x, screen.cursor.y)
