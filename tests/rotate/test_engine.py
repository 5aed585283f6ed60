"""The phase engine against an in-memory cluster: order, invariant, rollback, resume."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erlcookie.rotate.engine import (
    EngineOptions,
    PhaseFailed,
    PreflightFailed,
    RotationEngine,
    SimulatedCrash,
)
from erlcookie.rotate.journal import DONE, FAILED, ROLLED_BACK, Journal
from erlcookie.rotate.plan import CRASH_POINTS, NEW, OLD, PHASES
from erlcookie.rotate.settings import RotateSettings

from .fakes import FakeCluster, FakeDiscovery, FakeOps, FakeStore

NAMES = [f"n{i}@h" for i in range(6)]
FPS = {OLD: "fp1:old", NEW: "fp1:new"}


def make(cluster, store=None, *, crash_at=None, hook=None, seeds=None):
    events = []
    engine = RotationEngine(
        FakeOps(cluster),
        FakeDiscovery(cluster, seeds),
        store or FakeStore(),
        emit=lambda **e: events.append(e),
        options=EngineOptions(
            crash_at=crash_at,
            crash="raise",
            converge_interval=0.0,
            converge_timeout=5,
            converge_settle=0.0,
        ),
        hook=hook,
    )
    return engine, events


async def start(engine, tmp_path, name="j.json"):
    report = await engine.preflight()
    journal = Journal.create(
        tmp_path / name,
        old_fingerprint=FPS[OLD],
        new_fingerprint=FPS[NEW],
        members=report.members,
        model=report.model,
        settings=RotateSettings(),
        secrets_file=None,
    )
    engine.begin(journal)
    return await engine.drive(journal, fresh=True), journal


def run(coro):
    return asyncio.run(coro)


def phases_done(events):
    return [e["phase"] for e in events if e["event"] == "phase" and e["status"] == "done"]


def test_forward_rotation_keeps_every_pair_agreeing(tmp_path):
    cluster = FakeCluster(NAMES)
    store = FakeStore()
    engine, events = make(cluster, store)
    status, journal = run(start(engine, tmp_path))
    assert status == DONE and journal.status == DONE
    assert cluster.settled(NEW)
    assert cluster.splits == []
    assert store.label == NEW and store.previous is None
    assert store.writes == [(NEW, True)]  # the old cookie kept beside it until finalize
    assert phases_done(events) == [
        "preflight",
        "switch",
        "persist",
        "converge",
        "unpin",
        "verify",
        "finalize",
    ]


def test_each_node_switches_in_one_operation(tmp_path):
    cluster = FakeCluster(NAMES)
    engine, _ = make(cluster)
    run(start(engine, tmp_path))
    ops = [op for op, _ in cluster.ops_log]
    assert ops.count("switch") == len(NAMES) and "set_own" not in ops


def test_visible_node_unknown_at_preflight_is_pinned_then_adopted(tmp_path):
    """A node that joins between preflight and the switch is pinned by every member in
    the same block that switches it, so it is never split from anyone."""
    cluster = FakeCluster(NAMES)

    def hook(point, engine):
        if point == "preflight":
            cluster.add("joined@h", OLD)

    engine, events = make(cluster, hook=hook, seeds=NAMES)
    status, journal = run(start(engine, tmp_path))
    assert status == DONE and "joined@h" in journal.members
    assert cluster.splits == [] and cluster.settled(NEW)
    assert any(e.get("action") == "pin-visible" for e in events)


def test_one_seed_finds_the_whole_cluster(tmp_path):
    cluster = FakeCluster(NAMES)
    engine, _ = make(cluster, seeds=[NAMES[0]])
    status, journal = run(start(engine, tmp_path))
    assert status == DONE and journal.members == sorted(NAMES)


def test_unreachable_node_in_preflight_changes_nothing(tmp_path):
    cluster = FakeCluster(NAMES)
    store = FakeStore()
    engine, events = make(cluster, store, seeds=NAMES + ["ghost@h"])
    with pytest.raises(PreflightFailed) as info:
        run(start(engine, tmp_path))
    assert info.value.exit_code == 3
    assert any(p["node"] == "ghost@h" for p in info.value.problems)
    assert all(op in ("connect", "peers", "read") for op, _ in cluster.ops_log)
    assert all(s.own == OLD and not s.pins for s in cluster.nodes.values())
    assert store.writes == [] and not (tmp_path / "j.json").exists()


def test_node_on_another_cookie_fails_preflight_with_findings(tmp_path):
    cluster = FakeCluster(NAMES)
    cluster.nodes[NAMES[2]].own = NEW  # refuses the old cookie
    engine, _ = make(cluster)
    with pytest.raises(PreflightFailed) as info:
        run(start(engine, tmp_path))
    assert info.value.exit_code == 1


def test_leftover_pins_fail_preflight(tmp_path):
    cluster = FakeCluster(NAMES)
    cluster.nodes[NAMES[0]].pins[NAMES[1]] = NEW
    cluster.nodes[NAMES[1]].pins[NAMES[0]] = NEW
    engine, _ = make(cluster)
    with pytest.raises(PreflightFailed, match="unfinished rotation"):
        run(start(engine, tmp_path))


def test_store_holding_a_third_cookie_fails_preflight(tmp_path):
    engine, _ = make(FakeCluster(NAMES), FakeStore("other"))
    with pytest.raises(PreflightFailed, match="neither the old nor the new"):
        run(start(engine, tmp_path))


def test_node_killed_during_switch_rolls_back_without_split(tmp_path):
    cluster = FakeCluster(NAMES)
    store = FakeStore()

    def hook(point, engine):
        if point == "switch.partial":
            victim = next(n for n in NAMES if cluster.nodes[n].own == OLD)
            cluster.kill(victim)

    engine, events = make(cluster, store, hook=hook)
    status, journal = run(start(engine, tmp_path))
    assert status == ROLLED_BACK and journal.status == ROLLED_BACK
    assert (
        "went away" in journal.data["rollback_reason"]
        or "no such node" in journal.data["rollback_reason"]
    )
    assert cluster.settled(OLD)
    assert cluster.splits == []
    assert store.writes == [] and store.label == OLD  # nothing persisted
    assert any(e["event"] == "rollback" for e in events)


def test_store_failure_rolls_back_and_restores_the_store(tmp_path):
    cluster = FakeCluster(NAMES)
    store = FakeStore()
    store.fail_next = 1
    engine, _ = make(cluster, store)
    status, journal = run(start(engine, tmp_path))
    assert status == ROLLED_BACK
    assert cluster.settled(OLD) and cluster.splits == []
    assert store.label == OLD and store.writes == [(OLD, False)]


def crashed_at(tmp_path, point):
    """A forward run that crashed at `point`: (cluster, store, journal as saved)."""
    cluster = FakeCluster(NAMES)
    store = FakeStore()
    engine, _ = make(cluster, store, crash_at=point)
    with pytest.raises(SimulatedCrash):
        run(start(engine, tmp_path))
    return cluster, store, Journal.load(tmp_path / "j.json")


@pytest.mark.parametrize("point", CRASH_POINTS[:-1])  # "restart" needs a restarter
def test_crash_at_each_boundary_then_resume_completes(tmp_path, point):
    cluster, store, journal = crashed_at(tmp_path, point)
    assert cluster.splits == []
    assert journal.status == "running"
    engine2, events = make(cluster, store)
    status = run(engine2.drive(journal))
    assert status == DONE and cluster.settled(NEW) and cluster.splits == []
    assert store.label == NEW and store.previous is None


@pytest.mark.parametrize(
    "point", ["preflight", "switch.partial", "switch", "persist", "unpin", "verify"]
)
def test_crash_then_rollback_returns_to_the_old_cookie(tmp_path, point):
    cluster, store, journal = crashed_at(tmp_path, point)
    engine2, _ = make(cluster, store)
    status = run(engine2.rollback(journal))
    assert status == ROLLED_BACK and cluster.settled(OLD) and cluster.splits == []
    assert store.label == OLD and store.previous is None
    assert journal.data["rollback_reason"] == "rollback requested"


def test_crash_during_the_rollback_resumes_the_rollback(tmp_path):
    cluster, store, journal = crashed_at(tmp_path, "persist")
    engine2, _ = make(cluster, store, crash_at="switch")
    with pytest.raises(SimulatedCrash):
        run(engine2.rollback(journal))
    journal = Journal.load(tmp_path / "j.json")
    assert journal.direction == "rollback"
    engine3, _ = make(cluster, store)
    assert run(engine3.drive(journal)) == ROLLED_BACK
    assert cluster.settled(OLD) and cluster.splits == [] and store.label == OLD


def test_newcomer_on_the_old_cookie_is_adopted(tmp_path):
    cluster = FakeCluster(NAMES)

    def hook(point, engine):
        if point == "switch":  # appeared after the switch, started from the old store
            cluster.add("late@h", OLD)

    engine, events = make(cluster, hook=hook)
    status, journal = run(start(engine, tmp_path))
    assert status == DONE and "late@h" in journal.members
    assert cluster.settled(NEW)
    # between its appearance and its adoption it could not talk to the switched nodes:
    # that is the window docs/rotate.md describes; after adoption no split at all
    adopted = [i for i, (op, n) in enumerate(cluster.ops_log) if op == "pin" and n != "late@h"]
    assert adopted
    assert [s for s in cluster.splits if "late@h" not in s[1]] == []
    assert any(e.get("action") == "newcomer" for e in events)


def test_newcomer_on_the_new_cookie_needs_nothing(tmp_path):
    cluster = FakeCluster(NAMES)

    def hook(point, engine):
        if point == "persist":
            cluster.add("fresh@h", NEW)

    engine, _ = make(cluster, hook=hook)
    status, _ = run(start(engine, tmp_path))
    assert status == DONE and cluster.settled(NEW) and cluster.splits == []


def test_node_gone_after_persist_is_dropped_and_its_name_pinned_to_new(tmp_path):
    cluster = FakeCluster(NAMES)

    def hook(point, engine):
        if point == "persist":
            cluster.kill(NAMES[3])

    engine, _ = make(cluster, hook=hook)
    status, journal = run(start(engine, tmp_path))
    assert status == DONE and NAMES[3] in journal.departed
    # when it comes back under the same name (StatefulSet) it runs the stored new cookie
    for name in cluster.alive():
        assert cluster.nodes[name].view(NAMES[3]) == NEW


def test_failure_after_persist_stops_consistent_and_resumes(tmp_path):
    cluster = FakeCluster(NAMES)
    cluster.fail_next[("pair", NAMES[1])] = 1
    store = FakeStore()
    engine, events = make(cluster, store)
    with pytest.raises(PhaseFailed, match="--resume"):
        run(start(engine, tmp_path))
    journal = Journal.load(tmp_path / "j.json")
    assert journal.status == FAILED and journal.phase_status("unpin") == "failed"
    assert cluster.splits == [] and store.label == NEW
    engine2, _ = make(cluster, store)
    assert run(engine2.drive(journal)) == DONE
    assert cluster.settled(NEW)


def test_pending_pods_are_waited_for_in_converge_within_a_bound(tmp_path):
    """A pod that never runs (unschedulable) must not block the rotation: converge waits
    for it until converge_timeout, then says so and finishes (it runs no node; when it
    starts it reads the stored cookie)."""
    cluster = FakeCluster(NAMES)
    engine, events = make(cluster)
    engine.options.converge_timeout = 0.4
    engine.options.converge_interval = 0.05

    def hook(point, eng):
        if point == "persist":
            eng.discovery.pending = ["pod/starting"]

    engine.hook = hook
    started = time.monotonic()
    assert run(start(engine, tmp_path))[0] == DONE
    assert 0.4 <= time.monotonic() - started < 5
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert any(
        "still not running after 0.4s: pod/starting" in w and "new cookie" in w for w in warnings
    )
    assert cluster.splits == [] and cluster.settled(NEW)


def test_pending_pods_in_preflight_are_not_a_problem_and_a_finding_wins(tmp_path):
    cluster = FakeCluster(NAMES)
    engine, events = make(cluster)
    engine.discovery.pending = ["pod/unschedulable"]
    report = run(engine.preflight())
    assert report.members == sorted(NAMES)
    assert any(
        e.get("node") == "pod/unschedulable" and e.get("result") == "pending" for e in events
    )
    # a node on the wrong cookie (a finding) beside an unreachable one (operational): exit 1
    cluster.nodes[NAMES[2]].own = NEW
    engine, _ = make(cluster, seeds=NAMES + ["ghost@h"])
    with pytest.raises(PreflightFailed) as info:
        run(engine.preflight())
    assert {p["verdict"] for p in info.value.problems} == {"rejected", "no_such_node"}
    assert any(p["node"] == "ghost@h" for p in info.value.problems)
    assert info.value.exit_code == 1


def test_an_operational_error_after_persist_is_a_resumable_stop(tmp_path):
    """Discovery failing in converge (the Kubernetes API gone): a failed-phase event, a
    message that says the store already holds the new cookie and that --resume finishes."""
    from erlcookie.errors import OperationalError

    cluster = FakeCluster(NAMES)
    store = FakeStore()
    engine, events = make(cluster, store)

    class Gone(FakeDiscovery):
        broken = False

        async def discover(self):
            if self.broken:
                raise OperationalError("cannot reach the Kubernetes API (test)")
            return await super().discover()

    engine.discovery = Gone(cluster)

    def hook(point, eng):
        if point == "persist":
            eng.discovery.broken = True

    engine.hook = hook
    with pytest.raises(PhaseFailed) as info:
        run(start(engine, tmp_path))
    message = str(info.value)
    assert message.startswith("converge failed on discovery: fake: cannot reach the Kubernetes API")
    assert "fake store already holds the new cookie" in message and "--resume" in message
    assert any(
        e["event"] == "phase" and e["phase"] == "converge" and e["status"] == "failed"
        for e in events
    )
    assert store.label == NEW and cluster.splits == []
    journal = Journal.load(tmp_path / "j.json")
    engine.discovery.broken = False
    engine2, _ = make(cluster, store)
    assert run(engine2.drive(journal)) == DONE


def test_journal_never_holds_cookie_labels_other_than_labels(tmp_path):
    cluster = FakeCluster(NAMES)
    engine, _ = make(cluster, crash_at="unpin")
    with pytest.raises(SimulatedCrash):
        run(start(engine, tmp_path))
    data = Journal.load(tmp_path / "j.json").data
    labels = {s["own"] for s in data["model"].values()}
    labels |= {v for s in data["model"].values() for v in s["pins"].values()}
    assert labels <= {OLD, NEW}
    assert set(data["phases"]) <= set(PHASES)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(2, 7),
    point=st.sampled_from(CRASH_POINTS[:-1]),
    late=st.sampled_from([None, "current", "stale"]),
    late_at=st.sampled_from(["preflight", "switch.partial", "switch", "persist", "converge"]),
    rollback=st.booleans(),
)
def test_any_crash_any_newcomer_never_splits_members(
    tmp_path_factory, size, point, late, late_at, rollback
):
    """A newcomer starts with what the store holds when it appears ("current"), or, right
    after the persist step, with what it held a moment before ("stale": it booted then)."""
    tmp = tmp_path_factory.mktemp("j")
    names = [f"m{i}@h" for i in range(size)]
    cluster = FakeCluster(names)
    store = FakeStore()

    def hook(p, engine):
        if not late or p != late_at or "late@h" in cluster.nodes:
            return
        if late == "current":
            cluster.add("late@h", store.label)
        elif p == "persist":
            cluster.add("late@h", OLD if store.label == NEW else NEW)

    engine, _ = make(cluster, store, crash_at=point, hook=hook)
    try:
        run(start(engine, tmp))
        finished = True
    except SimulatedCrash:
        finished = False
    if not finished:
        journal = Journal.load(tmp / "j.json")
        engine2, _ = make(cluster, store, hook=hook)
        run(engine2.rollback(journal) if rollback else engine2.drive(journal))
    target = OLD if (rollback and not finished) else NEW
    assert cluster.settled(target)
    assert store.label == target
    # members never disagree; a newcomer may be refused only until it is adopted
    assert [s for s in cluster.splits if "late@h" not in s[1]] == []


@pytest.mark.parametrize("point", ["switch.partial", "persist", "unpin"])
def test_journal_that_cannot_be_saved_mid_rotation_stops_cleanly_then_resumes(tmp_path, point):
    """The journal's directory stops being writable (here it is swapped for a file, as a
    read-only or full file system would refuse the write): the run stops with a clear
    error that says how to go on, no pair is split, and --resume finishes from the last
    journal that was saved."""
    from erlcookie.rotate.journal import JournalSaveError

    cluster = FakeCluster(NAMES)
    store = FakeStore()
    state = tmp_path / "state"
    state.mkdir()

    def hook(p, engine):
        if p == point:
            state.rename(tmp_path / "away")
            state.write_text("not a directory")

    engine, _ = make(cluster, store, hook=hook)
    with pytest.raises(JournalSaveError) as info:
        run(start(engine, state))
    message = str(info.value)
    assert "cannot save the rotation journal" in message and "--resume" in message
    assert cluster.splits == []
    state.unlink()
    (tmp_path / "away").rename(state)
    journal = Journal.load(state / "j.json")
    assert not journal.finished
    engine2, _ = make(cluster, store)
    assert run(engine2.drive(journal)) == DONE
    assert cluster.settled(NEW) and store.label == NEW and cluster.splits == []


def test_journal_that_cannot_be_saved_at_the_start_changes_nothing(tmp_path):
    from erlcookie.rotate.journal import JournalSaveError

    cluster = FakeCluster(NAMES)
    store = FakeStore()
    (tmp_path / "state").write_text("not a directory")
    engine, _ = make(cluster, store)
    with pytest.raises(JournalSaveError, match="nothing was changed"):
        run(start(engine, tmp_path / "state"))
    assert all(s.own == OLD and not s.pins for s in cluster.nodes.values())
    assert store.writes == []


def test_secrets_file_is_removed_when_the_journal_cannot_be_started(tmp_path, cookies):
    """run.start writes both cookies next to the journal first; if the journal then cannot
    be saved, nothing changed and no cookie may stay behind on disk."""
    from erlcookie.rotate import run as run_mod
    from erlcookie.rotate.journal import JournalSaveError

    cluster = FakeCluster(NAMES)
    store = FakeStore()
    comps = run_mod.Components(FakeOps(cluster), FakeDiscovery(cluster), store)
    state = tmp_path / "state"
    state.mkdir()
    (state / "j.json").mkdir()  # the journal's name is taken by a directory: no save works
    with pytest.raises(JournalSaveError, match="nothing was changed"):
        run(
            run_mod.start(
                RotateSettings(), cookies, state / "j.json", emit=lambda **e: None, components=comps
            )
        )
    assert not (state / "j.json.secrets").exists()
    assert store.writes == [] and all(s.own == OLD for s in cluster.nodes.values())
