"""Fixtures for doctor: the issue's project (built once per session, copied per test), the
CLI with stdout and stderr apart, and the local Kubernetes API server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.doctor.project import fresh_cookie, make_project
from tests.k8s.conftest import kube, run_cli  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> tuple[Path, Path, str]:
    """(the project, the tools' private HOME, the literal cookie the cluster runs)."""
    base = tmp_path_factory.mktemp("doctor-template")
    cookie = fresh_cookie()
    root = make_project(base, base / "home", cookie)
    return root, base / "home", cookie


@pytest.fixture
def project(template, tmp_path) -> tuple[Path, str]:
    """A fresh copy of the project (a git repository) and its running cookie."""
    root, _, cookie = template
    copy = tmp_path / "shop"
    shutil.copytree(root, copy, symlinks=True)
    return copy, cookie
