"""The screen model, behind one small interface: feed bytes, take a snapshot, read text.

It wraps avt (asciinema's virtual terminal, through the pyavt bindings): measured here at
40-60 MB/s against pyte's 1-2 MB/s, and its dump() reproduces the alternate screen, cursor
position and visibility, colours and cursor-key mode. avt does not track mouse reporting,
bracketed paste, focus events or keypad mode, so those are followed here by a scan of the
byte stream and appended to the snapshot.

The worker never feeds the emulator on the PTY read path: bytes wait in `pending` and are
fed in bounded slices when the PTY is idle, or all at once when a snapshot is needed.

A snapshot is at most MAX_SNAPSHOT bytes, so it always fits one frame and a client's queue.
Only a huge screen with a colour change at nearly every cell needs more (1000 × 1000 cells in
their own true colours take ~36 MB): that one is repainted without colours, its text only.
"""

from __future__ import annotations

import codecs
import re

import avt

# DEC private modes a snapshot must restore that avt's dump leaves out.
_TRACKED_MODES = (1000, 1002, 1003, 1004, 1005, 1006, 1015, 2004)
_MODE_RE = re.compile(rb"\x1b\[\?([0-9;]+)([hl])")
_KEYPAD_RE = re.compile(rb"\x1b([=>])")
_REP_RE = re.compile(r"(.)\x1b\[(\d+)b")
_SGR_COLON_RE = re.compile(r"\x1b\[[0-9;:]*:[0-9;:]*m")
# Past this many unfed bytes the oldest are dropped: the emulator restarts from the tail.
MAX_PENDING = 4 * 1024 * 1024  # feeding this much takes ~70 ms: the worst attach stall
# A snapshot is one OUTPUT frame queued for one client: half the client's queue (LIMIT in
# worker/clients.py, 4 MiB), so live output queued behind it does not make it fall behind at
# once, and far under the 16 MiB frame cap. Colourful screens up to ~50 000 cells fit.
MAX_SNAPSHOT = 2 * 1024 * 1024
# The repaint starts from a known state: main screen, default modes, home, clear.
_RESET = ("\x1b[?1049l\x1b[?1047l\x1b[?25h\x1b[?1l\x1b[?7h\x1b[?6l\x1b[4l\x1b[r"
          "\x1b[m\x1b[H\x1b[2J")


class Screen:
    def __init__(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self._vt = avt.Vt(cols, rows, scrollback_limit=0)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = bytearray()
        self.modes: dict[int, bool] = {}
        self.keypad_app = False
        self.dropped = 0

    def write(self, data: bytes) -> None:
        """Queue output for the emulator (cheap: an append)."""
        self._pending += data
        if len(self._pending) > MAX_PENDING:
            cut = len(self._pending) - MAX_PENDING // 2
            self.dropped += cut
            del self._pending[:cut]
            self._vt = avt.Vt(self.cols, self.rows, scrollback_limit=0)
            self._decoder.reset()

    @property
    def behind(self) -> int:
        return len(self._pending)

    def catch_up(self, limit: int | None = None) -> None:
        """Feed up to `limit` pending bytes (all of them when None)."""
        if not self._pending:
            return
        n = len(self._pending) if limit is None else min(limit, len(self._pending))
        chunk = bytes(self._pending[:n])
        del self._pending[:n]
        self._scan_modes(chunk)
        text = self._decoder.decode(chunk)
        if text:
            self._vt.feed_str(text)

    def _scan_modes(self, chunk: bytes) -> None:
        if b"\x1b" not in chunk:
            return
        for params, flag in _MODE_RE.findall(chunk):
            for p in params.split(b";"):
                if p.isdigit() and int(p) in _TRACKED_MODES:
                    self.modes[int(p)] = flag == b"h"
        for m in _KEYPAD_RE.findall(chunk):
            self.keypad_app = m == b"="

    def resize(self, cols: int, rows: int) -> None:
        self.catch_up()
        self.cols, self.rows = cols, rows
        self._vt.resize(cols, rows)

    def snapshot(self) -> bytes:
        """Bytes that repaint a terminal to this screen's exact state; past MAX_SNAPSHOT,
        its text without colours (`plain`)."""
        self.catch_up()
        raw = self._vt.dump()
        if len(raw) > MAX_SNAPSHOT:  # before the rewrites below, which take ~25 ns a byte
            return self.plain(raw)
        dump = raw.replace("\x9b", "\x1b[")
        # Widely understood forms: repeated characters spelled out (REP is not universal),
        # colours as 38;5;N / 38;2;R;G;B rather than avt's colon sub-parameters.
        dump = _REP_RE.sub(lambda m: m.group(1) * (int(m.group(2)) + 1), dump)
        dump = _SGR_COLON_RE.sub(lambda m: m.group(0).replace(":", ";"), dump)
        out = (_RESET + dump + self._modes()).encode()
        return out if len(out) <= MAX_SNAPSHOT else self.plain(raw)

    def plain(self, raw: str) -> bytes:
        """A repaint of the screen's text, cursor and modes, without colours: each row
        (blank ones skipped) at its place; from the bottom up, as many as fit MAX_SNAPSHOT
        (1000 rows of 1000 four-byte characters would not)."""
        col, row, visible = self.cursor()
        alt = "\x9b?1047h" in raw  # avt's dump enters the alternate screen it is showing
        tail = (f"\x1b[{row + 1};{col + 1}H" + ("" if visible else "\x1b[?25l")
                + self._modes()).encode()
        head = (_RESET + ("\x1b[?1047h\x1b[H\x1b[2J" if alt else "")).encode()
        room = MAX_SNAPSHOT - len(head) - len(tail)
        rows: list[bytes] = []
        for i, line in reversed(list(enumerate(self.text()))):
            if line:
                b = f"\x1b[{i + 1};1H{line}".encode()
                room -= len(b)
                if room < 0:
                    break
                rows.append(b)
        return head + b"".join(reversed(rows)) + tail

    def _modes(self) -> str:
        modes = "".join(f"\x1b[?{m}{'h' if on else 'l'}" for m, on in sorted(self.modes.items()))
        return modes + ("\x1b=" if self.keypad_app else "\x1b>")

    def text(self) -> list[str]:
        self.catch_up()
        # view() is the screen being shown; text() would be the main one even while a
        # program is on the alternate screen.
        return [line.text.rstrip() for line in self._vt.view()]

    @property
    def app_cursor(self) -> bool:
        self.catch_up()
        return bool(self._vt.cursor_key_app_mode)

    def cursor(self) -> tuple[int, int, bool]:
        self.catch_up()
        c = self._vt.cursor
        return c.col, c.row, c.visible
