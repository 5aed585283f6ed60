"""The handshake state machine, replayed from real OTP 25/27 exchanges and edge cases."""

from __future__ import annotations

import hashlib
import struct

import pytest

from erlcookie.cookie.value import Cookie
from erlcookie.distribution import handshake as hs
from tests.distribution.replay import KINDS, load


def feed_all(machine, chunks, *, split=None):
    """Feed chunks (optionally re-split into pieces of `split` bytes); all events."""
    events = []
    for chunk in chunks:
        pieces = (
            [chunk]
            if split is None or not chunk
            else [chunk[i : i + split] for i in range(0, len(chunk), split)]
        )
        for piece in pieces:
            events += machine.receive_data(piece)
    return events


def sent(events):
    return [e.data for e in events if isinstance(e, hs.SendData)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("split", [None, 1, 3])
def test_replay_accepted(kind, split):
    rec = load(kind, "handshake-accepted")
    machine = rec.machine()
    out = rec.outgoing()
    assert machine.initiate() == out[0]
    # status, challenge and ack: the first three incoming chunks
    events = feed_all(machine, rec.incoming()[:3], split=split)
    assert [type(e) for e in events] == [hs.StatusReceived, hs.SendData, hs.HandshakeComplete]
    assert events[0].status == "ok"
    assert sent(events) == [out[1]]  # our challenge reply, byte for byte as OTP accepted it
    done = events[-1]
    assert done.peer_name == rec.data["peer_name"]
    assert done.peer_flags & hs.DFLAG_HANDSHAKE_23
    assert done.peer_flags & hs.DFLAG_PUBLISHED  # a normal node
    assert machine.state is hs.State.CONNECTED
    assert done.trailing == b""
    assert machine.receive_data(b"more") == []  # a finished machine ignores input


@pytest.mark.parametrize("kind", KINDS)
def test_replay_coalesced_reads_keep_trailing_bytes(kind):
    rec = load(kind, "handshake-accepted")
    machine = rec.machine()
    machine.initiate()
    status, challenge, ack = rec.incoming()[:3]
    first = machine.receive_data(status + challenge)
    assert [type(e) for e in first] == [hs.StatusReceived, hs.SendData]
    tick = b"\x00\x00\x00\x00"
    last = machine.receive_data(ack + tick)
    assert isinstance(last[-1], hs.HandshakeComplete)
    assert last[-1].trailing == tick


@pytest.mark.parametrize("kind", KINDS)
def test_replay_tls_handshake_with_4_byte_prefixes(kind):
    rec = load(kind, "tls-handshake-accepted")
    machine = rec.machine()
    assert machine.initiate() == rec.outgoing()[0]
    assert rec.outgoing()[0][:4] == struct.pack(">I", len(rec.outgoing()[0]) - 4)
    events = feed_all(machine, rec.incoming(), split=2)
    assert sent(events) == rec.outgoing()[1:2]
    assert isinstance(events[-1], hs.HandshakeComplete)


@pytest.mark.parametrize("kind", KINDS)
def test_replay_wrong_cookie_is_rejected(kind):
    rec = load(kind, "handshake-wrong-cookie")
    machine = rec.machine()
    machine.initiate()
    events = feed_all(machine, rec.incoming())
    assert sent(events) == rec.outgoing()[1:2]
    assert rec.incoming()[-1] == b""  # the node closed without an ack
    failed = events[-1]
    assert isinstance(failed, hs.HandshakeFailed)
    assert failed.verdict == "rejected"
    assert machine.state is hs.State.FAILED


@pytest.mark.parametrize("kind", KINDS)
def test_replay_not_allowed(kind):
    rec = load(kind, "handshake-not-allowed")
    machine = rec.machine()
    assert machine.initiate() == rec.outgoing()[0]
    events = feed_all(machine, rec.incoming())
    assert events[0] == hs.StatusReceived("not_allowed")
    assert events[-1].verdict == "not_allowed"
    assert sent(events) == []


@pytest.mark.parametrize("kind", KINDS)
def test_replay_plain_to_a_tls_node_says_tls(kind):
    rec = load(kind, "tls-node-answers-plain")
    machine = rec.machine()
    machine.initiate()
    events = feed_all(machine, rec.incoming()[:1])
    assert events[-1] == hs.HandshakeFailed("protocol_error", hs.TLS_DETECTED)


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_ack_digest_is_an_impostor(kind):
    rec = load(kind, "handshake-accepted")
    machine = rec.machine()
    machine.initiate()
    status, challenge, ack = rec.incoming()[:3]
    machine.receive_data(status + challenge)
    forged = ack[:-1] + bytes([ack[-1] ^ 1])
    events = machine.receive_data(forged)
    assert events[-1].verdict == "protocol_error"
    assert "impostor" in events[-1].detail


@pytest.mark.parametrize("kind", KINDS)
def test_other_node_behind_the_port_gets_no_digest(kind):
    rec = load(kind, "handshake-accepted")
    machine = rec.machine(peer_name="someone@else")
    machine.initiate()
    events = feed_all(machine, rec.incoming()[:2])
    assert sent(events) == []
    assert events[-1].verdict == "protocol_error"
    assert rec.data["peer_name"] in events[-1].detail


def test_initiate_layout():
    cookie = Cookie("x")
    machine = hs.ClientHandshake("erlcookie-ab@host", cookie, creation=77, challenge=5)
    msg = machine.initiate()
    length, tag, flags, creation, nlen = struct.unpack_from(">HcQIH", msg)
    assert (length, tag, creation) == (len(msg) - 2, b"N", 77)
    assert flags == hs.DEFAULT_FLAGS == 0x407074F9C
    assert not flags & hs.DFLAG_PUBLISHED  # hidden
    assert msg[17:] == b"erlcookie-ab@host" and nlen == 17
    with pytest.raises(RuntimeError):
        machine.initiate()


def test_refuses_published_flag_and_bad_prefix():
    with pytest.raises(ValueError):
        hs.ClientHandshake("a@b", Cookie("x"), flags=hs.DEFAULT_FLAGS | hs.DFLAG_PUBLISHED)
    with pytest.raises(ValueError):
        hs.ClientHandshake("a@b", Cookie("x"), length_bytes=3)
    with pytest.raises(RuntimeError):
        hs.ClientHandshake("a@b", Cookie("x")).receive_data(b"\x00")


def test_digest_matches_otp_definition():
    # dist_util:gen_digest/2: md5([atom_to_list(Cookie) | integer_to_list(Challenge)])
    cookie = Cookie("ABC")
    assert hs.gen_digest(4294967295, cookie) == hashlib.md5(b"ABC4294967295").digest()
    assert hs.gen_digest(-1, cookie) == hs.gen_digest(0xFFFFFFFF, cookie)  # unsigned


def _frame(body: bytes) -> bytes:
    return struct.pack(">H", len(body)) + body


def started(**kwargs):
    machine = hs.ClientHandshake("me@h", Cookie("c"), peer_name="app@h", **kwargs)
    machine.initiate()
    return machine


@pytest.mark.parametrize(
    "status,verdict,sends",
    [
        ("nok", "not_allowed", []),
        ("alive", "not_allowed", [_frame(b"sfalse")]),
        ("named:xyz", "protocol_error", []),
        ("bogus", "protocol_error", []),
    ],
)
def test_status_answers(status, verdict, sends):
    machine = started()
    events = machine.receive_data(_frame(b"s" + status.encode()))
    assert events[0] == hs.StatusReceived(status)
    assert sent(events) == sends
    assert events[-1].verdict == verdict


def test_ok_simultaneous_continues():
    machine = started()
    assert machine.receive_data(_frame(b"sok_simultaneous")) == [
        hs.StatusReceived("ok_simultaneous")
    ]
    assert machine.state is hs.State.RECV_CHALLENGE


@pytest.mark.parametrize(
    "data,verdict,words",
    [
        (b"", "not_allowed", "before answering"),
        (b"\x00", None, None),  # half a length prefix: wait
        (b"\x00\x05sok", None, None),  # half a message: wait
        (b"\x00\x00", "protocol_error", "empty"),
        (b"\xff\xff", "protocol_error", "beyond"),
        (b"\x00\x03xok", "protocol_error", "status"),
        (b"\x00\x03s\xff\xfe", "protocol_error", "ASCII"),
        (b"\x15\x03\x03\x00\x02\x02\x28", "protocol_error", "TLS"),
    ],
)
def test_status_stage_edge_cases(data, verdict, words):
    machine = started()
    events = machine.receive_data(data)
    if verdict is None:
        assert events == [] and machine.state is hs.State.RECV_STATUS
        assert machine.receive_data(b"")[-1].verdict == "protocol_error"  # EOF mid-message
        return
    assert events[-1].verdict == verdict
    assert words in events[-1].detail


def _challenge(
    name=b"app@h", flags=hs.DEFAULT_FLAGS | 1, challenge=7, creation=9, tag=b"N", nlen=None
):
    return _frame(
        tag
        + struct.pack(">QIIH", flags, challenge, creation, len(name) if nlen is None else nlen)
        + name
    )


@pytest.mark.parametrize(
    "message,words",
    [
        (_challenge(tag=b"n"), "version 5"),
        (_frame(b"N\x00\x00"), "expected a challenge"),
        (_challenge(nlen=50), "shorter than its name"),
        (_challenge(name=b"\xff\xfe@h"), "UTF-8"),
    ],
)
def test_challenge_stage_errors(message, words):
    machine = started()
    machine.receive_data(_frame(b"sok"))
    events = machine.receive_data(message)
    assert events[-1].verdict == "protocol_error" and words in events[-1].detail


def test_eof_after_status_and_bad_ack_shape():
    machine = started()
    machine.receive_data(_frame(b"sok"))
    assert machine.receive_data(b"")[-1].verdict == "protocol_error"

    machine = started(challenge=1)
    machine.receive_data(_frame(b"sok") + _challenge())
    events = machine.receive_data(_frame(b"a" + b"\x00" * 15))
    assert events[-1].verdict == "protocol_error" and "ack" in events[-1].detail


def test_synthetic_full_handshake_and_repr_hides_cookie():
    cookie = Cookie("sekrit-value")
    machine = hs.ClientHandshake("me@h", cookie, peer_name="app@h", challenge=1234)
    machine.initiate()
    events = machine.receive_data(_frame(b"sok") + _challenge(challenge=99))
    reply = sent(events)[0]
    assert reply == _frame(b"r" + struct.pack(">I", 1234) + hs.gen_digest(99, cookie))
    events = machine.receive_data(_frame(b"a" + hs.gen_digest(1234, cookie)))
    assert isinstance(events[-1], hs.HandshakeComplete)
    assert events[-1].peer_creation == 9
    assert "sekrit" not in repr(machine)
