"""What the rotation engine needs from the outside world: the seams ops plug into.

The engine (`engine.py`) drives phases over these protocols and knows cookies only by
label ("old", "new"); implementations hold the values: `ops_distribution.DistOps` for live
nodes, `persist` for the stores, `discovery` for finding members and restarting pods.
Implementations import this module, never the engine, so the engine can change without
touching them and a test double needs nothing but these definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from erlcookie.distribution.verdicts import NO_SUCH_NODE, UNREACHABLE
from erlcookie.rotate.plan import NodeState

GONE_VERDICTS = frozenset({NO_SUCH_NODE, UNREACHABLE})


class NodeError(Exception):
    """An operation on one node failed. `verdict` is a ping verdict when it was the
    connection that failed (so `no_such_node`/`unreachable` mean the node is gone)."""

    def __init__(self, node: str, detail: str, *, verdict: str | None = None) -> None:
        self.node = node
        self.detail = detail
        self.verdict = verdict
        super().__init__(f"{node}: {detail}")

    @property
    def gone(self) -> bool:
        return self.verdict in GONE_VERDICTS


class NodeOps(Protocol):
    """Operations on live nodes. Cookies are named by label; implementations map them."""

    async def connect(self, node: str, label: str) -> None:
        """Open (or keep) the control connection to `node`, handshaking with `label`."""

    async def accepts(self, node: str, label: str) -> str:
        """A fresh handshake with `label`: a ping verdict ("accepted", "rejected", ...)."""

    async def cluster_peers(self, node: str) -> list[str]:
        """The cluster nodes this node knows: connected visible nodes, and nodes it knows
        of but is not connected to right now (churn, partitions) that still run as
        visible nodes. Hidden nodes (remote shells, C nodes, our probes) are not members."""

    async def read_state(self, node: str, peers: Sequence[str]) -> NodeState:
        """The node's own cookie and its cookie for each peer, as labels (or OTHER)."""

    async def pin(self, node: str, pins: Sequence[tuple[str, str]]) -> None: ...

    async def set_own(self, node: str, label: str) -> None: ...

    async def switch(
        self, node: str, pins: Sequence[tuple[str, str]], label: str
    ) -> dict[str, str]:
        """In one block inside the node: pin its current view of every visible peer not in
        `pins` (returned, as labels), pin `pins`, then run `label` as its own cookie."""

    async def pair_set_many(
        self, node: str, peers: Sequence[str], label: str
    ) -> dict[str, bool | NodeError]:
        """Both ends of each pair (node, peer) to `label`, changed from `node` over the
        pair's live connection. Per peer: True; False if it had to be finished from our
        side because that connection dropped meanwhile; or the NodeError that left the
        pair unchanged (never split)."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Found:
    """A discovery result: member names, and how many candidates are not ready yet."""

    nodes: tuple[str, ...]
    pending: tuple[str, ...] = ()


class Discovery(Protocol):
    description: str

    async def discover(self) -> Found: ...


class Persister(Protocol):
    description: str

    async def current(self) -> str | None:
        """The label of the cookie the store holds now (OLD, NEW, OTHER), None if absent."""

    async def store(self, label: str, *, keep_previous: bool) -> dict | None:
        """Store `label`'s cookie; with keep_previous the other one is kept beside it.
        Returns facts for the persist event (never a value)."""

    async def finalize(self, label: str) -> dict | None:
        """Drop anything kept beside the stored cookie. Returns facts for the event."""


class Restarter(Protocol):
    description: str

    async def check(self) -> None: ...

    async def restart(
        self, emit: Callable[..., None], stamps: dict, save: Callable[[], None]
    ) -> list[str]:
        """Restart and wait. `stamps` is kept in the journal (call `save` after changing
        it, before acting on it), so a resumed run can tell what it already requested."""


__all__ = ["NodeError", "NodeOps", "Found", "Discovery", "Persister", "Restarter", "GONE_VERDICTS"]
