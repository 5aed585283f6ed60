"""Label selectors: kubectl's syntax, the API server's matching rules, LabelSelector objects."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erlcookie.errors import UsageError
from erlcookie.k8s.selectors import from_label_selector, parse_selector


@pytest.mark.parametrize(
    "text, labels, expected",
    [
        ("app=chat", {"app": "chat"}, True),
        ("app==chat", {"app": "chat"}, True),
        ("app=chat", {"app": "other"}, False),
        ("app=chat", {}, False),
        ("app!=chat", {}, True),  # != also matches objects without the label
        ("app!=chat", {"app": "chat"}, False),
        ("tier in (web, worker)", {"tier": "worker"}, True),
        ("tier in (web,worker)", {"tier": "db"}, False),
        ("tier notin (db)", {}, True),
        ("tier notin (db)", {"tier": "db"}, False),
        ("app", {"app": ""}, True),
        ("!canary", {"app": "x"}, True),
        ("!canary", {"canary": "1"}, False),
        ("app=chat,tier in (web,worker),!canary", {"app": "chat", "tier": "web"}, True),
        ("app.kubernetes.io/name=chat", {"app.kubernetes.io/name": "chat"}, True),
        ("replicas>2", {"replicas": "3"}, True),
        ("replicas<2", {"replicas": "3"}, False),
        ("", {"anything": "x"}, True),
    ],
)
def test_matching(text, labels, expected):
    assert parse_selector(text).matches(labels) is expected


@pytest.mark.parametrize(
    "text",
    ["app=a b", "=x", "app in (a", "app in a)", "a,,b", "-bad=x", "app in ()x", "x>y", "a=b=c"],
)
def test_bad_selectors_are_usage_errors(text):
    with pytest.raises(UsageError):
        parse_selector(text)


def test_empty_value_is_valid():
    assert parse_selector("app=").matches({"app": ""})


def test_label_selector_object_round_trip():
    sel = parse_selector("app=chat,tier in (web,worker),!canary,env!=dev")
    obj = sel.to_label_selector()
    assert obj == {
        "matchLabels": {"app": "chat"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "worker"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
        ],
    }
    back = from_label_selector(obj)
    for labels in (
        {"app": "chat", "tier": "web"},
        {"app": "chat", "tier": "db"},
        {"app": "chat", "tier": "web", "canary": "y"},
        {"app": "chat", "tier": "web", "env": "dev"},
    ):
        assert back.matches(labels) == sel.matches(labels)


def test_gt_lt_cannot_become_a_label_selector():
    with pytest.raises(UsageError):
        parse_selector("n>1").to_label_selector()


def test_missing_label_selector_selects_nothing():
    assert not from_label_selector(None).matches({"app": "x"})
    assert from_label_selector({}).matches({"app": "x"})  # an empty LabelSelector selects all


names = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@given(
    st.dictionaries(names, names, min_size=1, max_size=4), st.dictionaries(names, names, max_size=5)
)
def test_equality_selector_is_subset_check(wanted, labels):
    text = ",".join(f"{k}={v}" for k, v in wanted.items())
    expected = all(labels.get(k) == v for k, v in wanted.items())
    assert parse_selector(text).matches(labels) is expected
    assert from_label_selector(parse_selector(text).to_label_selector()).matches(labels) is expected
