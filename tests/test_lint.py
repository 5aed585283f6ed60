"""ruff (lint and format, configured in pyproject.toml) over the whole tree, as CI runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREE = ["src", "tests", "benchmarks"]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed (it is in the test extra: pip install -e '.[test]')")
    return subprocess.run(
        [ruff, *args, *TREE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_ruff_lint_passes():
    result = _ruff("check", "--no-cache", "--output-format", "concise")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-1000:]


def test_ruff_format_leaves_the_tree_as_it_is():
    result = _ruff("format", "--no-cache", "--check")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-1000:]
