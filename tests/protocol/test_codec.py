"""The pure codec: framing round trips, bad frames, size caps, and fuzzing."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentd.errors import ConfigError
from agentd.protocol import codec
from agentd.protocol.connection import Connection
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
from tests.helpers import scaled

MESSAGE_TYPES = (Request, Reply, Failure, Push, Output, Input)

# -- strategies ----------------------------------------------------------------------------

ids = st.integers(min_value=0, max_value=2**53)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)

messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(Request, ids, st.text(min_size=1), json_objects),
    st.builds(Reply, ids, json_values),
    st.builds(Failure, st.none() | ids, st.text(), st.text()),
    st.builds(Push, st.text(), json_objects),
    st.builds(Output, st.binary()),
    st.builds(Input, st.binary()),
)


def frame(kind: int, payload: bytes) -> bytes:
    return codec.HEADER.pack(kind, len(payload)) + payload


def json_frame(obj: Any) -> bytes:
    return frame(codec.JSON, json.dumps(obj).encode())


def feed_in_pieces(data: bytes, cuts: list[int]) -> list[Message | Invalid]:
    decoder = codec.Decoder()
    out: list[Message | Invalid] = []
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        out += decoder.feed(data[start:cut])
        start = max(start, cut)
    out += decoder.feed(data[start:])
    return out


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("msg", [
    Request(1, "create_session", {"name": "fix-tests", "prompt": ["fix", "it"]}),
    Request(2, "list_sessions"),
    Reply(1, {"name": "fix-tests", "status": "running"}),
    Reply(2, None),
    Reply(3, [1, 2.5, "three", None, True]),
    Failure(4, "not_found", "no task named 'x'"),
    Failure(None, "protocol", "unknown frame type 0x09"),
    Push("event", {"kind": "status_changed", "summary": "naïve ✔ 🚀"}),
    Push("detached"),
    Output(b"\x1b[31mred\x1b[0m\r\n\x00\xff"),
    Output(b""),
    Input(b"\x03"),
], ids=lambda m: type(m).__name__)
def test_round_trip_every_type(msg: Message) -> None:
    data = codec.encode(msg)
    assert codec.Decoder().feed(data) == [msg]
    # Byte by byte gives the same message, once, at the last byte.
    decoder = codec.Decoder()
    out = [m for i in range(len(data)) for m in decoder.feed(data[i:i + 1])]
    assert out == [msg]


def test_every_message_type_is_covered() -> None:
    assert set(MESSAGE_TYPES) == set(Message.__args__)


def test_binary_frames_are_raw_not_base64() -> None:
    data = codec.encode(Output(b"\xff\x00hello"))
    assert data == bytes([codec.OUTPUT]) + (7).to_bytes(4, "big") + b"\xff\x00hello"
    assert codec.encode(Input(b"q"))[:1] == bytes([codec.INPUT])


def test_json_frames_are_utf8_objects() -> None:
    data = codec.encode(Request(7, "hello", {"who": "wörld"}))
    kind, length = codec.HEADER.unpack_from(data)
    assert kind == codec.JSON and length == len(data) - 5
    assert json.loads(data[5:].decode("utf-8")) == {
        "type": "request", "id": 7, "name": "hello", "params": {"who": "wörld"}}


@given(msgs=st.lists(messages, max_size=8))
def test_round_trip_byte_by_byte(msgs: list[Message]) -> None:
    data = b"".join(codec.encode(m) for m in msgs)
    decoder = codec.Decoder()
    out = [m for i in range(len(data)) for m in decoder.feed(data[i:i + 1])]
    assert out == msgs


@given(msgs=st.lists(messages, max_size=8), cuts=st.lists(st.integers(0, 10**6), max_size=10))
def test_round_trip_random_splits(msgs: list[Message], cuts: list[int]) -> None:
    data = b"".join(codec.encode(m) for m in msgs)
    assert feed_in_pieces(data, cuts) == msgs


# -- bad frames: an Invalid with a reason, then decoding goes on ---------------------------

GOOD = Push("after", {"n": 1})


@pytest.mark.parametrize(("bad", "reason", "bad_id"), [
    (frame(codec.JSON, b"{not json"), "malformed JSON", None),
    (frame(codec.JSON, b""), "malformed JSON", None),
    (frame(codec.JSON, b"\xff\xfe{}"), "malformed JSON", None),
    (json_frame([1, 2, 3]), "must be an object", None),
    (json_frame("request"), "must be an object", None),
    (json_frame({"type": "request", "name": "hello"}), "integer 'id'", None),
    (json_frame({"type": "request", "id": "1", "name": "hello"}), "integer 'id'", None),
    (json_frame({"type": "request", "id": True, "name": "hello"}), "integer 'id'", None),
    (json_frame({"type": "request", "id": 5}), "string 'name'", 5),
    (json_frame({"type": "request", "id": 6, "name": ""}), "string 'name'", 6),
    (json_frame({"type": "request", "id": 7, "name": "x", "params": [1]}), "'params'", 7),
    (json_frame({"type": "reply", "ok": True}), "integer 'id'", None),
    (json_frame({"type": "reply", "id": 8, "ok": False}), "'error' object", 8),
    (json_frame({"type": "push", "data": {}}), "push needs", None),
    (json_frame({"type": "push", "name": "x", "data": 3}), "push needs", None),
    (json_frame({"type": "shout", "id": 9}), "unknown message type 'shout'", 9),
    (json_frame({"id": 10}), "unknown message type None", 10),
    (frame(0x09, b"whatever"), "unknown frame type 0x09", None),
    (frame(0x00, b""), "unknown frame type 0x00", None),
])
def test_bad_frame_is_invalid_and_decoding_continues(bad: bytes, reason: str,
                                                     bad_id: int | None) -> None:
    decoder = codec.Decoder()
    out = decoder.feed(bad + codec.encode(GOOD))
    assert len(out) == 2
    invalid = out[0]
    assert isinstance(invalid, Invalid)
    assert reason in invalid.reason
    assert invalid.id == bad_id
    assert not invalid.fatal
    assert out[1] == GOOD
    assert not decoder.dead
    assert decoder.feed(codec.encode(GOOD)) == [GOOD]


def test_deeply_nested_json_is_invalid_not_an_exception() -> None:
    payload = b"[" * 100_000 + b"]" * 100_000
    decoder = codec.Decoder()
    out = decoder.feed(frame(codec.JSON, payload) + codec.encode(GOOD))
    assert len(out) == 2 and isinstance(out[0], Invalid), out[:1]
    assert out[1] == GOOD


def test_oversized_length_is_fatal_and_kills_the_decoder() -> None:
    decoder = codec.Decoder(max_payload=100)
    out = decoder.feed(codec.encode(GOOD) + codec.HEADER.pack(codec.OUTPUT, 101) + b"x" * 10)
    assert out[0] == GOOD
    assert len(out) == 2
    fatal = out[1]
    assert isinstance(fatal, Invalid) and fatal.fatal
    assert "101" in fatal.reason and "100" in fatal.reason
    assert decoder.dead
    # Nothing after the oversized header can be trusted: the decoder stays silent.
    assert decoder.feed(codec.encode(GOOD)) == []
    assert decoder.feed(b"") == []


def test_oversized_length_is_fatal_before_the_payload_arrives() -> None:
    decoder = codec.Decoder()
    out = decoder.feed(codec.HEADER.pack(codec.JSON, codec.MAX_PAYLOAD + 1))
    assert len(out) == 1 and isinstance(out[0], Invalid) and out[0].fatal
    assert decoder.dead


def test_payload_at_the_limit_is_accepted() -> None:
    decoder = codec.Decoder(max_payload=16)
    msg = Output(b"y" * 16)
    assert decoder.feed(codec.encode(msg)) == [msg]
    assert not decoder.dead


def test_encode_refuses_oversized_payloads() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        codec.encode(Output(b"\0" * (codec.MAX_PAYLOAD + 1)))
    with pytest.raises(ValueError, match="exceeds"):
        codec.encode(Push("big", {"blob": "x" * codec.MAX_PAYLOAD}))
    assert len(codec.encode(Input(b"\0" * codec.MAX_PAYLOAD))) == codec.MAX_PAYLOAD + 5


def test_encode_refuses_non_messages() -> None:
    with pytest.raises(TypeError):
        codec.encode(Invalid("nope"))
    with pytest.raises(TypeError):
        codec.encode({"type": "request"})


def test_partial_frame_waits_for_the_rest() -> None:
    data = codec.encode(Request(1, "hello"))
    decoder = codec.Decoder()
    assert decoder.feed(data[:3]) == []
    assert decoder.feed(data[3:-1]) == []
    assert decoder.feed(data[-1:]) == [Request(1, "hello")]
    assert decoder.feed(b"") == []


# -- fuzzing -------------------------------------------------------------------------------


@given(data=st.binary(max_size=2048), cuts=st.lists(st.integers(0, 4096), max_size=8))
def test_fuzz_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    for msg in feed_in_pieces(data, cuts):
        assert isinstance(msg, (*MESSAGE_TYPES, Invalid))


@given(frames=st.lists(
    st.tuples(st.integers(0, 255), st.binary(max_size=64) | json_values.map(
        lambda v: json.dumps(v).encode())),
    max_size=8))
def test_fuzz_well_framed_garbage(frames: list[tuple[int, bytes]]) -> None:
    """Every well-framed frame yields exactly one item, whatever its content."""
    decoder = codec.Decoder()
    out = decoder.feed(b"".join(frame(kind, payload) for kind, payload in frames))
    assert len(out) == len(frames)
    for msg, (kind, _) in zip(out, frames, strict=True):
        assert isinstance(msg, (*MESSAGE_TYPES, Invalid))
        if kind not in (codec.JSON, codec.OUTPUT, codec.INPUT):
            assert isinstance(msg, Invalid) and not msg.fatal
    assert not decoder.dead


@given(obj=st.dictionaries(st.sampled_from(["type", "id", "name", "params", "ok", "result",
                                            "error", "data", "code", "message"]),
                           st.sampled_from(["request", "reply", "push"]) | json_values,
                           max_size=6))
def test_fuzz_json_objects(obj: dict[str, Any]) -> None:
    out = codec.Decoder().feed(json_frame(obj))
    assert len(out) == 1
    msg = out[0]
    assert isinstance(msg, (Request, Reply, Failure, Push, Invalid))
    if not isinstance(msg, Invalid):
        # Whatever the decoder accepts, the encoder can write back out the same way.
        assert codec.Decoder().feed(codec.encode(msg)) == [msg]


# -- two ends wired together ---------------------------------------------------------------


class End:
    """One side of a conversation: a decoder for what arrives, bytes queued to send."""

    def __init__(self) -> None:
        self.decoder = codec.Decoder()
        self.outgoing = bytearray()

    def send(self, msg: Message) -> None:
        self.outgoing += codec.encode(msg)

    def pump_to(self, other: End, chunk: int) -> list[Message | Invalid]:
        received: list[Message | Invalid] = []
        while self.outgoing:
            piece, self.outgoing = bytes(self.outgoing[:chunk]), self.outgoing[chunk:]
            received += other.decoder.feed(piece)
        return received


@pytest.mark.parametrize("chunk", [1, 3, 7, 4096])
def test_two_ends_exchange_request_and_reply_in_memory(chunk: int) -> None:
    client, server = End(), End()
    client.send(Request(1, "hello", {"client": "test"}))
    client.send(Input(b"ls\r"))
    got = client.pump_to(server, chunk)
    assert got == [Request(1, "hello", {"client": "test"}), Input(b"ls\r")]

    request = got[0]
    assert isinstance(request, Request)
    server.send(Push("event", {"kind": "tick"}))
    server.send(Output(b"file.txt\r\n"))
    server.send(Reply(request.id, {"version": "x", "echo": request.params}))
    server.send(Failure(2, "not_found", "no such task"))
    assert server.pump_to(client, chunk) == [
        Push("event", {"kind": "tick"}), Output(b"file.txt\r\n"),
        Reply(1, {"version": "x", "echo": {"client": "test"}}),
        Failure(2, "not_found", "no such task")]


def test_connection_request_over_a_socketpair() -> None:
    """The blocking client Connection against a tiny codec-only server on a socketpair."""
    a, b = socket.socketpair()

    def serve() -> None:
        decoder = codec.Decoder()
        with b:
            while data := b.recv(65536):
                for msg in decoder.feed(data):
                    assert isinstance(msg, Request)
                    b.sendall(codec.encode(Push("noise", {"before": msg.id})))
                    if msg.name == "hello":
                        b.sendall(codec.encode(Reply(msg.id, {"hi": msg.params["who"]})))
                    else:
                        b.sendall(codec.encode(Failure(msg.id, "config", "bad config")))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    a.settimeout(scaled(10))
    with Connection(a) as conn:
        assert conn.request("hello", {"who": "you"}) == {"hi": "you"}
        with pytest.raises(ConfigError, match="bad config"):
            conn.request("other")
        # Pushes that arrived during the requests are kept, in order.
        assert conn.recv() == Push("noise", {"before": 1})
        assert conn.recv() == Push("noise", {"before": 2})
    thread.join(scaled(10))
    assert not thread.is_alive()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_refused(constant: str) -> None:
    payload = b'{"type":"request","id":1,"name":"emit","params":{"x":' + constant.encode() + b"}}"
    frame = codec.HEADER.pack(codec.JSON, len(payload)) + payload
    (msg,) = codec.Decoder().feed(frame)
    assert isinstance(msg, Invalid)
    assert f"{constant} is not JSON" in msg.reason


def test_encoding_refuses_non_finite_numbers() -> None:
    with pytest.raises(ValueError):
        codec.encode(Reply(1, {"cost": float("nan")}))
