"""The README's first command: `erlcookie doctor examples/leaky-cluster` finds its leaks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "leaky-cluster"


@pytest.mark.skipif(not EXAMPLE.is_dir(), reason="examples/leaky-cluster is not in this checkout")
def test_readme_first_command_runs_doctor_on_the_example():
    readme = (REPO / "README.md").read_text()
    first = re.search(r"# 1\..*\n(.*)\n", readme).group(1)
    assert first.endswith(".venv/bin/erlcookie doctor examples/leaky-cluster"), first
    proc = subprocess.run(
        [sys.executable, "-m", "erlcookie", "doctor", "examples/leaky-cluster", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    rules = {f["rule"] for f in report["findings"]}
    assert {
        "release/mix-literal-cookie",
        "k8s/env-literal-cookie",
        "k8s/envfrom-cookie",
        "EC010",
        "EC012",
    } <= rules
    text = subprocess.run(
        [sys.executable, "-m", "erlcookie", "doctor", "examples/leaky-cluster"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert text.returncode == 1 and "What to do next, in this order:" in text.stdout
