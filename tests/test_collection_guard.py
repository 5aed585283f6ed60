"""The collection guard fails a run that silently leaves a test file out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.support.collection_guard",
            "-p",
            "no:cacheprovider",
            "-q",
            *args,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _project(tmp_path: Path, folders: list[str]) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    for folder in folders:
        d = tmp_path / "tests" / folder
        d.mkdir(parents=True)
        (d / f"test_{folder}.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    return tmp_path


def test_a_run_that_collects_every_file_passes(tmp_path):
    result = _run_pytest(_project(tmp_path, ["scan", "rotate"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_a_folder_pytest_skips_fails_the_run_and_is_named(tmp_path):
    # pytest's default norecursedirs holds dist and build: without the guard this run is green
    result = _run_pytest(_project(tmp_path, ["scan", "dist", "build"]))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "tests/dist/test_dist.py" in output
    assert "tests/build/test_build.py" in output
    assert "tests/scan/test_scan.py" not in output


def test_only_the_requested_folders_are_checked(tmp_path):
    project = _project(tmp_path, ["scan", "dist"])
    result = _run_pytest(project, "tests/scan")
    assert result.returncode == 0, result.stdout + result.stderr


def test_deselected_tests_still_count_as_collected(tmp_path):
    result = _run_pytest(_project(tmp_path, ["scan", "rotate"]), "-k", "nothing_matches")
    assert "collection guard" not in result.stdout + result.stderr
