"""Named keys for `agent send-input --key` and the detach key, as the bytes a terminal sends."""

from __future__ import annotations

from agentd.errors import UsageError

_PLAIN = {
    "enter": b"\r", "return": b"\r", "esc": b"\x1b", "escape": b"\x1b", "tab": b"\t",
    "btab": b"\x1b[Z", "s-tab": b"\x1b[Z", "backspace": b"\x7f", "bspace": b"\x7f",
    "space": b" ", "delete": b"\x1b[3~", "del": b"\x1b[3~", "insert": b"\x1b[2~",
    "pageup": b"\x1b[5~", "pgup": b"\x1b[5~", "pagedown": b"\x1b[6~", "pgdn": b"\x1b[6~",
    "f1": b"\x1bOP", "f2": b"\x1bOQ", "f3": b"\x1bOR", "f4": b"\x1bOS",
    "f5": b"\x1b[15~", "f6": b"\x1b[17~", "f7": b"\x1b[18~", "f8": b"\x1b[19~",
    "f9": b"\x1b[20~", "f10": b"\x1b[21~", "f11": b"\x1b[23~", "f12": b"\x1b[24~",
}
# Cursor keys depend on the application's cursor-key mode (DECCKM).
_CURSOR = {"up": b"A", "down": b"B", "right": b"C", "left": b"D", "home": b"H", "end": b"F"}


def key_bytes(name: str, app_cursor: bool = False) -> bytes:
    """Bytes for a key name: Enter, Esc, Tab, Up, C-c, M-x, F5, … (case-insensitive)."""
    low = name.lower()
    if low in _PLAIN:
        return _PLAIN[low]
    if low in _CURSOR:
        return (b"\x1bO" if app_cursor else b"\x1b[") + _CURSOR[low]
    if low.startswith(("c-", "ctrl-", "^")) and len(low.split("-")[-1].lstrip("^")) == 1:
        ch = low.split("-")[-1].lstrip("^")
        if ch == "?":
            return b"\x7f"
        up = ch.upper()  # one character, or more ("ß" -> "SS"): no such control key
        if len(up) == 1 and 0 <= ord(up) ^ 0x40 < 32:
            return bytes([ord(up) ^ 0x40])
    if low.startswith(("m-", "alt-")) and len(name.split("-", 1)[1]) == 1:
        try:
            return b"\x1b" + name.split("-", 1)[1].encode()
        except UnicodeEncodeError:  # a lone surrogate, from JSON's "\udcff"
            pass
    raise UsageError(f"unknown key {name!r}: use a name like Enter, Esc, Tab, Up, Down, Left, "
                     "Right, Home, End, PageUp, F1-F12, C-c, M-x")
