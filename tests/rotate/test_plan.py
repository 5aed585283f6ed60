"""The pure model: views, the pair invariant, and steps that keep it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erlcookie.rotate.plan import (
    NEW,
    OLD,
    ClusterModel,
    InvariantError,
    NodeState,
    PairSet,
    Pin,
    SetOwn,
    Switch,
    adopt_steps,
    stale_pins,
    summarize,
    switch_steps,
    unpin_steps,
)


def test_view_is_pin_else_own():
    state = NodeState(NEW, {"b": OLD})
    assert state.view("b") == OLD and state.view("c") == NEW


def test_flipping_without_pins_splits_and_is_caught():
    model = ClusterModel.uniform(["a", "b"], OLD)
    with pytest.raises(InvariantError, match="disagree"):
        model.apply_checked(SetOwn("a", NEW))


def test_pin_then_flip_keeps_pairs():
    model = ClusterModel.uniform(["a", "b", "c"], OLD)
    steps = switch_steps(model, NEW)
    assert steps[0] == Switch("a", (("b", OLD), ("c", OLD)), NEW)
    for step in steps:
        model.apply_checked(step)  # each switch alone keeps every pair
    assert model.own_labels() == {NEW: 3}
    assert model.mismatches() == []
    for step in unpin_steps(model, NEW):
        model.apply_checked(step)
    assert model.settled(NEW)


def test_unpin_alternates_the_acting_end():
    model = ClusterModel(
        {n: NodeState(NEW, {p: OLD for p in "abcdef" if p != n}) for n in "abcdef"}
    )
    steps = unpin_steps(model, NEW)
    assert len(steps) == 15
    acting = [s.node for s in steps]
    assert max(acting.count(n) for n in "abcdef") <= 3  # about half of 5 pairs each


def test_adopt_pins_what_the_newcomer_uses():
    model = ClusterModel({"a": NodeState(NEW, {"b": OLD}), "b": NodeState(NEW, {"a": OLD})})
    steps = adopt_steps(model, "late", {"a": OLD, "b": OLD})
    assert steps == [Pin("a", (("late", OLD),)), Pin("b", (("late", OLD),))]


def test_stale_pins_only_for_names_that_are_not_members():
    model = ClusterModel(
        {"a": NodeState(NEW, {"gone": OLD, "b": OLD, "x": NEW}), "b": NodeState(NEW, {"a": OLD})}
    )
    assert stale_pins(model, NEW) == [Pin("a", (("gone", NEW),))]


def test_roundtrip_dict():
    model = ClusterModel({"a": NodeState(NEW, {"b": OLD}), "b": NodeState(OLD)})
    assert ClusterModel.from_dict(model.to_dict()).to_dict() == model.to_dict()


def test_summary_counts():
    s = summarize(["a@h", "b@h", "c@h", "d@h"], persist="file x")
    assert (s.pins, s.flips, s.pairs) == (12, 4, 6)
    assert any("file x" in line for line in s.lines())


@given(n=st.integers(1, 8), flipped=st.data())
def test_planned_steps_never_split_from_any_partial_switch(n, flipped):
    """From any mix of switched and unswitched nodes (as a crash leaves them), re-planning
    pin -> flip -> unpin keeps every pair agreeing after every single step."""
    names = [f"n{i}" for i in range(n)]
    model = ClusterModel.uniform(names, OLD)
    steps = switch_steps(model, NEW)
    done = flipped.draw(st.lists(st.sampled_from(range(len(steps))), unique=True))
    for index in done:
        model.apply_checked(steps[index])
    for step in switch_steps(model, NEW):
        model.apply_checked(step)
    for step in unpin_steps(model, NEW):
        model.apply_checked(step)
    assert model.settled(NEW)
    # and back again (a rollback is the same plan toward the old cookie)
    for step in switch_steps(model, OLD) + unpin_steps(model, OLD):
        model.apply_checked(step)
    assert model.settled(OLD)


def test_pairset_applies_both_ends():
    model = ClusterModel({"a": NodeState(NEW, {"b": OLD}), "b": NodeState(NEW, {"a": OLD})})
    model.apply_checked(PairSet("a", "b", NEW))
    assert model.settled(NEW)
