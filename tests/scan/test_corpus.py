"""The labelled corpus: per file, the scanner reports exactly the labelled cookies.

The corpus (tests/scan/corpus, labels in labels.json) holds files in the shapes public
projects write: HOCON and Erlang-term config, cuttlefish schemas, Helm values and `--set`,
Markdown fences, JSON manifests, Terraform, kubectl, Ansible, launch.json, shell variables,
Elixir fallbacks; and the look-alikes that are not cookies. Messages name lines and rules,
never values.
"""

from __future__ import annotations

import pytest

from tests.scan.corpus_labels import CORPUS, corpus_files, load, scan_file, score

LABELS = load()


def test_every_corpus_file_is_labelled():
    assert sorted(LABELS) == corpus_files(), "labels.json and the corpus list different files"


@pytest.mark.parametrize("path", sorted(LABELS))
def test_labels_point_at_their_values(path):
    lines = (CORPUS / path).read_text(encoding="utf-8").split("\n")
    for hit in LABELS[path].cookies + LABELS[path].todo:
        assert (hit.written or hit.value) in lines[hit.line - 1], (
            f"{path}: label for line {hit.line} is stale"
        )


@pytest.mark.parametrize("path", sorted(LABELS))
def test_scan_reports_exactly_the_labelled_cookies(path):
    labels = LABELS[path]
    found = scan_file(path)
    missed = [
        f"line {c.line} ({c.rule or 'any rule'})"
        for c in labels.cookies
        if not any(h.line == c.line and h.value == c.value for h in found)
    ]
    false = [
        f"line {h.line} ({h.rule})"
        for h in found
        if not any(h.line == c.line and h.value == c.value for c in labels.cookies + labels.todo)
    ]
    wrong_rule = [
        f"line {c.line}: {h.rule}, expected {c.rule}"
        for c in labels.cookies
        for h in found
        if h.line == c.line and h.value == c.value and c.rule and h.rule != c.rule
    ]
    still_missed = [
        c for c in labels.todo if not any(h.line == c.line and h.value == c.value for h in found)
    ]
    assert not missed, f"{path}: missed cookies on " + ", ".join(missed)
    assert not false, f"{path}: findings on lines holding no cookie: " + ", ".join(false)
    assert not wrong_rule, f"{path}: wrong rule: " + "; ".join(wrong_rule)
    assert len(still_missed) == len(labels.todo), (
        f"{path}: a cookie labelled todo is found now; drop its todo mark"
    )


def test_corpus_recall_and_precision_meet_the_goal():
    found = {p: [(h.line, h.value) for h in scan_file(p)] for p in LABELS}
    s = score(found, LABELS)
    assert s.labelled >= 50
    assert s.recall >= 0.95, f"recall {s.recall:.1%} ({s.found} of {s.labelled})"
    assert s.precision >= 0.95, f"precision {s.precision:.1%} ({s.false} false of {s.reported})"
