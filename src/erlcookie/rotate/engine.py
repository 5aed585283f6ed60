"""The phase engine: drives a rotation (or a rollback) through abstract operations.

The engine knows cookies only by label ("old", "new"); the operations behind `NodeOps`,
`Persister`, `Discovery` and `Restarter` hold the values. Every change goes through a step
of `plan` and is checked against the pair invariant before the next one, so the cluster
is never split into two cookie camps: at any moment every pair of members agrees on the
cookie of their next handshake. A failure in `switch` or `persist` turns a forward run
into a rollback automatically (nothing persisted yet, or the store is restored); a
failure later stops the run in a consistent state for `--resume` or `--rollback`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from erlcookie.distribution.verdicts import ACCEPTED, REJECTED
from erlcookie.errors import EXIT_FINDINGS, EXIT_OPERATIONAL, EXIT_USAGE, ErlcookieError
from erlcookie.rotate import plan
from erlcookie.rotate.interfaces import Discovery, NodeError, NodeOps, Persister, Restarter
from erlcookie.rotate.journal import (
    ABORTED,
    DONE,
    FAILED,
    ROLLED_BACK,
    RUNNING,
    Journal,
    JournalSaveError,
)
from erlcookie.rotate.plan import (
    CONVERGE,
    FINALIZE,
    FORWARD,
    NEW,
    OLD,
    OTHER,
    PERSIST,
    PREFLIGHT,
    RESTART,
    ROLLBACK,
    SWITCH,
    UNPIN,
    VERIFY,
    ClusterModel,
    NodeState,
    PairSet,
    Pin,
    SetOwn,
    Switch,
    other_label,
)

# Preflight problems that are findings (exit 1): nodes or the store answered, something is off.
FINDING_VERDICTS = frozenset({"rejected", "not_allowed", "cookie", "pins", "store"})
ROLLBACK_REQUESTED = "rollback requested"


# -- outcomes ----------------------------------------------------------------------------------
class RotationError(ErlcookieError):
    exit_code = EXIT_OPERATIONAL


class PreflightFailed(RotationError):
    """Something is wrong before any change; nothing was changed."""

    def __init__(self, message: str, problems: list[dict], exit_code: int = EXIT_OPERATIONAL):
        self.problems = problems
        self.exit_code = exit_code
        super().__init__(message)


class RolledBack(RotationError):
    """The switch (or persist) failed; the cluster was returned to the old cookie.

    The engine returns ROLLED_BACK; the CLI raises this to end with exit code 3."""


class PhaseFailed(RotationError):
    """A phase failed after the new cookie was persisted: consistent, resumable."""


class SimulatedCrash(BaseException):
    """Raised at a crash point by tests that run the engine in-process."""


@dataclass
class EngineOptions:
    concurrency: int = 32
    converge_rounds: int = 50  # rounds that still found members coming or going
    # pending nodes (pods not running yet) are waited for until converge_timeout
    converge_interval: float = 0.3
    converge_timeout: float = 60.0
    converge_settle: float = 1.0  # keep watching this long for nodes booting from the old store
    crash_at: str | None = None
    crash: str = "kill"  # "kill" (SIGKILL this process) or "raise" (SimulatedCrash)


@dataclass
class PreflightReport:
    members: list[str]
    model: ClusterModel
    store: str | None
    problems: list[dict] = field(default_factory=list)


def _is_probe(name: str) -> bool:
    return name.startswith("erlcookie-")


class RotationEngine:
    def __init__(
        self,
        ops: NodeOps,
        discovery: Discovery,
        persister: Persister,
        *,
        restarter: Restarter | None = None,
        emit: Callable[..., None] | None = None,
        options: EngineOptions | None = None,
        hook: Callable[[str, RotationEngine], Awaitable[None] | None] | None = None,
    ):
        self.ops = ops
        self.discovery = discovery
        self.persister = persister
        self.restarter = restarter
        self._emit = emit or (lambda **event: None)
        self.options = options or EngineOptions()
        self.hook = hook  # tests: called at every crash point, may kill a node
        self.journal: Journal | None = None
        self.model = ClusterModel()
        self._gate = asyncio.Semaphore(self.options.concurrency)

    # -- events ------------------------------------------------------------------------------
    def emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, "ts": round(time.time(), 3), **fields}
        if self.journal is not None:
            record.setdefault("direction", self.journal.direction)
            if event in ("phase", "result", "warning", "rollback"):
                self.journal.record(record)
        self._emit(**record)

    async def _point(self, name: str) -> None:
        """A crash point: the journal is saved; tests may crash or hurt a node here."""
        if self.hook is not None:
            result = self.hook(name, self)
            if asyncio.iscoroutine(result):
                await result
        if self.options.crash_at == name:
            self.emit("crash", point=name)
            if self.options.crash == "raise":
                raise SimulatedCrash(name)
            os.kill(os.getpid(), signal.SIGKILL)

    # -- helpers -------------------------------------------------------------------------------
    async def _each(
        self, items: Iterable, fn: Callable[[Any], Awaitable[Any]]
    ) -> list[tuple[Any, BaseException]]:
        """Run fn over items with bounded concurrency; return the failures (item, error)."""
        failures: list[tuple[Any, BaseException]] = []

        async def one(item):
            async with self._gate:
                try:
                    await fn(item)
                except NodeError as exc:
                    failures.append((item, exc))

        await asyncio.gather(*(one(i) for i in items))
        return failures

    def _save(self) -> None:
        if self.journal is not None:
            self.journal.set_model(self.model)
            self.journal.save()

    def _phase(self, phase: str, status: str, **extra: Any) -> None:
        if self.journal is not None:
            self.journal.phase(phase, status, **{k: v for k, v in extra.items() if k != "detail"})
        self.emit("phase", phase=phase, status=status, **extra)
        if status in ("done", "failed", "skipped"):
            self._save()

    async def _connect_any(self, node: str, first: str) -> str:
        """Connect with `first`, else the other label; the label the node accepted."""
        try:
            await self.ops.connect(node, first)
            return first
        except NodeError as exc:
            if exc.verdict != REJECTED:
                raise
        second = other_label(first)
        await self.ops.connect(node, second)
        return second

    async def _closure(
        self, seeds: Iterable[str], label: str, problems: list[dict] | None = None
    ) -> list[str]:
        """The members: the seeds plus every visible peer they report, transitively."""
        members: set[str] = set()
        queue = [s for s in seeds if not _is_probe(s)]
        while queue:
            batch = sorted(set(queue) - members)
            queue = []
            members.update(batch)

            async def visit(node):
                await self.ops.connect(node, label)
                for peer in await self.ops.cluster_peers(node):
                    if not _is_probe(peer) and peer not in members:
                        queue.append(peer)  # noqa: B023 - awaited within this pass

            for node, exc in await self._each(batch, visit):
                if problems is None:
                    raise exc
                problems.append(
                    {"node": node, "verdict": exc.verdict or "error", "detail": exc.detail}
                )
                self.emit(
                    "node",
                    phase=PREFLIGHT,
                    node=node,
                    action="connect",
                    result=exc.verdict or "error",
                    detail=exc.detail,
                )
        return sorted(members)

    # -- preflight -----------------------------------------------------------------------------
    async def preflight(self, *, store_may_hold_new: bool = True) -> PreflightReport:
        """Discover, connect with the old cookie, read every node back. Changes nothing."""
        self.emit("phase", phase=PREFLIGHT, status="start")
        found = await self.discovery.discover()
        problems: list[dict] = []
        for name in found.pending:  # no node runs there yet: converge waits for it
            self.emit(
                "node",
                phase=PREFLIGHT,
                node=name,
                action="discover",
                result="pending",
                detail="not running yet; converge waits for it",
            )
        members = await self._closure(found.nodes, OLD, problems)
        if not members and not problems:
            raise PreflightFailed(
                f"no nodes found ({self.discovery.description})", [], exit_code=EXIT_OPERATIONAL
            )
        reachable = [m for m in members if not any(p["node"] == m for p in problems)]
        states: dict[str, NodeState] = {}

        async def read(node):
            states[node] = await self.ops.read_state(node, [m for m in members if m != node])

        for node, exc in await self._each(reachable, read):
            problems.append({"node": node, "verdict": exc.verdict or "error", "detail": exc.detail})
        for node in sorted(states):
            state = states[node]
            odd = sorted(p for p in members if p != node and state.view(p) != OLD)
            if state.own != OLD:
                problems.append(
                    {
                        "node": node,
                        "verdict": "cookie",
                        "detail": f"its own cookie is the {state.own} one, not the old one",
                    }
                )
            elif odd:
                problems.append(
                    {
                        "node": node,
                        "verdict": "pins",
                        "detail": f"uses a cookie other than the old one for {len(odd)} "
                        f"member(s), e.g. {odd[0]}: an unfinished rotation? "
                        "(use --resume or --rollback)",
                    }
                )
            else:
                self.emit("node", phase=PREFLIGHT, node=node, action="check", result="ok")
        try:
            store = await self.persister.current()
        except ErlcookieError as exc:
            store = None
            problems.append(
                {
                    "node": None,
                    "source": "store",
                    "verdict": "usage" if exc.exit_code == EXIT_USAGE else "error",
                    "detail": str(exc),
                }
            )
        if store == OTHER or (store == NEW and not store_may_hold_new):
            problems.append(
                {
                    "node": None,
                    "source": "store",
                    "verdict": "store",
                    "detail": f"{self.persister.description} holds a cookie that is "
                    "neither the old nor the new one",
                }
            )
        if self.restarter is not None:
            try:
                await self.restarter.check()
            except ErlcookieError as exc:
                problems.append(
                    {
                        "node": None,
                        "source": "restart",
                        "verdict": "usage" if exc.exit_code == EXIT_USAGE else "error",
                        "detail": str(exc),
                    }
                )
        model = ClusterModel({n: NodeState(OLD) for n in members})
        report = PreflightReport(members, model, store, problems)
        if problems:
            self.emit("phase", phase=PREFLIGHT, status="failed", problems=problems)
            verdicts = {p["verdict"] for p in problems}
            if "usage" in verdicts:
                code = EXIT_USAGE
            elif verdicts & FINDING_VERDICTS:
                code = EXIT_FINDINGS  # a finding wins over an operational error beside it
            else:
                code = EXIT_OPERATIONAL
            first = problems[0]
            where = (
                f"{first['node'] or first.get('source')}: "
                if first["node"] or first.get("source")
                else ""
            )
            raise PreflightFailed(
                f"preflight found {len(problems)} problem(s), nothing was "
                f"changed; first: {where}{first['detail']}",
                problems,
                code,
            )
        self.model = model
        self.emit(
            "phase", phase=PREFLIGHT, status="done", members=len(members), store=store or "absent"
        )
        return report

    def begin(self, journal: Journal) -> None:
        """Adopt a journal created for this run (after preflight, before any change)."""
        self.journal = journal
        journal.phase(PREFLIGHT, "done")
        try:
            self._save()
        except JournalSaveError as exc:
            raise JournalSaveError(f"{exc}; nothing was changed") from None

    # -- driving -------------------------------------------------------------------------------
    async def drive(self, journal: Journal, *, fresh: bool = False) -> str:
        """Run the journal's remaining phases; returns the final status (done/rolled_back)."""
        self.journal = journal
        self.model = journal.model()
        journal.data["status"] = RUNNING
        if fresh:
            await self._point(PREFLIGHT)
        try:
            status = await self._drive(fresh)
        except JournalSaveError as exc:
            raise JournalSaveError(
                f"{exc}. The rotation stopped there, with no pair of nodes disagreeing on its "
                "cookie; once the journal can be written (free space, permissions), finish "
                "with `erlcookie rotate --resume` (it reads every node back) or undo with "
                "`erlcookie rotate --rollback`"
            ) from None
        except BaseException:
            try:
                self._save()
            except JournalSaveError:
                pass  # the error already on its way says more
            raise
        self._save()
        return status

    async def _drive(self, fresh: bool) -> str:
        j = self.journal
        assert j is not None
        try:
            if not fresh:
                await self._sync()
            if not j.done(SWITCH):
                await self._switch()
            if not j.done(PERSIST):
                await self._persist()
        except NodeError as exc:
            if j.direction == FORWARD:
                return await self._auto_rollback(exc)
            return self._stop(j.current_phase or SWITCH, exc)
        try:
            for phase, run in (
                (CONVERGE, self._converge),
                (UNPIN, self._unpin),
                (VERIFY, self._verify),
                (FINALIZE, self._finalize),
                (RESTART, self._restart),
            ):
                if not j.done(phase):
                    await run()
        except NodeError as exc:
            return self._stop(j.current_phase or VERIFY, exc)
        except JournalSaveError:
            raise  # no journal to record a stop in: drive() says how to go on
        except ErlcookieError as exc:  # e.g. the Kubernetes API went away: still resumable
            return self._stop(j.current_phase or VERIFY, NodeError("-", str(exc)))
        status = DONE if j.direction == FORWARD else ROLLED_BACK
        j.finish(status)
        self._save()
        self.emit(
            "result",
            status=status,
            target=j.target,
            members=len(self.model.members),
            reason=j.data.get("rollback_reason"),
        )
        return status

    def _stop(self, phase: str, exc: NodeError) -> str:
        j = self.journal
        assert j is not None
        message = (
            f"{phase} failed" + (f" on {exc.node}" if exc.node != "-" else "") + f": {exc.detail}"
        )
        self._phase(phase, "failed", node=exc.node, detail=exc.detail)
        j.fail(message)
        self._save()
        self.emit("result", status=FAILED, phase=phase, error=message)
        stored = ""
        if j.data.get("store_touched"):
            stored = (
                f"{self.persister.description} already holds the "
                f"{'new' if j.direction == FORWARD else 'old'} cookie. "
            )
        raise PhaseFailed(
            f"{message}. No pair of nodes disagrees on its cookie (no split). "
            f"{stored}Finish with `erlcookie rotate --resume` (it picks up at "
            f"{phase}) or undo with `erlcookie rotate --rollback` (journal {j.path})"
        )

    async def _auto_rollback(self, exc: NodeError) -> str:
        j = self.journal
        assert j is not None
        phase = j.current_phase or SWITCH
        reason = f"{phase} failed on {exc.node}: {exc.detail}"
        self._phase(phase, "failed", node=exc.node, detail=exc.detail)
        self.emit("rollback", reason=reason)
        j.start_rollback(reason)
        self._save()
        try:
            await self._sync()
            await self._switch()
            await self._persist()
            for run in (self._converge, self._unpin, self._verify, self._finalize):
                await run()
        except NodeError as exc2:
            return self._stop(j.current_phase or SWITCH, exc2)
        j.finish(ROLLED_BACK, reason)
        self._save()
        self.emit(
            "result", status=ROLLED_BACK, target=OLD, members=len(self.model.members), reason=reason
        )
        return ROLLED_BACK

    async def rollback(self, journal: Journal) -> str:
        """`--rollback`: turn a journaled run toward the old cookie and drive it."""
        if journal.direction == FORWARD:
            journal.start_rollback(ROLLBACK_REQUESTED)
        journal.data["status"] = RUNNING
        return await self.drive(journal)

    # -- sync: read the truth back -------------------------------------------------------------
    async def _sync(self) -> None:
        """Reconnect to every member and read its cookie state back (after a crash, a
        failure, or before a rollback: the journal may lag behind what nodes did)."""
        j = self.journal
        assert j is not None
        members = self.model.members
        gone: list[str] = []

        async def reach(node):
            expected = self.model.nodes[node].own if node in self.model.nodes else OLD
            try:
                await self._connect_any(node, expected if expected in plan.LABELS else OLD)
            except NodeError as exc:
                if exc.gone:
                    gone.append(node)
                    return
                raise

        failures = await self._each(members, reach)
        if failures:
            raise failures[0][1]
        live = [m for m in members if m not in gone]
        states: dict[str, NodeState] = {}

        async def read(node):
            known = self.model.nodes.get(node)
            outside = sorted(p for p in (known.pins if known else {}) if p not in live)
            states[node] = await self.ops.read_state(node, [m for m in live if m != node] + outside)

        failures = await self._each(live, read)
        if failures:
            raise failures[0][1]
        for node in gone:
            self._depart(node, "unreachable while re-reading the cluster")
        self.model = ClusterModel(states)
        for node, state in states.items():
            if state.own == OTHER or OTHER in state.pins.values():
                raise NodeError(
                    node,
                    "runs or uses a cookie that is neither the old nor the new "
                    "one; someone changed it outside this rotation",
                )
        if gone and j.direction == FORWARD and not j.done(PERSIST):
            raise NodeError(gone[0], "the node went away during the rotation")
        bad = self.model.mismatches()
        if bad:
            a, b = bad[0]
            self.emit(
                "warning",
                message=f"{len(bad)} pair(s) disagree on their cookie, e.g. {a} and {b}; repairing",
            )
            await self._repair(bad)
        self._save()

    def _depart(self, node: str, why: str) -> None:
        self.model.nodes.pop(node, None)
        if self.journal is not None:
            self.journal.add_departed(node)
        self.emit("node", node=node, action="departed", result="gone", detail=why)

    async def _repair(self, pairs: list[tuple[str, str]]) -> None:
        """Pairs found disagreeing (only after outside interference): set both ends to the
        cookie the first node of the pair runs for it, over their connection."""
        for a, b in pairs:
            label = self.model.view(a, b)
            result = (await self.ops.pair_set_many(a, [b], label))[b]
            if isinstance(result, NodeError):
                raise result
            self.model.apply(PairSet(a, b, label))

    # -- phases ----------------------------------------------------------------------------------
    async def _apply(self, phase: str, steps: Sequence[plan.Step], action: str) -> None:
        """Carry out steps concurrently; each success updates the model and is checked."""
        pairs = [s for s in steps if isinstance(s, PairSet)]
        others = [s for s in steps if not isinstance(s, PairSet)]

        async def one(step):
            if isinstance(step, Pin):
                await self.ops.pin(step.node, step.pins)
                detail = f"{len(step.pins)} pin(s)"
            elif isinstance(step, Switch):
                extra = await self.ops.switch(step.node, step.pins, step.label)
                # visible peers we did not know, pinned as they were: cleaned up in unpin
                self.model.nodes[step.node].pins.update(extra)
                detail = f"{len(step.pins) + len(extra)} pin(s), own cookie -> {step.label}"
                if extra:
                    self.emit(
                        "node",
                        phase=phase,
                        node=step.node,
                        action="pin-visible",
                        result="ok",
                        detail=f"also pinned {len(extra)} visible node(s) "
                        f"not (yet) members: {', '.join(sorted(extra)[:3])}",
                    )
            else:
                await self.ops.set_own(step.node, step.label)
                detail = f"own cookie -> {step.label}"
            self._applied(phase, action, step, detail)

        failures = await self._each(others, one)
        by_node: dict[tuple[str, str], list[PairSet]] = {}
        for step in pairs:
            by_node.setdefault((step.node, step.label), []).append(step)

        async def pair_batch(key):
            node, label = key
            batch = by_node[key]
            results = await self.ops.pair_set_many(node, [s.peer for s in batch], label)
            for step in batch:
                result = results.get(step.peer)
                if isinstance(result, NodeError) or result is None:
                    failures.append((step, result or NodeError(node, f"no result for {step.peer}")))
                    continue
                self._applied(
                    phase,
                    action,
                    step,
                    f"with {step.peer} -> {label}"
                    + ("" if result else " (finished from our side: their link dropped)"),
                )

        failures += await self._each(by_node, pair_batch)
        for step, exc in failures:
            self.emit(
                "node",
                phase=phase,
                node=step.node,
                action=action,
                result="failed",
                detail=exc.detail,
            )
        if failures:
            raise failures[0][1]

    def _applied(self, phase: str, action: str, step: plan.Step, detail: str) -> None:
        self.model.apply(step)
        self._check_around(step)
        self.emit("node", phase=phase, node=step.node, action=action, result="ok", detail=detail)

    def _check_around(self, step: plan.Step) -> None:
        """The invariant for the pairs a step touched (O(n) per step)."""
        nodes = [step.node] + ([step.peer] if isinstance(step, PairSet) else [])
        nodes += [p for p, _ in step.pins] if isinstance(step, Pin) else []
        for node in nodes:
            if node not in self.model.nodes:
                continue
            for peer in self.model.nodes:
                if peer != node and self.model.view(node, peer) != self.model.view(peer, node):
                    raise plan.InvariantError(
                        f"step {type(step).__name__} on {node} would split it from {peer}"
                    )

    async def _switch(self) -> None:
        j = self.journal
        assert j is not None
        target = j.target
        self._phase(SWITCH, "start", members=len(self.model.members))
        steps = plan.switch_steps(self.model, target)
        # Always two waves with the journal saved between, so the crash point
        # "switch.partial" (and a test hook watching it) sees the path every run takes.
        half = max(1, len(steps) // 2)
        await self._apply(SWITCH, steps[:half], "switch")
        self._save()
        await self._point("switch.partial")
        if steps[half:]:
            await self._apply(SWITCH, steps[half:], "switch")
        self._phase(SWITCH, "done", switched=len(self.model.members))
        await self._point("switch")

    async def _persist(self) -> None:
        j = self.journal
        assert j is not None
        if j.direction == ROLLBACK and not j.data.get("store_touched"):
            self._phase(PERSIST, "skipped", reason="nothing was persisted by this rotation")
            return
        self._phase(PERSIST, "start", where=self.persister.description)
        j.set_persisted("started")
        self._save()
        try:
            info = await self.persister.store(j.target, keep_previous=j.direction == FORWARD)
        except ErlcookieError as exc:
            raise NodeError("store", f"{self.persister.description}: {exc}") from None
        j.set_persisted("yes")
        j.data["store_touched"] = True
        self._phase(PERSIST, "done", where=self.persister.description, **(info or {}))
        await self._point("persist")

    async def _converge(self) -> None:
        """Rediscover until membership is stable; adopt newcomers, drop departed nodes."""
        j = self.journal
        assert j is not None
        target = j.target
        self._phase(CONVERGE, "start")
        began = time.monotonic()
        deadline = began + self.options.converge_timeout
        settle_until = began + self.options.converge_settle
        rounds = busy = 0
        while True:
            rounds += 1
            try:
                found = await self.discovery.discover()
            except ErlcookieError as exc:
                raise NodeError("discovery", f"{self.discovery.description}: {exc}") from None
            seeds = set(found.nodes) | set(self.model.members)
            members = await self._members_now(seeds, target)
            newcomers = sorted(set(members) - set(self.model.members))
            departed = sorted(set(self.model.members) - set(members))
            for node in departed:
                self._depart(node, "no longer found by discovery or reachable")
            for node in newcomers:
                await self._adopt(node, target)
            if newcomers:
                await self._apply(CONVERGE, plan.switch_steps(self.model, target), "switch")
                self._save()
            changed = bool(newcomers or departed)
            if not changed and not found.pending and time.monotonic() >= settle_until:
                break
            busy += changed
            if changed and (busy >= self.options.converge_rounds or time.monotonic() > deadline):
                raise NodeError("cluster", f"membership did not settle after {rounds} round(s)")
            if found.pending and not changed and time.monotonic() > deadline:
                # Pending pods have started no node; when they start, they read the store,
                # which holds the target cookie now. Waiting longer would only block.
                waiting = ", ".join(found.pending[:3]) + (
                    f" and {len(found.pending) - 3} more" if len(found.pending) > 3 else ""
                )
                self.emit(
                    "warning",
                    message=f"still not running after "
                    f"{self.options.converge_timeout:g}s: {waiting}; "
                    "no node runs there yet, and when one starts it "
                    f"reads the {target} cookie from the store",
                )
                break
            await asyncio.sleep(self.options.converge_interval)
        self._phase(CONVERGE, "done", rounds=rounds, members=len(self.model.members))
        await self._point("converge")

    async def _members_now(self, seeds: set[str], target: str) -> list[str]:
        """Seeds that are alive plus their visible peers (transitively)."""
        alive: set[str] = set()
        queue = sorted(s for s in seeds if not _is_probe(s))
        seen: set[str] = set()
        while queue:
            batch = [n for n in queue if n not in seen]
            seen.update(batch)
            queue = []

            async def visit(node):
                expected = self.model.nodes[node].own if node in self.model.nodes else target
                try:
                    await self._connect_any(node, expected)
                except NodeError as exc:
                    if exc.gone:
                        return
                    raise
                alive.add(node)
                for peer in await self.ops.cluster_peers(node):
                    if not _is_probe(peer) and peer not in seen:
                        queue.append(peer)  # noqa: B023 - awaited within this pass

            failures = await self._each(batch, visit)
            if failures:
                raise failures[0][1]
            queue = sorted(set(queue))
        return sorted(alive)

    async def _adopt(self, node: str, target: str) -> None:
        """A node that appeared meanwhile: make every member accept it as it is."""
        own = await self._connect_any(node, target)
        members = self.model.members
        state = await self.ops.read_state(node, members)

        async def actual_view(member):
            seen = await self.ops.read_state(member, [node])
            self.model.nodes[member].pins[node] = seen.view(node)

        failures = await self._each(members, actual_view)
        if failures:
            raise failures[0][1]
        if state.own == OTHER or OTHER in state.pins.values():
            raise NodeError(
                node, "a newcomer runs a cookie that is neither the old nor the new one"
            )
        await self._apply(
            CONVERGE,
            plan.adopt_steps(self.model, node, {m: state.view(m) for m in members}),
            "adopt",
        )
        self.model.nodes[node] = state
        self._check_around(SetOwn(node, state.own))
        self.emit(
            "node",
            phase=CONVERGE,
            node=node,
            action="newcomer",
            result="ok",
            detail=f"started with the {own} cookie",
        )

    async def _unpin(self) -> None:
        j = self.journal
        assert j is not None
        target = j.target
        steps = plan.unpin_steps(self.model, target)
        self._phase(UNPIN, "start", pairs=len(steps))
        await self._apply(UNPIN, steps, "pair")
        stale = plan.stale_pins(self.model, target)
        if stale:
            await self._apply(UNPIN, stale, "stale-pins")
        self._phase(UNPIN, "done", pairs=len(steps), stale_pins=sum(len(p.pins) for p in stale))
        await self._point("unpin")

    async def _verify(self) -> None:
        j = self.journal
        assert j is not None
        target = j.target
        other = other_label(target)
        members = self.model.members
        self._phase(VERIFY, "start", members=len(members))
        problems: list[NodeError] = []

        async def check(node):
            outside = sorted(p for p in self.model.nodes[node].pins if p not in members)
            peers = [m for m in members if m != node] + outside
            state = await self.ops.read_state(node, peers)
            self.model.nodes[node] = state
            wrong = [p for p in peers if state.view(p) != target]
            if state.own != target:
                raise NodeError(node, f"still runs the {state.own} cookie")
            if wrong:
                raise NodeError(
                    node,
                    f"still uses the {state.view(wrong[0])} cookie for "
                    f"{len(wrong)} peer(s), e.g. {wrong[0]}",
                )
            good = await self.ops.accepts(node, target)
            if good != ACCEPTED:
                raise NodeError(
                    node, f"a fresh handshake with the {target} cookie: {good}", verdict=good
                )
            bad = await self.ops.accepts(node, other)
            if bad != REJECTED:
                raise NodeError(
                    node,
                    f"a fresh handshake with the {other} cookie was not refused: {bad}",
                    verdict=bad,
                )
            self.emit(
                "node",
                phase=VERIFY,
                node=node,
                action="verify",
                result="ok",
                detail=f"accepts {target}, refuses {other}",
            )

        for node, exc in await self._each(members, check):
            self.emit(
                "node", phase=VERIFY, node=node, action="verify", result="failed", detail=exc.detail
            )
            problems.append(exc)
        if problems:
            raise problems[0]
        self._phase(VERIFY, "done", members=len(members))
        await self._point("verify")

    async def _finalize(self) -> None:
        j = self.journal
        assert j is not None
        if not j.data.get("store_touched") and j.direction == ROLLBACK:
            self._phase(FINALIZE, "skipped")
            return
        self._phase(FINALIZE, "start")
        try:
            info = await self.persister.finalize(j.target)
        except ErlcookieError as exc:
            raise NodeError("store", f"{self.persister.description}: {exc}") from None
        self._phase(FINALIZE, "done", **(info or {}))
        await self._point("finalize")

    async def _restart(self) -> None:
        j = self.journal
        assert j is not None
        if self.restarter is None or j.direction == ROLLBACK:
            self._phase(RESTART, "skipped")
            return
        self._phase(RESTART, "start", what=self.restarter.description)
        try:
            # stamps live in the journal: a resumed run waits for a restart it requested
            restarted = await self.restarter.restart(
                self.emit, j.data.setdefault("restart_stamps", {}), self._save
            )
            found = await self.discovery.discover()
        except ErlcookieError as exc:
            raise NodeError("-", str(exc)) from None
        # the restarted nodes read the stored cookie: check they run the new one
        wrong: list[str] = []

        async def check(node):
            verdict = await self.ops.accepts(node, j.target)
            if verdict != ACCEPTED:
                wrong.append(f"{node} ({verdict})")

        await self._each(found.nodes, check)
        if wrong:
            raise NodeError(
                wrong[0].split(" ")[0],
                f"after the restart {len(wrong)} node(s) do "
                f"not accept the new cookie, e.g. {wrong[0]}",
            )
        self._phase(RESTART, "done", restarted=restarted, members=len(found.nodes))
        await self._point("restart")


async def close_quietly(ops: NodeOps) -> None:
    try:
        await ops.close()
    except Exception:  # closing is best effort; the process may be ending
        pass


__all__ = [
    "RotationEngine",
    "EngineOptions",
    "PreflightFailed",
    "RolledBack",
    "PhaseFailed",
    "SimulatedCrash",
    "PreflightReport",
    "ABORTED",
]
