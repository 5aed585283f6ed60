"""Fail the run when a test file under a collected folder was never collected.

pytest silently skips folders it takes for build output (its default `norecursedirs` holds
`dist` and `build`), and a file whose name the configuration does not match is never read:
either way a whole folder of tests can guard nothing while the run stays green. This plugin
lists every `test_*.py` below each directory the run was asked to collect and fails the
session, naming the files, when pytest produced no collection report for one of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_seen: set[str] = set()  # node ids' file parts, relative to the rootdir


def pytest_collectreport(report: pytest.CollectReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    if path:
        _seen.add(path)


def _requested_dirs(session: pytest.Session) -> list[Path]:
    config = session.config
    base = Path(config.invocation_params.dir)
    args = [a.split("::", 1)[0] for a in config.args]
    dirs = [(base / a).resolve() for a in args]
    return [d for d in dirs if d.is_dir()]


def uncollected(session: pytest.Session) -> list[Path]:
    """Test files below the requested folders that pytest never opened."""
    rootpath = session.config.rootpath
    seen = {(rootpath / p).resolve() for p in _seen}
    missing = []
    for root in _requested_dirs(session):
        for path in sorted(root.rglob("test_*.py")):
            if "__pycache__" in path.parts:
                continue
            if path.resolve() not in seen:
                missing.append(path)
    return missing


def pytest_collection_finish(session: pytest.Session) -> None:
    missing = uncollected(session)
    if missing:
        rel = [
            str(p.relative_to(Path(session.config.invocation_params.dir)))
            if p.is_relative_to(session.config.invocation_params.dir)
            else str(p)
            for p in missing
        ]
        raise pytest.UsageError(
            "collection guard: these test files were never collected, so this run does not "
            "test them (a folder pytest skips, such as dist/ or build/, or a name the "
            "configuration does not match): " + ", ".join(rel)
        )
