"""Errors of the distribution client. Each connection failure carries its ping verdict.

Messages name nodes, hosts, ports and stages; never a cookie, never raw rpc arguments.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from erlcookie.distribution.verdicts import (
    NO_SUCH_NODE,
    NOT_ALLOWED,
    PROTOCOL_ERROR,
    REJECTED,
    TIMEOUT,
    UNREACHABLE,
    Verdict,
)
from erlcookie.errors import EXIT_FINDINGS, EXIT_OPERATIONAL, ErlcookieError

if TYPE_CHECKING:
    from erlcookie.distribution.epmd import PortPlease2Event


class DistError(ErlcookieError):
    """A connection to a node failed; `verdict` is one of the ping verdicts."""

    verdict: Verdict = PROTOCOL_ERROR
    exit_code = EXIT_OPERATIONAL

    def __init__(self, detail: str, *, node: str | None = None) -> None:
        self.detail = detail
        self.node = node
        super().__init__(f"{node}: {detail}" if node else detail)


class RejectedError(DistError):
    """The node does not accept our cookie."""

    verdict = REJECTED
    exit_code = EXIT_FINDINGS


class NotAllowedError(DistError):
    """The node refused our name, flags, address or client certificate."""

    verdict = NOT_ALLOWED
    exit_code = EXIT_FINDINGS


class NoSuchNodeError(DistError):
    """EPMD on the host knows no node of that name."""

    verdict = NO_SUCH_NODE
    exit_code = EXIT_FINDINGS


class UnreachableError(DistError):
    verdict = UNREACHABLE


class DistTimeoutError(DistError):
    verdict = TIMEOUT


class ProtocolError(DistError):
    """The peer said something no Erlang node would."""

    verdict = PROTOCOL_ERROR


class ConnectionLostError(ProtocolError):
    """The connection closed or broke while a request was waiting for its answer."""


ERROR_FOR_VERDICT = {
    cls.verdict: cls
    for cls in (
        RejectedError,
        NotAllowedError,
        NoSuchNodeError,
        UnreachableError,
        DistTimeoutError,
        ProtocolError,
    )
}


class RpcError(ErlcookieError):
    """An rpc call answered {badrpc, Reason}; `reason` is the term with secrets redacted."""

    exit_code = EXIT_OPERATIONAL

    def __init__(self, message: str, reason: Any = None) -> None:
        self.reason = reason
        super().__init__(message)


class RpcTimeoutError(RpcError):
    """No answer to an rpc call within its timeout (the connection stays usable)."""


def error_for_oserror(exc: OSError, what: str, host: str, port: int) -> DistError:
    """A failed connect as a verdict-carrying error (both drivers use this)."""
    if isinstance(exc, socket.gaierror):
        return UnreachableError(f"cannot resolve host {host!r}: {exc.strerror}")
    if isinstance(exc, ConnectionRefusedError):
        hint = " (no EPMD there: is any node running on that host?)" if what == "EPMD" else ""
        return UnreachableError(f"{what} at {host}:{port} refused the connection{hint}")
    return UnreachableError(f"{what} at {host}:{port}: {exc.strerror or type(exc).__name__}")


def port_from_epmd(answer: PortPlease2Event, host: str, epmd_port: int, alive: str) -> int:
    """The distribution port from a PORT_PLEASE2 answer, or the error it amounts to."""
    from erlcookie.distribution.epmd import NotRegistered

    if isinstance(answer, NotRegistered):
        raise NoSuchNodeError(f"EPMD at {host}:{epmd_port} knows no node named {alive!r}")
    if not answer.speaks_version_6():
        raise ProtocolError(
            f"the node speaks distribution versions {answer.low_version}.."
            f"{answer.high_version}, not 6 (OTP 23 or newer)"
        )
    return answer.port
