"""The rotation as pure data: phases, a cookie model of the cluster, its invariant, steps.

Why a model: a handshake between X and Y succeeds only if X's cookie for Y equals Y's
cookie for X (`view(X, Y) == view(Y, X)`), where a node's cookie for a peer is its pin for
that peer if any, else its own cookie. Cookies are read only during handshakes, so a
rotation is safe exactly when this holds for every pair of members after every step:
then any reconnect at any moment succeeds. Everything here works on labels ("old",
"new"), never on cookie values, so the plan, the journal and the events cannot leak one.

The steps keep the invariant by construction:
- `Switch` makes a node's current view of every peer explicit (a pin, which changes no
  view), then changes its own cookie, in one block run inside the node, so no peer that
  connects meanwhile is missed; visible peers we did not know are pinned the same way;
- `Pin` sets single pins (to accept a newcomer as it is, or to clean up names that left);
- `PairSet` changes both ends of one pair at once (one node sets its cookie for the
  peer and asks the peer, over the live connection between them, to do the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

OLD = "old"
NEW = "new"
OTHER = "other"  # a cookie that is neither: found only by reading a node's state back
LABELS = (OLD, NEW)

# Phases, in order. A rollback runs the same phases toward the old cookie.
PREFLIGHT = "preflight"
SWITCH = "switch"
PERSIST = "persist"
CONVERGE = "converge"
UNPIN = "unpin"
VERIFY = "verify"
FINALIZE = "finalize"
RESTART = "restart"
PHASES = (PREFLIGHT, SWITCH, PERSIST, CONVERGE, UNPIN, VERIFY, FINALIZE, RESTART)

# Named points where a test may crash the tool (after the named step was journaled).
CRASH_POINTS = (
    "preflight",
    "switch.partial",
    "switch",
    "persist",
    "converge",
    "unpin",
    "verify",
    "finalize",
    "restart",
)

FORWARD = "forward"
ROLLBACK = "rollback"


def other_label(label: str) -> str:
    if label not in LABELS:
        raise ValueError(f"not a cookie label: {label!r}")
    return OLD if label == NEW else NEW


class InvariantError(AssertionError):
    """A step would leave a pair of members disagreeing on their cookie (a split)."""


@dataclass
class NodeState:
    own: str
    pins: dict[str, str] = field(default_factory=dict)

    def view(self, peer: str) -> str:
        return self.pins.get(peer, self.own)

    def to_dict(self) -> dict:
        return {"own": self.own, "pins": dict(sorted(self.pins.items()))}

    @classmethod
    def from_dict(cls, data: Mapping) -> NodeState:
        return cls(
            str(data["own"]), {str(k): str(v) for k, v in dict(data.get("pins", {})).items()}
        )


# -- steps -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pin:
    """Set `node`'s cookie for each peer to the given label."""

    node: str
    pins: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SetOwn:
    node: str
    label: str


@dataclass(frozen=True)
class Switch:
    """Pin `pins` (the node's current views), then set the node's own cookie to `label`."""

    node: str
    pins: tuple[tuple[str, str], ...]
    label: str


@dataclass(frozen=True)
class PairSet:
    """Both ends of the pair to `label`: `node` for `peer`, then `peer` for `node`."""

    node: str
    peer: str
    label: str


Step = Pin | SetOwn | Switch | PairSet


