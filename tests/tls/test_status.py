"""`tls status` findings on real certificate directories."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from erlcookie.errors import UsageError
from erlcookie.tls import status, store


@pytest.fixture
def pki_dir(tmp_path):
    store.init_ca(tmp_path, "CA", days=365)
    store.issue_node(tmp_path, "app", ["localhost"], days=90)
    return tmp_path


def _by_name(entries):
    return {e.name: e for e in entries}


def test_a_fresh_directory_is_ok(pki_dir):
    entries = status.inspect(pki_dir, warn_days=30)
    assert [e.name for e in entries] == ["ca", "app"]
    assert all(e.state == "ok" and not e.problems for e in entries)
    assert not status.failing(entries)
    data = entries[1].to_json()
    assert data["sans"] == ["localhost"] and 89 < data["days_left"] <= 90
    assert set(data) == {
        "name",
        "path",
        "role",
        "state",
        "subject",
        "sans",
        "not_before",
        "not_after",
        "days_left",
        "sha256",
        "problems",
    }


def test_expiring_and_expired(pki_dir):
    assert _by_name(status.inspect(pki_dir, warn_days=100))["app"].state == "expiring"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=120)
    entries = _by_name(status.inspect(pki_dir, at=later))
    assert entries["app"].state == "expired" and entries["ca"].state == "ok"
    assert status.failing(entries.values())


def test_problems_are_found(pki_dir, tmp_path_factory):
    os.chmod(pki_dir / "app.key", 0o644)
    other = tmp_path_factory.mktemp("other")
    store.init_ca(other, "Other")
    store.issue_node(other, "stranger", [])
    for name in ("stranger.pem", "stranger.key"):
        (pki_dir / name).write_bytes((other / name).read_bytes())
        os.chmod(pki_dir / name, 0o600)
    store.issue_node(pki_dir, "lost", [])
    (pki_dir / "lost.key").unlink()
    (pki_dir / "junk.pem").write_text("not a certificate")
    entries = _by_name(status.inspect(pki_dir))
    assert any("others can read it" in p for p in entries["app"].problems)
    assert entries["stranger"].problems == ["not signed by this directory's CA"]
    assert entries["lost"].problems == ["no lost.key next to it"]
    assert entries["junk"].state == "invalid"
    assert all(entries[n].state == "invalid" for n in ("app", "stranger", "lost"))


def test_empty_or_missing_directory_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        status.inspect(tmp_path / "nope")
    with pytest.raises(UsageError):
        status.inspect(tmp_path)


def test_the_kubernetes_layout_is_read_too(tmp_path):
    """tls.crt/tls.key/ca.crt, as a kubernetes.io/tls Secret mounts them."""
    source = tmp_path / "src"
    store.init_ca(source, "CA")
    store.issue_node(source, "tls", ["app-0"])
    mounted = tmp_path / "etc-tls"
    mounted.mkdir()
    for src, dst, mode in (
        ("ca.pem", "ca.crt", 0o644),
        ("tls.pem", "tls.crt", 0o644),
        ("tls.key", "tls.key", 0o400),
    ):
        (mounted / dst).write_bytes((source / src).read_bytes())
        os.chmod(mounted / dst, mode)
    entries = status.inspect(mounted)
    assert [(e.name, e.role, e.state, e.problems) for e in entries] == [
        ("ca", "ca", "ok", []),
        ("tls", "node", "ok", []),
    ]
