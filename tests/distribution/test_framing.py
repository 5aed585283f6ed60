"""Post-handshake framing: real rpc answers from OTP 25/27, ticks, and broken packets."""

from __future__ import annotations

import struct

import pytest

from erlcookie.distribution import framing, terms
from tests.distribution.replay import KINDS, load


def post_handshake_bytes(kind: str) -> tuple[bytes, dict]:
    rec = load(kind, "handshake-accepted")
    return b"".join(rec.incoming()[3:]), rec.data


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("split", [None, 1, 13])
def test_replay_rpc_answers(kind, split):
    data, meta = post_handshake_bytes(kind)
    machine = framing.DistFraming()
    pieces = [data] if split is None else [data[i : i + split] for i in range(0, len(data), split)]
    events = []
    for piece in pieces:
        events += machine.receive_data(piece)
    messages = [e for e in events if isinstance(e, framing.DistMessage)]
    assert len(messages) == 3
    by_id = {struct.unpack(">I", m.to_pid.id)[0]: m for m in messages}
    for m in messages:
        assert m.op == framing.SEND and m.has_message
        assert terms.atom_text(m.to_pid.node) == meta["our_name"]
        assert terms.atom_text(m.message[0]) == "rex"
    assert terms.text(by_id[1].message[1]) == meta["otp_release"]
    badrpc = by_id[2].message[1]
    assert terms.atom_text(badrpc[0]) == "badrpc"
    assert terms.to_python(badrpc[1])[1][0] == "undef"
    assert list(by_id[3].message[1]) == [1, 2, 3]
    assert machine.receive_data(b"") == [framing.Closed()]
    assert machine.receive_data(b"late") == []


@pytest.mark.parametrize("kind", KINDS)
def test_our_recorded_requests_parse_back(kind):
    # What we sent (and OTP answered) is itself valid framing: REG_SEND to rex.
    rec = load(kind, "handshake-accepted")
    events = framing.DistFraming().receive_data(rec.outgoing()[-1])
    assert isinstance(events[0], framing.Tick)
    sends = events[1:]
    assert [e.op for e in sends] == [framing.REG_SEND] * 3
    assert all(terms.atom_text(e.control[3]) == "rex" for e in sends)
    assert sends[0].to_pid is None  # a send to a name, not to a pid


def test_ticks_and_encoding_round_trip():
    pid = terms.pid("me@h", 1, 0, 9)
    packet = framing.encode_reg_send(pid, "rex", (pid, terms.atom("hello")))
    events = framing.DistFraming().receive_data(framing.TICK + packet + framing.TICK)
    assert isinstance(events[0], framing.Tick) and isinstance(events[2], framing.Tick)
    assert events[1].control[0] == framing.REG_SEND
    assert events[1].message == (pid, terms.atom("hello"))
    assert framing.encode_tick() == b"\x00\x00\x00\x00"


def _packet(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


@pytest.mark.parametrize(
    "data,words",
    [
        (struct.pack(">I", framing.MAX_PACKET + 1), "exceeds"),
        (_packet(b"\x83h\x00"), "pass-through"),
        (_packet(b"p\x83a\x01"), "control message is not a tuple"),
        (_packet(b"p\x83h\x00"), "control message is not a tuple"),
        (_packet(b"p\x83h\x01d\x00\x01x"), "control message is not a tuple"),
        (_packet(b"p\x83h\x03a\x02d\x00\x00d\x00\x00"), "without a message"),
        (_packet(b"p\x83j\x83j\x83j"), "more than 2"),
        (_packet(b"p\x83\xff"), "bad term"),
        (_packet(b"p"), "control message"),
    ],
)
def test_bad_packets(data, words):
    with pytest.raises(framing.FramingError, match=words):
        framing.DistFraming().receive_data(data)


def test_huge_length_is_refused_before_buffering():
    machine = framing.DistFraming(max_packet=1000)
    with pytest.raises(framing.FramingError):
        machine.receive_data(struct.pack(">I", 1001))
    small = framing.DistFraming(max_packet=1000)
    assert small.receive_data(struct.pack(">I", 1000) + b"p") == []


def test_close_inside_a_packet():
    machine = framing.DistFraming()
    machine.receive_data(b"\x00\x00\x00\x05p")
    with pytest.raises(framing.FramingError, match="inside a packet"):
        machine.receive_data(b"")
