"""`info` facts from real nodes: releases, peers, the node's own cookie, per-peer pins."""

from __future__ import annotations

import asyncio

import pytest

from erlcookie.distribution.client import atom, connect
from erlcookie.distribution.info import gather_info, node_info
from tests.support.redaction import assert_not_shown

pytestmark = pytest.mark.interop


def test_info_on_a_small_cluster_with_a_pin(start_node, cookie, other_cookie):
    a = start_node(cookie)
    b = start_node(cookie)
    c = start_node(cookie, kind="elixir")
    assert a.eval(f"net_adm:ping('{b.name}').") == a.eval("pong.")
    assert a.eval(f"net_adm:ping('{c.name}').") == a.eval("pong.")
    # A pin: A would use another cookie with C from now on (as a rotation leaves it).
    a.eval("erlang:set_cookie(Peer, C).", bindings={"Peer": atom(c.name), "C": other_cookie})

    info = asyncio.run(node_info(a.name, cookie))
    assert info.verdict == "accepted", info.detail
    assert info.node_name == a.name
    assert info.otp_release == "25" and info.erts_version
    assert info.visible_nodes == sorted([b.name, c.name])
    assert info.hidden_nodes == []  # ourselves left out
    assert info.handshake_cookie_matches is True
    assert info.own_cookie_matches is True
    assert info.own_cookie_fingerprint == cookie.fingerprint()
    assert info.peers_with_other_cookie == [c.name]
    assert info.peers_checked == 2
    assert info.proto_dist == "inet_tcp" and info.tls.startswith("no")
    assert info.errors == []
    shown = repr(info.to_dict())
    assert_not_shown(other_cookie, shown)
    assert_not_shown(cookie, shown)


def test_own_cookie_changed_after_connecting(start_node, cookie, other_cookie):
    # Over a live connection the handshake cookie stays proven while the node's own
    # cookie moves on: info reports both facts, by fingerprint.
    node = start_node(cookie)

    async def check():
        async with await connect(node.name, cookie) as conn:
            before = await gather_info(conn, cookie)
            node.eval("erlang:set_cookie(node(), C).", bindings={"C": other_cookie})
            after = await gather_info(conn, cookie)
            return before, after

    before, after = asyncio.run(check())
    assert before.own_cookie_matches is True
    assert after.handshake_cookie_matches is True
    assert after.own_cookie_matches is False
    assert after.own_cookie_fingerprint == other_cookie.fingerprint()


@pytest.mark.otp27
def test_info_otp27(start_node, cookie, otp27_root):
    node = start_node(cookie, kind="otp27", otp_root=otp27_root)
    info = asyncio.run(node_info(node.name, cookie))
    assert info.otp_release == "27" and info.own_cookie_matches is True


def test_info_failure_verdicts(otp25_node, other_cookie):
    info = asyncio.run(node_info(otp25_node.name, other_cookie))
    assert info.verdict == "rejected" and info.otp_release is None
