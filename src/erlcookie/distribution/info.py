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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.distribution import terms
from erlcookie.distribution.client import (
    CLOSE_WAIT,
    DistConnection,
    DistError,
    RpcError,
    TlsOptions,
    atom,
    connect,
)
from erlcookie.distribution.epmd import EPMD_PORT
from erlcookie.distribution.handshake import TLS_DETECTED
from erlcookie.distribution.nodename import NodeName
from erlcookie.distribution.verdicts import ACCEPTED
from erlcookie.distribution.verdicts import exit_code as verdict_exit_code
from erlcookie.errors import EXIT_FINDINGS, EXIT_OK, EXIT_OPERATIONAL

MAX_PEERS_CHECKED = 500  # get_cookie(Peer) per connected peer; bounded for huge clusters


@dataclass
class NodeInfo:
    """What `info` learnt about one node; `complete` is False when any question went unanswered."""

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
    # Whether a network peer needs more than the cookie (a client certificate of the CA):
    # False for TLS with verify_peer and fail_if_no_peer_cert, True otherwise, None unknown.
    cookie_only: bool | None = None
    peer_check: str | None = None
    complete: bool = True
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def failed(self, message: str) -> None:
        """A question went unanswered (rpc error, timeout, or an answer of the wrong shape)."""
        self.complete = False
        self.errors.append(message)


def exit_code(infos: Iterable[NodeInfo]) -> int:
    """3 when a node could not be reached or did not answer every question; else 1 when a
    node refused us or runs another cookie as its own; else 0."""
    infos = list(infos)
    code = verdict_exit_code(i.verdict for i in infos)
    if code == EXIT_OPERATIONAL or any(i.verdict == ACCEPTED and not i.complete for i in infos):
        return EXIT_OPERATIONAL
    if code == EXIT_OK and any(i.own_cookie_matches is False for i in infos):
        return EXIT_FINDINGS
    return code


class _Shape(Exception):
    """An rpc answer that is not what the function returns on a real node."""


def _atom(term: Any) -> str:
    if not (isinstance(term, terms.OtpErlangAtom) or term is True or term is False or term is None):
        raise _Shape("an atom")
    return terms.atom_text(term)


def _charlist(term: Any) -> str:
    if isinstance(term, bytes) or (
        isinstance(term, list) and all(isinstance(c, int) and 0 <= c < 0x110000 for c in term)
    ):
        return terms.text(term)
    raise _Shape("a string")


def _atoms(term: Any) -> list[str]:
    if not isinstance(term, list):
        raise _Shape("a list of atoms")
    return [_atom(t) for t in term]


def _proto_dist(term: Any) -> str:
    """init:get_argument(proto_dist): {ok, [["inet_tls"]]}, or error (then inet_tcp)."""
    if _is(term, "error"):
        return "inet_tcp"
    if not (
        isinstance(term, tuple)
        and len(term) == 2
        and _is(term[0], "ok")
        and isinstance(term[1], list)
        and all(isinstance(v, list) for v in term[1])
    ):
        raise _Shape("{ok, [[string]]} or error")
    return ",".join(_charlist(values[0]) for values in term[1] if values)


def _arguments(term: Any) -> list[list[str]]:
    """init:get_argument(Flag): {ok, [[string]]} (one list per occurrence), or error ([])."""
    if _is(term, "error"):
        return []
    if not (
        isinstance(term, tuple)
        and len(term) == 2
        and _is(term[0], "ok")
        and isinstance(term[1], list)
        and all(isinstance(v, list) for v in term[1])
    ):
        raise _Shape("{ok, [[string]]} or error")
    return [[_charlist(v) for v in values] for values in term[1]]


# The server-side options that decide whether a peer needs a certificate; nothing else of
# an optfile is read (it may hold key material or passwords: never shown, never kept).
PEER_CHECK_OPTIONS = ("verify", "fail_if_no_peer_cert")


