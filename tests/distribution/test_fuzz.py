"""Hypothesis fuzzing of every sans-IO parser: random bytes and mutated real recordings.

Each parser may only fail with its own declared error, must keep bounded buffers, and
must never hang (a slow example fails the deadline). ERLCOOKIE_FUZZ_EXAMPLES raises the
number of examples per parser (default 400) for a longer run.
"""

from __future__ import annotations

import os
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erlcookie.cookie.value import Cookie
from erlcookie.distribution import epmd, framing, terms
from erlcookie.distribution import handshake as hs
from tests.distribution.replay import KINDS, load

FUZZ = settings(
    max_examples=int(os.environ.get("ERLCOOKIE_FUZZ_EXAMPLES", "400")),
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

RECORDED_IN = [
    c
    for kind in KINDS
    for label in (
        "handshake-accepted",
        "handshake-wrong-cookie",
        "handshake-not-allowed",
        "epmd-names",
        "epmd-port-please",
        "tls-node-answers-plain",
    )
    for c in load(kind, label).incoming()
    if c
]


@st.composite
def mutated(draw):
    """A real recorded chunk with a few bytes flipped, cut, duplicated or inserted."""
    data = bytearray(draw(st.sampled_from(RECORDED_IN)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 16))]
    return bytes(data)


streams = st.lists(st.one_of(st.binary(max_size=300), mutated()), min_size=1, max_size=6)


def _handshake_stream():
    return st.one_of(
        streams,
        # plausible prefixes: a status, then random or mutated continuation
        st.tuples(
            st.sampled_from([b"\x00\x03sok", b"\x00\x10sok_simultaneous", b"\x00\x06salive"]),
            streams,
        ).map(lambda t: [t[0], *t[1]]),
    )


@FUZZ
@given(_handshake_stream(), st.sampled_from([2, 4]), st.booleans())
def test_handshake_never_raises(chunks, length_bytes, eof):
    machine = hs.ClientHandshake(
        "me@h", Cookie("c"), peer_name="fixturenode@vm", length_bytes=length_bytes
    )
    machine.initiate()
    for chunk in chunks + ([b""] if eof else []):
        events = machine.receive_data(chunk)
        for event in events:
            assert isinstance(
                event, (hs.SendData, hs.StatusReceived, hs.HandshakeComplete, hs.HandshakeFailed)
            )
            if isinstance(event, hs.HandshakeFailed):
                assert event.verdict in ("rejected", "not_allowed", "protocol_error")
        assert len(machine._buf) <= hs.MAX_HANDSHAKE_MESSAGE + length_bytes
        if machine.state is hs.State.CONNECTED:
            break
    if eof:
        assert machine.state in (hs.State.CONNECTED, hs.State.FAILED)


@FUZZ
@given(streams, st.booleans())
def test_port_please_parser(chunks, eof):
    parser = epmd.PortPlease2Parser()
    try:
        for chunk in chunks + ([b""] if eof else []):
            result = parser.receive_data(chunk)
            assert result is None or isinstance(result, (epmd.NodePort, epmd.NotRegistered))
            assert len(parser._buf) <= 14 + 2 * 65535 + sum(len(c) for c in chunks)
    except epmd.EpmdProtocolError:
        pass


@FUZZ
@given(streams)
def test_names_parser(chunks):
    parser = epmd.NamesParser(max_bytes=4096)
    try:
        for chunk in chunks + [b""]:
            result = parser.receive_data(chunk)
            assert len(parser._buf) <= 4096
        assert isinstance(result, epmd.NamesReply)
        assert all(0 < port < 65536 for _, port in result.nodes)
    except epmd.EpmdProtocolError:
        pass


@st.composite
def packets(draw):
    """Length-prefixed packets whose bodies are mutated real ones or random bytes."""
    rec = load(draw(st.sampled_from(KINDS)), "handshake-accepted")
    real = b"".join(rec.incoming()[3:]) + rec.outgoing()[-1]
    bodies = []
    pos = 0
    while pos + 4 <= len(real):
        (n,) = struct.unpack_from(">I", real, pos)
        bodies.append(real[pos + 4 : pos + 4 + n])
        pos += 4 + n
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        body = bytearray(
            draw(st.sampled_from(bodies)) if draw(st.booleans()) else draw(st.binary(max_size=200))
        )
        for _ in range(draw(st.integers(0, 3))):
            if body:
                body[draw(st.integers(0, len(body) - 1))] ^= draw(st.integers(1, 255))
        out += struct.pack(">I", len(body)) + bytes(body)
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    return out


@FUZZ
@given(st.one_of(packets(), st.binary(max_size=500)), st.integers(1, 64))
def test_framing(data, step):
    machine = framing.DistFraming(max_packet=1 << 16)
    try:
        for i in range(0, len(data), step):
            for event in machine.receive_data(data[i : i + step]):
                assert isinstance(event, (framing.Tick, framing.DistMessage))
            assert len(machine._buf) <= (1 << 16) + 4 + step
        machine.receive_data(b"")
    except framing.FramingError:
        pass


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=400).map(lambda b: b"\x83" + b),
        mutated().map(lambda b: b"\x83" + b[1:]),
    )
)
def test_term_decoding(data):
    try:
        term, end = terms.decode(data)
        assert 0 < end <= len(data)
        terms.safe_repr(term)
    except terms.TermError:
        pass
