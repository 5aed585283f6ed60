"""Issue 14 benchmark: recall and precision of `erlcookie scan` on the labelled corpus,
side by side with detect-secrets (all its default plugins) on the same files.

Run: .venv/bin/python benchmarks/bench_scan_recall.py [--rules]

The corpus is tests/scan/corpus, labelled in tests/scan/corpus/labels.json (every literal
cookie by path and line; look-alikes that are not cookies). Both tools run as their CLIs over
the corpus directory; a finding counts for a labelled cookie when it names its file and line
(neither tool prints values), and against precision when its line holds no labelled cookie.
Per-file expectations are in tests/scan/test_corpus.py; this prints the totals, the misses
and the false findings (paths, lines and rule ids only), and the time each tool took.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scan.corpus_labels import CORPUS, load, score

BIN = Path(sys.executable).parent


def run(cmd: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=CORPUS, capture_output=True, text=True, timeout=600, check=False)
    return proc, time.perf_counter() - start


def erlcookie() -> tuple[dict[str, list[tuple[int, str]]], float]:
    proc, elapsed = run(
        [str(BIN / "erlcookie"), "scan", "--json", "--exclude", "labels.json", "-j", "1", "."]
    )
    if proc.returncode not in (0, 1):
        sys.exit(f"erlcookie scan failed ({proc.returncode}): {proc.stderr[-400:]}")
    found: dict[str, list[tuple[int, str]]] = {}
    for f in json.loads(proc.stdout)["findings"]:
        found.setdefault(f["path"], []).append((f["line"], f["rule"]))
    return found, elapsed


def detect_secrets() -> tuple[dict[str, list[tuple[int, str]]], float] | None:
    exe = BIN / "detect-secrets"
    if not exe.exists():
        return None
    proc, elapsed = run([str(exe), "scan", "--all-files", "--exclude-files", "labels\\.json", "."])
    if proc.returncode != 0:
        sys.exit(f"detect-secrets failed ({proc.returncode}): {proc.stderr[-400:]}")
    found: dict[str, list[tuple[int, str]]] = {}
    for path, results in json.loads(proc.stdout)["results"].items():
        for r in results:
            found.setdefault(path.removeprefix("./"), []).append((r["line_number"], r["type"]))
    return found, elapsed


def report(name, found, elapsed, labels, *, details: bool) -> None:
    lines_only = {p: [(line, None) for line, _ in hits] for p, hits in found.items()}
    s = score(lines_only, labels)
    print(
        f"{name:<16} recall {s.recall:6.1%} ({s.found:>3} of {s.labelled})   "
        f"precision {s.precision:6.1%} ({s.false} false of {s.reported})   {elapsed:6.2f} s"
    )
    if not details:
        return
    for path, fl in sorted(labels.items()):
        lines = {line for line, _ in found.get(path, [])}
        for c in fl.cookies + fl.todo:
            if c.line not in lines:
                print(f"    missed  {path}:{c.line} (expected {c.rule or 'any rule'})")
        for line, rule in found.get(path, []):
            if not any(c.line == line for c in fl.cookies + fl.todo):
                print(f"    false   {path}:{line} ({rule})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quiet", action="store_true", help="totals only")
    args = parser.parse_args()
    os.environ.setdefault("NO_COLOR", "1")
    labels = load()
    files = len(labels)
    cookies = sum(len(f.cookies) + len(f.todo) for f in labels.values())
    print(
        f"corpus: {files} files, {cookies} labelled cookies, "
        f"{sum(len(f.not_cookies) for f in labels.values())} labelled look-alikes\n"
    )
    found, elapsed = erlcookie()
    report("erlcookie scan", found, elapsed, labels, details=not args.quiet)
    ds = detect_secrets()
    if ds is None:
        print("detect-secrets    not installed (pip install detect-secrets)")
    else:
        report("detect-secrets", *ds, labels, details=False)


if __name__ == "__main__":
    main()
