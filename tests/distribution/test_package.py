"""What `erlcookie.distribution` offers a program, and what importing it costs."""

from __future__ import annotations

import json
import subprocess
import sys
import typing

import erlcookie.distribution as distribution
from erlcookie.distribution import epmd, framing, handshake
from erlcookie.distribution.verdicts import ACCEPTED, PingResult, Verdict, exit_code


def test_every_exported_name_resolves():
    for name in distribution.__all__:
        assert getattr(distribution, name) is not None, name
    assert {
        "ping",
        "ping_many",
        "node_info",
        "epmd_names",
        "NodeName",
        "TlsOptions",
        "Verdict",
        "DistError",
        "RpcError",
    } <= set(distribution.__all__)


def test_importing_the_package_and_the_blocking_ping_stays_light():
    code = (
        "import sys, erlcookie.distribution, erlcookie.distribution.blocking; "
        "print(sorted(m for m in ('asyncio', 'ssl', 'erlang', 'rich') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_verdicts_are_a_str_enum_with_the_same_json():
    assert issubclass(Verdict, str)
    assert [v.value for v in Verdict] == [
        "accepted",
        "rejected",
        "not_allowed",
        "no_such_node",
        "unreachable",
        "timeout",
        "protocol_error",
    ]
    result = PingResult("a@b", ACCEPTED, "ok", 0.001)
    assert json.loads(json.dumps(result.to_dict()))["verdict"] == "accepted"
    assert f"{Verdict.TIMEOUT}" == "timeout" and Verdict("rejected") is Verdict.REJECTED
    assert exit_code(["accepted", Verdict.REJECTED]) == 1


def test_protocol_event_unions_name_their_classes():
    assert set(typing.get_args(handshake.HandshakeEvent)) == {
        handshake.SendData,
        handshake.StatusReceived,
        handshake.HandshakeComplete,
        handshake.HandshakeFailed,
    }
    assert set(typing.get_args(framing.FramingEvent)) == {
        framing.Tick,
        framing.DistMessage,
        framing.Closed,
    }
    assert set(typing.get_args(epmd.EpmdEvent)) == {
        epmd.NodePort,
        epmd.NotRegistered,
        epmd.NamesReply,
    }
    events = framing.DistFraming().receive_data(b"\x00\x00\x00\x00" + b"")
    assert all(isinstance(e, typing.get_args(framing.FramingEvent)) for e in events)