def _server_peer_options(term: Any) -> dict[str, str]:
    """file:consult(Optfile) -> the server section's verify / fail_if_no_peer_cert atoms."""
    if isinstance(term, tuple) and len(term) == 2 and _is(term[0], "error"):
        raise _Shape("{ok, Terms}: the node could not read its optfile")
    if not (
        isinstance(term, tuple)
        and len(term) == 2
        and _is(term[0], "ok")
        and isinstance(term[1], list)
        and len(term[1]) == 1
        and isinstance(term[1][0], list)
    ):
        raise _Shape("{ok, [[{server, Opts}, {client, Opts}]]}")
    found: dict[str, str] = {}
    for section in term[1][0]:
        if (
            isinstance(section, tuple)
            and len(section) == 2
            and _is(section[0], "server")
            and isinstance(section[1], list)
        ):
            for option in section[1]:
                if isinstance(option, tuple) and len(option) == 2:
                    for key in PEER_CHECK_OPTIONS:
                        if _is(option[0], key):
                            try:
                                found[key] = _atom(option[1])
                            except _Shape:
                                found[key] = "?"
    return found


def peer_check(options: dict[str, str]) -> tuple[bool, str]:
    """(the cookie is the only check, why) for a TLS node's server options (OTP's
    defaults: verify_none, fail_if_no_peer_cert false)."""
    verify = options.get("verify", "verify_none")
    fail = options.get("fail_if_no_peer_cert", "false")
    if verify == "verify_peer" and fail == "true":
        return False, (
            "client certificate required (verify_peer, fail_if_no_peer_cert): a peer needs a "
            "certificate of the CA and the cookie"
        )
    if verify == "verify_peer":
        return True, (
            "TLS with verify_peer but without fail_if_no_peer_cert: a peer that shows no "
            "certificate gets in; the cookie is the only check"
        )
    return (
        True,
        "TLS without verify_peer: anyone gets to the handshake; the cookie is the only check",
    )


def _is(term: Any, name: str) -> bool:
    try:
        return _atom(term) == name
    except _Shape:
        return False


def _cookie_from_term(term: Any) -> Cookie | None:
    """A cookie atom from get_cookie as a Cookie (None for 'nocookie')."""
    value = _atom(term)
    return None if value == "nocookie" else Cookie(value, source="node over rpc")


Parse = Callable[[Any], Any]


async def gather_info(
    conn: DistConnection, cookie: Cookie, *, timeout: float = 5.0, result: NodeInfo | None = None
) -> NodeInfo:
    """Fill a NodeInfo over an open connection within `timeout` seconds in all.

    Every answer is checked for the shape the function has on a real node; a failed rpc,
    a late one or a misshapen one is recorded in `errors` and makes the info incomplete.
    """
    info = result or NodeInfo(node=conn.peer_name, verdict=ACCEPTED)
    info.transport = conn.transport
    info.address = f"{conn.address[0]}:{conn.address[1]}"
    info.handshake_cookie_matches = True  # the handshake proved it
    deadline = asyncio.get_running_loop().time() + timeout

    async def call(
        label: str, parse: Parse, module: str, function: str, args: Sequence[Any] = ()
    ) -> Any:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            info.failed(f"{label}: no time left of the {timeout:g}s timeout")
            return None
        try:
            answer = await conn.rpc(module, function, list(args), timeout=left)
        except (RpcError, DistError) as exc:
            info.failed(f"{label}: {exc}")
            return None
        try:
            return parse(answer)
        except (_Shape, terms.TermError) as exc:
            what = exc.args[0] if isinstance(exc, _Shape) else "a valid term"
            # A cookie answer is never quoted; anything else with our cookie redacted.
            shown = (
                "a term"
                if function in ("get_cookie", "consult")  # a cookie; an optfile (keys)
                else terms.safe_repr(answer, {cookie.as_bytes()}, limit=80)
            )
            info.failed(f"{label}: {module}:{function} answered {shown}, not {what}")
            return None

    release, version, me, visible, hidden, own, proto = await asyncio.gather(
        call("otp_release", _charlist, "erlang", "system_info", [atom("otp_release")]),
        call("version", _charlist, "erlang", "system_info", [atom("version")]),
        call("node", _atom, "erlang", "node"),
        call("nodes", _atoms, "erlang", "nodes", [atom("visible")]),
        call("nodes", _atoms, "erlang", "nodes", [atom("hidden")]),
        call("cookie", _cookie_or_none, "erlang", "get_cookie"),
        call("proto_dist", _proto_dist, "init", "get_argument", [atom("proto_dist")]),
    )
    info.otp_release = release
    info.erts_version = version
    info.node_name = me
    if visible is not None:
        info.visible_nodes = sorted(visible)
    if hidden is not None:
        info.hidden_nodes = sorted(n for n in hidden if n != conn.our_name)
    info.proto_dist = proto
    if conn.transport == "tls":
        info.tls = "yes: connected over TLS distribution"
    elif info.proto_dist and "tls" in info.proto_dist:
        info.tls = f"node uses {info.proto_dist}, yet accepted plain TCP"
    elif info.proto_dist:
        info.tls = "no: the node accepts plain TCP distribution (traffic and rpc unencrypted)"
    if conn.transport != "tls":
        info.cookie_only = True
        info.peer_check = "none: plain TCP distribution; the cookie is the only check"
    else:
        await _tls_peer_check(info, call)
    if own is not None:
        own_cookie = own[0]
        if own_cookie is None:
            info.own_cookie_matches = False
            info.own_cookie_fingerprint = None
            info.errors.append("cookie: the node has no cookie of its own (nocookie)")
        else:
            info.own_cookie_matches = own_cookie == cookie
            info.own_cookie_fingerprint = own_cookie.fingerprint()
            peers = (info.visible_nodes + info.hidden_nodes)[:MAX_PEERS_CHECKED]
            answers = await asyncio.gather(
                *(
                    call("peer cookie", _cookie_or_none, "erlang", "get_cookie", [atom(p)])
                    for p in peers
                )
            )
            info.peers_checked = sum(1 for a in answers if a is not None)
            for peer, answer in zip(peers, answers):
                if answer is not None and answer[0] != own_cookie:
                    info.peers_with_other_cookie.append(peer)
    return info