class ClusterModel:
    """Every member's own cookie and pins, as labels."""

    def __init__(self, nodes: Mapping[str, NodeState] | None = None) -> None:
        self.nodes: dict[str, NodeState] = dict(nodes or {})

    @classmethod
    def uniform(cls, members: Iterable[str], label: str) -> ClusterModel:
        return cls({m: NodeState(label) for m in members})

    def copy(self) -> ClusterModel:
        return ClusterModel({n: NodeState(s.own, dict(s.pins)) for n, s in self.nodes.items()})

    @property
    def members(self) -> list[str]:
        return sorted(self.nodes)

    def view(self, node: str, peer: str) -> str:
        return self.nodes[node].view(peer)

    def mismatches(self, members: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """Pairs of members whose two views differ: a reconnect between them would fail."""
        names = sorted(self.nodes if members is None else members)
        return [(a, b) for a, b in combinations(names, 2) if self.view(a, b) != self.view(b, a)]

    def check(self, members: Iterable[str] | None = None) -> None:
        bad = self.mismatches(members)
        if bad:
            a, b = bad[0]
            raise InvariantError(
                f"{len(bad)} pair(s) disagree, e.g. {a} uses the {self.view(a, b)} "
                f"cookie for {b} but {b} the {self.view(b, a)} one for {a}"
            )

    def apply(self, step: Step) -> None:
        if isinstance(step, Pin):
            self.nodes[step.node].pins.update(dict(step.pins))
        elif isinstance(step, SetOwn):
            self.nodes[step.node].own = step.label
        elif isinstance(step, Switch):
            self.nodes[step.node].pins.update(dict(step.pins))
            self.nodes[step.node].own = step.label
        elif isinstance(step, PairSet):
            self.nodes[step.node].pins[step.peer] = step.label
            if step.peer in self.nodes:
                self.nodes[step.peer].pins[step.node] = step.label
        else:  # pragma: no cover - a programming error
            raise TypeError(f"unknown step {step!r}")

    def apply_checked(self, step: Step) -> None:
        """Apply `step` and raise InvariantError if it splits any pair of members."""
        self.apply(step)
        self.check()

    def own_labels(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self.nodes.values():
            counts[state.own] = counts.get(state.own, 0) + 1
        return counts

    def settled(self, label: str) -> bool:
        """Every member runs `label` and uses it for every other member."""
        return all(
            s.own == label and all(s.view(p) == label for p in self.nodes if p != n)
            for n, s in self.nodes.items()
        )

    def to_dict(self) -> dict:
        return {n: s.to_dict() for n, s in sorted(self.nodes.items())}

    @classmethod
    def from_dict(cls, data: Mapping) -> ClusterModel:
        return cls({str(n): NodeState.from_dict(s) for n, s in dict(data).items()})


# -- planning --------------------------------------------------------------------------------
def switch_steps(model: ClusterModel, target: str) -> list[Switch]:
    """For every member not on `target`: pin its current view of every other member, then
    run `target` as its own cookie."""
    steps = []
    for node in model.members:
        state = model.nodes[node]
        if state.own == target:
            continue
        pins = tuple((peer, state.view(peer)) for peer in model.members if peer != node)
        steps.append(Switch(node, pins, target))
    return steps


def unpin_steps(model: ClusterModel, target: str) -> list[PairSet]:
    """One PairSet for every pair of members not yet both on `target` for each other.

    Which end carries out the change alternates, so each node does about half of its pairs.
    """
    names = model.members
    steps = []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            if model.view(a, b) != target or model.view(b, a) != target:
                node, peer = (a, b) if (i + j) % 2 else (b, a)
                steps.append(PairSet(node, peer, target))
    return steps


def adopt_steps(model: ClusterModel, newcomer: str, newcomer_view: Mapping[str, str]) -> list[Pin]:
    """Let the members accept a newcomer: each member pins, for it, what it uses for them.

    `newcomer_view` is the newcomer's cookie for each member (its own cookie, unless it
    has pins). The newcomer is then an ordinary member for pin/flip/unpin.
    """
    steps = []
    for member in model.members:
        if member == newcomer:
            continue
        wanted = newcomer_view[member]
        if model.view(member, newcomer) != wanted:
            steps.append(Pin(member, ((newcomer, wanted),)))
    return steps


def stale_pins(model: ClusterModel, target: str) -> list[Pin]:
    """Pins left for names that are not members (nodes that left, visible peers pinned in
    the switch and never adopted), set to `target`.

    A node that comes back under the same name (a StatefulSet pod) starts with the
    persisted cookie; a pin of the other cookie for its name would refuse it, and would
    keep the other cookie valid for anyone claiming that name.
    """
    members = set(model.nodes)
    steps = []
    for node in model.members:
        stale = sorted(
            p for p, label in model.nodes[node].pins.items() if p not in members and label != target
        )
        if stale:
            steps.append(Pin(node, tuple((p, target) for p in stale)))
    return steps


@dataclass(frozen=True)
class PlanSummary:
    """What `--dry-run` shows: the steps of each phase, counted."""

    members: tuple[str, ...]
    target: str
    pins: int
    flips: int
    pairs: int
    persist: str
    restart: str | None
    discovery: str

    def lines(self) -> list[str]:
        n = len(self.members)
        peers = max(n - 1, 0)
        out = [
            f"1. {PREFLIGHT}: handshake with the old cookie on {n} node(s); read back every "
            "node's cookies; audit the new cookie; check the persist target",
            f"2. {SWITCH}: on each of {n} node(s), in one block inside the node, pin the old "
            f"cookie for its {peers} peer(s) and any other visible node ({self.pins} pins), then "
            f"run the new cookie as its own ({self.flips} nodes); on any failure roll the "
            "switched nodes back before persisting anything",
            f"3. {PERSIST}: store the new cookie in {self.persist}",
            f"4. {CONVERGE}: rediscover ({self.discovery}) until membership is stable; "
            "newcomers still on the old cookie are adopted and switched",
            f"5. {UNPIN}: {self.pairs} pair(s), both ends set while the node acting for the "
            "pair has its net_kernel briefly paused (handshakes wait, never meet two cookies)",
            f"6. {VERIFY}: read back every node's cookies; each accepts the new cookie and "
            "refuses the old one",
            f"7. {FINALIZE}: drop the old cookie kept next to the new one in the store",
        ]
        if self.restart:
            out.append(f"8. {RESTART}: {self.restart}, then wait for readiness")
        return out


def summarize(
    members: Iterable[str],
    *,
    target: str = NEW,
    persist: str = "nothing",
    restart: str | None = None,
    discovery: str = "static list",
) -> PlanSummary:
    names = tuple(sorted(members))
    model = ClusterModel.uniform(names, other_label(target))
    switches = switch_steps(model, target)
    for step in switches:
        model.apply(step)
    pairs = unpin_steps(model, target)
    return PlanSummary(
        names,
        target,
        sum(len(p.pins) for p in switches),
        len(switches),
        len(pairs),
        persist,
        restart,
        discovery,
    )
