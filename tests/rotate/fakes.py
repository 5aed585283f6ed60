"""An in-memory cluster for the engine's unit tests: the cookie rules of real nodes, by label.

Each fake node has an own cookie and per-peer pins exactly like OTP's auth server; a
handshake between two nodes succeeds iff each one's cookie for the other is the same.
After every operation the whole cluster is checked, and any pair of live nodes that would
fail a reconnect is recorded in `splits`, so a test can assert that no moment of the
rotation ever split the cluster. Faults: kill a node, make the next operation on a node
fail, make the store fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from erlcookie.errors import OperationalError
from erlcookie.rotate.interfaces import Found, NodeError
from erlcookie.rotate.plan import NEW, OLD, OTHER, NodeState


@dataclass
class FakeNode:
    own: str
    pins: dict = field(default_factory=dict)
    alive: bool = True

    def view(self, peer: str) -> str:
        return self.pins.get(peer, self.own)


class FakeCluster:
    def __init__(self, names, own: str = OLD) -> None:
        self.nodes: dict[str, FakeNode] = {n: FakeNode(own) for n in names}
        self.splits: list[tuple[str, tuple[str, str]]] = []
        self.fail_next: dict[tuple[str, str], int] = {}  # (op, node) -> times
        self.ops_log: list[tuple[str, str]] = []

    def add(self, name: str, own: str) -> None:
        self.nodes[name] = FakeNode(own)

    def kill(self, name: str) -> None:
        self.nodes[name].alive = False

    def alive(self) -> list[str]:
        return sorted(n for n, s in self.nodes.items() if s.alive)

    def handshake_ok(self, a: str, b: str) -> bool:
        return self.nodes[a].view(b) == self.nodes[b].view(a)

    def check(self, after: str) -> None:
        for a, b in combinations(self.alive(), 2):
            if not self.handshake_ok(a, b):
                self.splits.append((after, (a, b)))

    def settled(self, label: str) -> bool:
        names = self.alive()
        return all(
            self.nodes[n].own == label
            and all(self.nodes[n].view(p) == label for p in names if p != n)
            for n in names
        )


class FakeOps:
    def __init__(self, cluster: FakeCluster, *, newcomers_split_ok: bool = True) -> None:
        self.c = cluster
        self.connected: set[str] = set()

    def _node(self, node: str, op: str) -> FakeNode:
        self.c.ops_log.append((op, node))
        key = (op, node)
        if self.c.fail_next.get(key):
            self.c.fail_next[key] -= 1
            raise NodeError(node, f"injected failure of {op}")
        state = self.c.nodes.get(node)
        if state is None or not state.alive:
            self.connected.discard(node)
            raise NodeError(node, "no such node", verdict="no_such_node")
        return state

    async def connect(self, node: str, label: str) -> None:
        if node in self.connected and self.c.nodes[node].alive:
            return
        state = self._node(node, "connect")
        if state.own != label:
            raise NodeError(node, "wrong cookie", verdict="rejected")
        self.connected.add(node)

    async def accepts(self, node: str, label: str) -> str:
        state = self.c.nodes.get(node)
        if state is None or not state.alive:
            return "no_such_node"
        return "accepted" if state.own == label else "rejected"

    def _require(self, node: str, op: str) -> FakeNode:
        state = self._node(node, op)
        if node not in self.connected:
            raise NodeError(node, "not connected", verdict="unreachable")
        return state

    async def cluster_peers(self, node: str) -> list[str]:
        self._require(node, "peers")
        return [n for n in self.c.alive() if n != node and self.c.handshake_ok(node, n)]

    async def read_state(self, node: str, peers) -> NodeState:
        state = self._require(node, "read")
        pins = {p: state.view(p) for p in peers if state.view(p) != state.own}
        return NodeState(state.own, pins)

    async def pin(self, node: str, pins) -> None:
        state = self._require(node, "pin")
        state.pins.update(dict(pins))
        self.c.check(f"pin {node}")

    async def switch(self, node: str, pins, label: str) -> dict:
        state = self._require(node, "switch")
        known = {p for p, _ in pins}
        extra = {
            p: state.view(p)
            for p in self.c.alive()
            if p != node and p not in known and self.c.handshake_ok(node, p)
        }
        state.pins.update(extra)
        state.pins.update(dict(pins))
        state.own = label
        self.c.check(f"switch {node}")
        return extra

    async def set_own(self, node: str, label: str) -> None:
        state = self._require(node, "set_own")
        state.own = label
        self.c.check(f"set_own {node}")

    async def pair_set_many(self, node: str, peers, label: str) -> dict:
        out = {}
        for peer in peers:
            try:
                state = self._require(node, "pair")
                other = self.c.nodes.get(peer)
                if other is None or not other.alive:
                    raise NodeError(node, f"{peer} is gone")
                state.pins[peer] = label
                other.pins[node] = label
                self.c.check(f"pair {node}/{peer}")
                out[peer] = True
            except NodeError as exc:
                out[peer] = exc
        return out

    async def close(self) -> None:
        self.connected.clear()


class FakeDiscovery:
    description = "fake"

    def __init__(self, cluster: FakeCluster, seeds=None) -> None:
        self.c = cluster
        self.seeds = seeds
        self.pending: list[str] = []

    async def discover(self) -> Found:
        names = self.seeds if self.seeds is not None else self.c.alive()
        return Found(tuple(names), tuple(self.pending))


class FakeStore:
    description = "fake store"

    def __init__(self, label: str | None = OLD) -> None:
        self.label = label
        self.previous: str | None = None
        self.fail_next = 0
        self.writes: list[tuple[str, bool]] = []

    async def current(self):
        return self.label

    async def store(self, label: str, *, keep_previous: bool) -> dict:
        if self.fail_next:
            self.fail_next -= 1
            raise OperationalError("injected store failure")
        self.writes.append((label, keep_previous))
        self.previous = (OLD if label == NEW else NEW) if keep_previous else None
        self.label = label
        return {}

    async def finalize(self, label: str) -> None:
        self.previous = None


__all__ = ["FakeCluster", "FakeOps", "FakeDiscovery", "FakeStore", "OTHER"]
