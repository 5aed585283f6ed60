"""Suite-wide fixtures. Subsystem fixtures live in each folder's own conftest.py."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def clean_home(tmp_path, monkeypatch):
    """An empty HOME with no cookie sources in the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("RELEASE_COOKIE", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home
