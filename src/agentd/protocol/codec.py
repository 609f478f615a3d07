"""Pure framing: bytes in, messages out; messages in, bytes out. No I/O here.

A frame is a 1-byte type, a 4-byte big-endian payload length, and the payload:

    0x01 JSON   a UTF-8 JSON object: request, reply or push
    0x02 OUTPUT raw PTY output bytes
    0x03 INPUT  raw bytes for the PTY

Payloads larger than MAX_PAYLOAD are refused.
"""

from __future__ import annotations

import json
import struct

from agentd.protocol.messages import (
    Failure,
    Input,
    Invalid,
    Message,
    Output,
    Push,
    Reply,
    Request,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

JSON, OUTPUT, INPUT = 0x01, 0x02, 0x03
HEADER = struct.Struct(">BI")
MAX_PAYLOAD = 16 * 1024 * 1024


def _json_frame(obj: dict[str, Any]) -> bytes:
    # ASCII JSON: lone surrogates (undecodable bytes in an environment) survive the trip.
    # Strict JSON: NaN and Infinity are not JSON (ValueError, like an oversized payload).
    payload = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
    return _frame(JSON, payload)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _frame(kind: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return HEADER.pack(kind, len(payload)) + payload


def encode(msg: Message) -> bytes:
    if isinstance(msg, Output):
        return _frame(OUTPUT, msg.data)
    if isinstance(msg, Input):
        return _frame(INPUT, msg.data)
    if isinstance(msg, Request):
        return _json_frame({"type": "request", "id": msg.id, "name": msg.name,
                            "params": msg.params})
    if isinstance(msg, Reply):
        return _json_frame({"type": "reply", "id": msg.id, "ok": True, "result": msg.result})
    if isinstance(msg, Failure):
        return _json_frame({"type": "reply", "id": msg.id, "ok": False,
                            "error": {"code": msg.code, "message": msg.message}})
    if isinstance(msg, Push):
        return _json_frame({"type": "push", "name": msg.name, "data": msg.data})
    raise TypeError(f"not a protocol message: {msg!r}")


def _is_id(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _from_json(payload: bytes) -> Message | Invalid:
    try:
        obj = json.loads(payload, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as e:
        return Invalid(f"malformed JSON frame: {e}")
    except RecursionError:
        return Invalid("malformed JSON frame: nested too deeply")
    if not isinstance(obj, dict):
        return Invalid("JSON frame must be an object")
    kind = obj.get("type")
    msg_id = obj.get("id")
    if kind == "request":
        name, params = obj.get("name"), obj.get("params", {})
        if not isinstance(msg_id, int) or isinstance(msg_id, bool):
            return Invalid("request needs an integer 'id'")
        if not isinstance(name, str) or not name:
            return Invalid("request needs a string 'name'", id=msg_id)
        if not isinstance(params, dict):
            return Invalid("request 'params' must be an object", id=msg_id)
        return Request(msg_id, name, params)
    if kind == "reply":
        if not _is_id(msg_id) and msg_id is not None:
            return Invalid("reply needs an integer 'id'")
        if obj.get("ok") is True:
            if msg_id is None:
                return Invalid("reply needs an integer 'id'")
            return Reply(msg_id, obj.get("result"))
        err = obj.get("error")
        if not isinstance(err, dict):
            return Invalid("failed reply needs an 'error' object", id=msg_id)
        return Failure(msg_id, str(err.get("code", "error")), str(err.get("message", "")))
    if kind == "push":
        name, data = obj.get("name"), obj.get("data", {})
        if not isinstance(name, str) or not isinstance(data, dict):
            return Invalid("push needs a string 'name' and an object 'data'")
        return Push(name, data)
    return Invalid(f"unknown message type {kind!r}", id=msg_id if _is_id(msg_id) else None)


class Decoder:
    """Incremental decoder: `feed(bytes)` returns the complete messages so far.

    A malformed or unknown frame yields an `Invalid` and decoding goes on with the next
    frame; an oversized length yields a fatal `Invalid` and the decoder stops (the rest
    of the stream cannot be trusted).
    """

    __slots__ = ("_buf", "_dead", "max_payload")

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._buf = bytearray()
        self._dead = False
        self.max_payload = max_payload

    @property
    def dead(self) -> bool:
        return self._dead

    @property
    def pending(self) -> int:
        """Bytes held of a frame not yet complete."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message | Invalid]:
        if self._dead:
            return []
        if self._buf:
            self._buf += data
            buf: bytes | bytearray = self._buf
        else:
            buf = data  # the common case: parse the received bytes without copying them
        view = memoryview(buf)
        out: list[Message | Invalid] = []
        pos, end = 0, len(buf)
        while end - pos >= 5:
            kind, length = HEADER.unpack_from(buf, pos)
            if length > self.max_payload:
                self._dead = True
                out.append(Invalid(f"frame of {length} bytes exceeds the "
                                   f"{self.max_payload}-byte limit", fatal=True))
                view.release()
                self._buf = bytearray()
                return out
            if end - pos - 5 < length:
                break
            payload = view[pos + 5 : pos + 5 + length].tobytes()  # the one copy
            pos += 5 + length
            if kind == OUTPUT:
                out.append(Output(payload))
            elif kind == INPUT:
                out.append(Input(payload))
            elif kind == JSON:
                out.append(_from_json(payload))
            else:
                out.append(Invalid(f"unknown frame type 0x{kind:02x}"))
        rest = view[pos:].tobytes() if pos < end else b""
        view.release()
        self._buf = bytearray(rest)
        return out
