"""What an operator wants to know about a node we can connect to (`erlcookie info`).

The handshake already proved which cookie the node uses *for us*. Its own cookie
(`erlang:get_cookie()`) can still differ: during a rotation a node may have switched its
own cookie while old peers stay pinned (`erlang:set_cookie(Peer, Old)`), and the cookie is
read only at handshake time. So we report both, as fingerprints, and count the connected
peers whose cookie differs from the node's own (the pins a rotation must remove). Cookie
atoms fetched over rpc are wrapped into Cookie objects at once and never shown.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.distribution import terms
from erlcookie.distribution.client import (DistConnection, DistError, RpcError, TlsOptions, atom,
                                   connect)
from erlcookie.distribution.epmd import EPMD_PORT
from erlcookie.distribution.handshake import TLS_DETECTED
from erlcookie.distribution.nodename import NodeName

MAX_PEERS_CHECKED = 500  # get_cookie(Peer) per connected peer; bounded for huge clusters


@dataclass
class NodeInfo:
    node: str
    verdict: str
    detail: str = ""
    transport: str | None = None
    address: str | None = None
    otp_release: str | None = None
    erts_version: str | None = None
    node_name: str | None = None
    proto_dist: str | None = None
    visible_nodes: list[str] = field(default_factory=list)
    hidden_nodes: list[str] = field(default_factory=list)
    handshake_cookie_matches: bool | None = None
    own_cookie_matches: bool | None = None
    own_cookie_fingerprint: str | None = None
    peers_with_other_cookie: list[str] = field(default_factory=list)
    peers_checked: int = 0
    tls: str | None = None
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _cookie_from_term(term: Any) -> Cookie | None:
    """A cookie atom from get_cookie as a Cookie (None for 'nocookie')."""
    value = terms.atom_text(term)
    return None if value == "nocookie" else Cookie(value, source="node over rpc")


async def gather_info(conn: DistConnection, cookie: Cookie, *, timeout: float = 5.0,
                      result: NodeInfo | None = None) -> NodeInfo:
    """Fill a NodeInfo over an open connection (each failed rpc adds to `errors`)."""
    info = result or NodeInfo(node=conn.peer_name, verdict="accepted")
    info.transport = conn.transport
    info.address = f"{conn.address[0]}:{conn.address[1]}"
    info.handshake_cookie_matches = True  # the handshake proved it

    async def call(label, module, function, args=()):
        try:
            return await conn.rpc(module, function, list(args), timeout=timeout)
        except (RpcError, DistError) as exc:
            info.errors.append(f"{label}: {exc}")
            return None

    release, version, me, visible, hidden, own, proto = await asyncio.gather(
        call("otp_release", "erlang", "system_info", [atom("otp_release")]),
        call("version", "erlang", "system_info", [atom("version")]),
        call("node", "erlang", "node"),
        call("nodes", "erlang", "nodes", [atom("visible")]),
        call("nodes", "erlang", "nodes", [atom("hidden")]),
        call("cookie", "erlang", "get_cookie"),
        call("proto_dist", "init", "get_argument", [atom("proto_dist")]))
    if release is not None:
        info.otp_release = terms.text(release)
    if version is not None:
        info.erts_version = terms.text(version)
    if me is not None:
        info.node_name = terms.atom_text(me)
    if visible is not None:
        info.visible_nodes = sorted(terms.atom_text(n) for n in visible)
    if hidden is not None:
        info.hidden_nodes = sorted(terms.atom_text(n) for n in hidden if terms.atom_text(n) != conn.our_name)
    info.proto_dist = _proto_dist(proto)
    if conn.transport == "tls":
        info.tls = "yes: connected over TLS distribution"
    elif info.proto_dist and "tls" in info.proto_dist:
        info.tls = f"node uses {info.proto_dist}, yet accepted plain TCP"
    else:
        info.tls = "no: the node accepts plain TCP distribution (traffic and rpc unencrypted)"
    if own is not None:
        own_cookie = _cookie_from_term(own)
        if own_cookie is None:
            info.own_cookie_matches = False
            info.own_cookie_fingerprint = None
            info.errors.append("cookie: the node has no cookie of its own (nocookie)")
        else:
            info.own_cookie_matches = own_cookie == cookie
            info.own_cookie_fingerprint = own_cookie.fingerprint()
            await _check_peers(conn, own_cookie, info, call)
    return info


async def _check_peers(conn, own_cookie: Cookie, info: NodeInfo, call) -> None:
    peers = [n for n in info.visible_nodes + info.hidden_nodes][:MAX_PEERS_CHECKED]
    answers = await asyncio.gather(*(call("peer cookie", "erlang", "get_cookie", [atom(p)])
                                     for p in peers))
    info.peers_checked = sum(1 for a in answers if a is not None)
    for peer, answer in zip(peers, answers):
        if answer is None:
            continue
        peer_cookie = _cookie_from_term(answer)
        if peer_cookie is None or peer_cookie != own_cookie:
            info.peers_with_other_cookie.append(peer)


def _proto_dist(term: Any) -> str | None:
    # init:get_argument(proto_dist) -> {ok, [["inet_tls"]]} | error (then: inet_tcp)
    if term is None:
        return None
    if isinstance(term, tuple) and len(term) == 2 and terms.atom_text(term[0]) == "ok":
        try:
            return ",".join(terms.text(values[0]) for values in term[1] if values)
        except (terms.TermError, TypeError, IndexError):
            return None
    return "inet_tcp"


async def node_info(node: str | NodeName, cookie: Cookie, *, timeout: float = 5.0,
                    host: str | None = None, epmd_port: int = EPMD_PORT,
                    dist_port: int | None = None, tls: TlsOptions | None = None) -> NodeInfo:
    """Connect and gather; never raises for network outcomes (the verdict says)."""
    name = node if isinstance(node, NodeName) else NodeName.parse(node)
    try:
        conn = await connect(name, cookie, timeout=timeout, host=host, epmd_port=epmd_port,
                             dist_port=dist_port, tls=tls)
    except DistError as exc:
        info = NodeInfo(node=str(name), verdict=exc.verdict, detail=exc.detail,
                        transport="tls" if tls else "tcp")
        if exc.detail == TLS_DETECTED:
            info.tls = "required: the node speaks only TLS distribution"
        return info
    try:
        return await gather_info(conn, cookie, timeout=timeout,
                                 result=NodeInfo(node=str(name), verdict="accepted",
                                                 detail="handshake completed, cookie accepted"))
    finally:
        await conn.close()
