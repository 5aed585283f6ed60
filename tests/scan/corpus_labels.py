"""The labelled scan corpus (tests/scan/corpus): what is in it, and what the scanner finds there.

Shared by tests/scan/test_corpus.py (per-file expectations, so CI catches a regression) and
benchmarks/bench_scan_recall.py (recall and precision, beside detect-secrets).

labels.json lists, per file, every literal cookie (`cookies`: line, value as written, the
decoded cookie where the file encodes it, and the rule expected to report it) and lines that look like a cookie but are not (`not_cookies`: line and
why). A finding on any line not labelled a cookie counts against precision. The values are
made up for these fixtures; the shapes follow what public projects write.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
LABELS = CORPUS / "labels.json"


@dataclass(frozen=True)
class Hit:
    line: int
    value: str = field(repr=False)  # a cookie: never in a message
    rule: str | None = None
    written: str | None = field(default=None, repr=False)  # as in the file, when encoded


@dataclass
class FileLabels:
    path: str
    cookies: list[Hit]
    not_cookies: list[int]  # lines
    todo: list[Hit]  # cookies the scanner is known to miss (see labels.json "todo")


def load() -> dict[str, FileLabels]:
    doc = json.loads(LABELS.read_text(encoding="utf-8"))
    out = {}
    for path, entry in doc["files"].items():
        cookies = [
            Hit(c["line"], c.get("decoded", c["value"]), c.get("rule"), c["value"])
            for c in entry.get("cookies", [])
        ]
        out[path] = FileLabels(
            path,
            [c for c, raw in zip(cookies, entry.get("cookies", [])) if not raw.get("todo")],
            [n["line"] for n in entry.get("not_cookies", [])],
            [c for c, raw in zip(cookies, entry.get("cookies", [])) if raw.get("todo")],
        )
    return out


def corpus_files() -> list[str]:
    """Every file of the corpus (relative paths), labels.json aside."""
    out = []
    for directory, _, names in os.walk(CORPUS):
        for name in names:
            path = Path(directory, name)
            if path != LABELS:
                out.append(path.relative_to(CORPUS).as_posix())
    return sorted(out)


def scan_file(path: str) -> list[Hit]:
    """What the scanner reports in one corpus file, as the tree scan sees it (prefilter,
    detectors, `erlcookie:allow`), without the audit and fingerprint cost."""
    from erlcookie.scan.detectors import Source, detect_source, needs_scan
    from erlcookie.scan.engine import allowed_lines

    data = (CORPUS / path).read_bytes()
    if not needs_scan(path, data):
        return []
    src = Source(path, data.decode("utf-8", errors="replace"))
    allowed = allowed_lines(src)
    hits = []
    for d in detect_source(src):
        line = src.line_col(d.start)[0]
        key_line = src.line_col(d.key_start)[0] if d.key_start is not None else line
        if line in allowed or key_line in allowed:
            continue
        hits.append(Hit(line, d.value, d.rule_id))
    return hits


@dataclass
class Score:
    labelled: int = 0  # cookies in the labels (todo ones included)
    found: int = 0  # labelled cookies found (same line and value)
    reported: int = 0  # findings
    false: int = 0  # findings on no labelled cookie

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        return (self.reported - self.false) / self.reported if self.reported else 1.0


def score(
    found_by_path: dict[str, list[tuple[int, str | None]]], labels: dict[str, FileLabels]
) -> Score:
    """Recall and precision of findings given as (line, value or None) per path. A value of
    None matches any labelled cookie on that line (for tools that report lines only)."""
    s = Score()
    for path, fl in labels.items():
        expected = fl.cookies + fl.todo
        s.labelled += len(expected)
        reported = found_by_path.get(path, [])
        matched = set()
        for line, value in reported:
            s.reported += 1
            hit = next(
                (
                    i
                    for i, c in enumerate(expected)
                    if i not in matched and c.line == line and (value is None or c.value == value)
                ),
                None,
            )
            if hit is None:
                if not any(
                    c.line == line and (value is None or c.value == value) for c in expected
                ):
                    s.false += 1
                else:
                    s.reported -= 1  # a second report of a cookie already counted
            else:
                matched.add(hit)
        s.found += len(matched)
    return s
