"""The seven answers `ping` gives per node, what they mean, and the exit code they make."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from erlcookie.errors import EXIT_FINDINGS, EXIT_OK, EXIT_OPERATIONAL

__all__ = [
    "Verdict",
    "PingResult",
    "exit_code",
    "VERDICTS",
    "REFUSALS",
    "OPERATIONAL",
    "ACCEPTED",
    "REJECTED",
    "NOT_ALLOWED",
    "NO_SUCH_NODE",
    "UNREACHABLE",
    "TIMEOUT",
    "PROTOCOL_ERROR",
]


class Verdict(enum.StrEnum):
    """A node's answer to a ping. Members are str: JSON and comparisons see the plain value."""

    ACCEPTED = "accepted"  # handshake completed: the node accepts the cookie
    REJECTED = "rejected"  # the node refused our digest: wrong cookie
    NOT_ALLOWED = "not_allowed"  # the node refused our name, flags, address or certificate
    NO_SUCH_NODE = "no_such_node"  # EPMD on that host knows no such name
    UNREACHABLE = "unreachable"  # no EPMD, nothing listening, DNS failure
    TIMEOUT = "timeout"  # no answer within the timeout
    PROTOCOL_ERROR = "protocol_error"  # the peer said something no Erlang node says


ACCEPTED = Verdict.ACCEPTED
REJECTED = Verdict.REJECTED
NOT_ALLOWED = Verdict.NOT_ALLOWED
NO_SUCH_NODE = Verdict.NO_SUCH_NODE
UNREACHABLE = Verdict.UNREACHABLE
TIMEOUT = Verdict.TIMEOUT
PROTOCOL_ERROR = Verdict.PROTOCOL_ERROR

VERDICTS = tuple(Verdict)
REFUSALS = frozenset({REJECTED, NOT_ALLOWED, NO_SUCH_NODE})
OPERATIONAL = frozenset({UNREACHABLE, TIMEOUT, PROTOCOL_ERROR})


def exit_code(verdicts: Iterable[str]) -> int:
    """0 when every node accepted; 3 when some node could not be checked at all
    (unreachable, timeout, protocol_error); otherwise 1 (a node answered and refused)."""
    seen = set(verdicts)
    if not seen or seen == {ACCEPTED}:
        return EXIT_OK if seen else EXIT_OPERATIONAL
    if seen & OPERATIONAL:
        return EXIT_OPERATIONAL
    return EXIT_FINDINGS


@dataclass(frozen=True)
class PingResult:
    """One node's answer to a ping (a handshake and nothing more)."""

    node: str
    verdict: Verdict
    detail: str
    elapsed: float
    peer_flags: int | None = None
    peer_name: str | None = None
    address: str | None = None
    transport: str = "tcp"

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPTED

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["elapsed"] = round(self.elapsed, 6)
        data["peer_flags"] = None if self.peer_flags is None else hex(self.peer_flags)
        return data
