"""Suite-wide fixtures. Subsystem fixtures live in each folder's own conftest.py."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.support.collection_guard"]

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


# -- no test output may contain a cookie we generated -----------------------------------
# Every cookie made through erlcookie.cookie.generate during the run is remembered; a test
# whose captured output or failure text contains one fails, and the text is redacted
# before pytest shows it.
import erlcookie.cookie.generate as _generate_module  # noqa: E402

_GENERATED: set[str] = set()
_real_generate = _generate_module.generate


def _recording_generate(*args, **kwargs):
    cookie = _real_generate(*args, **kwargs)
    if len(cookie) >= 12:  # short test cookies could collide with ordinary text
        _GENERATED.add(cookie.reveal())
    return cookie


_generate_module.generate = _recording_generate


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not _GENERATED:
        return
    texts = [report.longreprtext] + [
        content for name, content in report.sections if name.endswith(report.when)
    ]
    leaked = [c for c in _GENERATED if any(c in t for t in texts)]
    if not leaked:
        return
    from erlcookie.cookie.fingerprint import fingerprint

    def scrub(text):
        for c in leaked:
            text = text.replace(c, "<redacted cookie>")
        return text

    report.sections = [(name, scrub(content)) for name, content in report.sections]
    report.longrepr = scrub(report.longreprtext) + (
        "\n\nerlcookie leak guard: the output of this test contains generated cookie(s) "
        + ", ".join(fingerprint(c) for c in leaked)
        + " (redacted above)"
    )
    report.outcome = "failed"
