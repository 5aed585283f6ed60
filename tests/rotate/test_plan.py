"""The pure model: views, the pair invariant, and steps that keep it."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from erlcookie.rotate.plan import (NEW, OLD, ClusterModel, InvariantError, NodeState, PairSet,
                                   Pin, SetOwn, adopt_steps, departed_pins, flip_steps, pin_steps,
                                   summarize, unpin_steps)


def test_view_is_pin_else_own():
    state = NodeState(NEW, {"b": OLD})
    assert state.view("b") == OLD and state.view("c") == NEW


def test_flipping_without_pins_splits_and_is_caught():
    model = ClusterModel.uniform(["a", "b"], OLD)
    with pytest.raises(InvariantError, match="disagree"):
        model.apply_checked(SetOwn("a", NEW))


def test_pin_then_flip_keeps_pairs():
    model = ClusterModel.uniform(["a", "b", "c"], OLD)
    for step in pin_steps(model, NEW) + flip_steps(model, NEW):
        model.apply_checked(step)
    assert model.own_labels() == {NEW: 3}
    assert model.mismatches() == []
    for step in unpin_steps(model, NEW):
        model.apply_checked(step)
    assert model.settled(NEW)


def test_unpin_alternates_the_acting_end():
    model = ClusterModel({n: NodeState(NEW, {p: OLD for p in "abcdef" if p != n}) for n in "abcdef"})
    steps = unpin_steps(model, NEW)
    assert len(steps) == 15
    acting = [s.node for s in steps]
    assert max(acting.count(n) for n in "abcdef") <= 3  # about half of 5 pairs each


def test_adopt_pins_what_the_newcomer_uses():
    model = ClusterModel({"a": NodeState(NEW, {"b": OLD}), "b": NodeState(NEW, {"a": OLD})})
    steps = adopt_steps(model, "late", {"a": OLD, "b": OLD})
    assert steps == [Pin("a", (("late", OLD),)), Pin("b", (("late", OLD),))]


def test_departed_pins_only_for_stale_names():
    steps = departed_pins({"a": {"gone": OLD, "b": OLD}}, ["a", "b"], NEW)
    assert steps == [Pin("a", (("gone", NEW),))]


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
    for step in pin_steps(model, NEW):
        model.apply_checked(step)
    done = flipped.draw(st.lists(st.sampled_from(names), unique=True))
    for name in done:
        model.apply_checked(SetOwn(name, NEW))
    for step in pin_steps(model, NEW) + flip_steps(model, NEW) + unpin_steps(model, NEW):
        model.apply_checked(step)
    assert model.settled(NEW)
    # and back again (a rollback is the same plan toward the old cookie)
    for step in pin_steps(model, OLD) + flip_steps(model, OLD) + unpin_steps(model, OLD):
        model.apply_checked(step)
    assert model.settled(OLD)


def test_pairset_applies_both_ends():
    model = ClusterModel({"a": NodeState(NEW, {"b": OLD}), "b": NodeState(NEW, {"a": OLD})})
    model.apply_checked(PairSet("a", "b", NEW))
    assert model.settled(NEW)
