"""Erlang distribution from Python: ask live nodes whether they accept a cookie, and more.

    from erlcookie.distribution import ping, node_info, Verdict
    result = await ping("app@web1", cookie)          # PingResult; result.verdict is a Verdict
    info = await node_info("app@web1", cookie)       # NodeInfo: release, peers, own cookie

The sans-IO codecs (`epmd`, `handshake`, `framing`, `terms`) take bytes and return typed
events; the asyncio driver in `client` and the blocking one in `blocking` move the bytes.
The names below load their submodule on first use, so importing this package stays cheap
(`erlcookie ping` must not pay for asyncio, ssl or erlang-py up front).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erlcookie._exports import lazy_exports

if TYPE_CHECKING:
    from erlcookie.distribution.blocking import ping_blocking
    from erlcookie.distribution.client import (
        DistConnection,
        connect,
        epmd_names,
        epmd_port_please,
        ping,
        ping_many,
    )
    from erlcookie.distribution.epmd import EPMD_PORT
    from erlcookie.distribution.errors import (
        ConnectionLostError,
        DistError,
        DistTimeoutError,
        NoSuchNodeError,
        NotAllowedError,
        ProtocolError,
        RejectedError,
        RpcError,
        RpcTimeoutError,
        UnreachableError,
    )
    from erlcookie.distribution.info import NodeInfo, node_info
    from erlcookie.distribution.nodename import NodeName
    from erlcookie.distribution.terms import atom, to_python
    from erlcookie.distribution.tls import TlsOptions
    from erlcookie.distribution.verdicts import PingResult, Verdict

_HOMES = {
    "ping_blocking": "blocking",
    "DistConnection": "client",
    "connect": "client",
    "epmd_names": "client",
    "epmd_port_please": "client",
    "ping": "client",
    "ping_many": "client",
    "EPMD_PORT": "epmd",
    "ConnectionLostError": "errors",
    "DistError": "errors",
    "DistTimeoutError": "errors",
    "NoSuchNodeError": "errors",
    "NotAllowedError": "errors",
    "ProtocolError": "errors",
    "RejectedError": "errors",
    "RpcError": "errors",
    "RpcTimeoutError": "errors",
    "UnreachableError": "errors",
    "NodeInfo": "info",
    "node_info": "info",
    "NodeName": "nodename",
    "atom": "terms",
    "to_python": "terms",
    "TlsOptions": "tls",
    "PingResult": "verdicts",
    "Verdict": "verdicts",
}

__all__ = sorted(_HOMES)


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