async def _tls_peer_check(info: NodeInfo, call: Callable[..., Awaitable[Any]]) -> None:
    """Whether the TLS node demands a client certificate: its -ssl_dist_optfile (read by the
    node, only two options kept) and -ssl_dist_opt server_* words (these win, as in OTP)."""
    optfiles, opts = await asyncio.gather(
        call("ssl_dist_optfile", _arguments, "init", "get_argument", [atom("ssl_dist_optfile")]),
        call("ssl_dist_opt", _arguments, "init", "get_argument", [atom("ssl_dist_opt")]),
    )
    if optfiles is None or opts is None:
        return
    options: dict[str, str] = {}
    for values in optfiles[-1:]:
        if values:
            found = await call(
                "ssl_dist_optfile",
                _server_peer_options,
                "file",
                "consult",
                [terms.binary(values[0].encode("utf-8"))],
            )
            if found is None:
                return
            options.update(found)
    for values in opts:
        for key, value in zip(values[::2], values[1::2]):
            if key.startswith("server_") and key[len("server_") :] in PEER_CHECK_OPTIONS:
                options[key[len("server_") :]] = value
    info.cookie_only, info.peer_check = peer_check(options)


def _cookie_or_none(term: Any) -> tuple[Cookie | None]:
    # A 1-tuple, so that 'nocookie' (None inside) differs from a failed call (None).
    return (_cookie_from_term(term),)


async def node_info(
    node: str | NodeName,
    cookie: Cookie,
    *,
    timeout: float = 5.0,
    host: str | None = None,
    epmd_port: int = EPMD_PORT,
    dist_port: int | None = None,
    tls: TlsOptions | None = None,
) -> NodeInfo:
    """Connect and gather, all within `timeout` seconds; never raises for network outcomes
    (the verdict says, and `complete` tells whether every question was answered)."""
    name = node if isinstance(node, NodeName) else NodeName.parse(node)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        conn = await connect(
            name,
            cookie,
            timeout=timeout,
            host=host,
            epmd_port=epmd_port,
            dist_port=dist_port,
            tls=tls,
        )
    except DistError as exc:
        info = NodeInfo(
            node=str(name),
            verdict=exc.verdict,
            detail=exc.detail,
            transport="tls" if tls else "tcp",
        )
        if exc.detail == TLS_DETECTED:
            info.tls = "required: the node speaks only TLS distribution"
        return info
    info = NodeInfo(node=str(name), verdict=ACCEPTED, detail="handshake completed, cookie accepted")
    try:
        async with asyncio.timeout_at(deadline):
            return await gather_info(conn, cookie, timeout=deadline - loop.time(), result=info)
    except TimeoutError:
        info.failed(f"no complete answer within {timeout:g}s")
        return info
    finally:
        await conn.close(wait=min(CLOSE_WAIT, deadline - loop.time()))
