"""EPMD codec: real replies from the host's EPMD, replayed, and broken ones."""

from __future__ import annotations

import struct

import pytest

from erlcookie.distribution import epmd
from tests.distribution.replay import KINDS, load


def replay(parser, chunks, split=None):
    result = None
    for chunk in chunks:
        pieces = (
            [chunk]
            if split is None or not chunk
            else [chunk[i : i + split] for i in range(0, len(chunk), split)]
        )
        for piece in pieces:
            result = parser.receive_data(piece)
    return result


def test_requests():
    assert epmd.encode_names_req() == b"\x00\x01n"
    assert epmd.encode_port_please2_req("app") == b"\x00\x04zapp"
    with pytest.raises(ValueError):
        epmd.encode_port_please2_req("")
    with pytest.raises(ValueError):
        epmd.encode_port_please2_req("x" * 256)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("split", [None, 1, 5])
def test_replay_port_please(kind, split):
    rec = load(kind, "epmd-port-please")
    assert rec.outgoing() == [epmd.encode_port_please2_req(rec.data["alive"])]
    result = replay(epmd.PortPlease2Parser(), rec.incoming()[:-1], split)
    assert isinstance(result, epmd.NodePort)
    assert result.name == rec.data["alive"]
    assert result.node_type == epmd.NODE_TYPE_NORMAL and not result.hidden
    assert result.speaks_version_6()
    assert 1024 <= result.port < 65536


@pytest.mark.parametrize("kind", KINDS)
def test_replay_port_please_unknown(kind):
    rec = load(kind, "epmd-port-please-unknown")
    result = replay(epmd.PortPlease2Parser(), rec.incoming()[:-1])
    assert isinstance(result, epmd.NotRegistered) and result.result != 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("split", [None, 7])
def test_replay_names(kind, split):
    rec = load(kind, "epmd-names")
    assert rec.incoming()[-1] == b""  # EPMD closes to end the reply
    result = replay(epmd.NamesParser(), rec.incoming(), split)
    assert result.epmd_port == 4369
    names = dict(result.nodes)
    assert "fixturenode" in names and 0 < names["fixturenode"] < 65536


def _port_reply(port=4000, ntype=77, proto=0, high=6, low=6, name=b"app", extra=b""):
    return (
        bytes([119, 0])
        + struct.pack(">HBBHHH", port, ntype, proto, high, low, len(name))
        + name
        + struct.pack(">H", len(extra))
        + extra
    )


def test_port_please_parses_extra_and_hidden():
    result = replay(epmd.PortPlease2Parser(), [_port_reply(ntype=72, extra=b"xy", high=7, low=5)])
    assert result.hidden and result.extra == b"xy" and result.speaks_version_6()
    assert not replay(epmd.PortPlease2Parser(), [_port_reply(high=5, low=5)]).speaks_version_6()


@pytest.mark.parametrize(
    "chunks,words",
    [
        (
            [
                b"",
            ],
            "closed",
        ),
        ([b"\x77", b""], "closed"),
        ([_port_reply()[:10], b""], "closed"),
        ([b"\x01\x00"], "message type"),
        ([_port_reply(port=0)], "port 0"),
        ([_port_reply(high=5, low=6)], "version range"),
        ([_port_reply(name=b"\xff\xfe")], "UTF-8"),
    ],
)
def test_port_please_errors(chunks, words):
    with pytest.raises(epmd.EpmdProtocolError, match=words):
        replay(epmd.PortPlease2Parser(), chunks)


@pytest.mark.parametrize(
    "body,words",
    [
        (b"", "closed after 0"),
        (b"\x00\x00", "closed after 2"),
        (b"\x00\x00\x11\x11garbage line\n", "not 'name N at port P'"),
        (b"\x00\x00\x11\x11name a at port 99999999\n", "not 'name N at port P'"),
        (b"\x00\x00\x11\x11name a at port 70000\n", "out of range"),
        (b"\x00\x00\x11\x11name \xff at port 7\n", "UTF-8"),
    ],
)
def test_names_errors(body, words):
    parser = epmd.NamesParser()
    if body:
        parser.receive_data(body)
    with pytest.raises(epmd.EpmdProtocolError, match=words):
        parser.receive_data(b"")


def test_names_reply_is_bounded():
    parser = epmd.NamesParser(max_bytes=100)
    parser.receive_data(b"x" * 100)
    with pytest.raises(epmd.EpmdProtocolError, match="larger than"):
        parser.receive_data(b"x")


def test_names_empty_and_done():
    parser = epmd.NamesParser()
    parser.receive_data(b"\x00\x00\x11\x11")
    result = parser.receive_data(b"")
    assert result.nodes == [] and parser.receive_data(b"more") is result
