"""The certificate directory: modes, refusals, and keys that never leave their files."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from erlcookie.errors import UsageError
from erlcookie.tls import pki, store


def _mode(path):
    return os.stat(path).st_mode & 0o777


def test_init_then_issue_writes_private_keys(tmp_path):
    directory = tmp_path / "tls"
    ca = store.init_ca(directory, "CA")
    assert _mode(directory) == 0o700
    assert _mode(ca.key_path) == 0o600 and _mode(ca.cert_path) == 0o644
    node = store.issue_node(directory, "app", ["localhost", "127.0.0.1"])
    assert node.cert_path == directory / "app.pem" and node.key_path == directory / "app.key"
    assert _mode(node.key_path) == 0o600
    assert pki.signed_by(node.cert, ca.cert)
    assert pki.key_matches(store.read_key(node.key_path), node.cert)
    assert sorted(p.name for p in directory.iterdir()) == ["app.key", "app.pem", "ca.key", "ca.pem"]


def test_keys_stay_private_under_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        ca = store.init_ca(tmp_path / "tls", "CA")
        node = store.issue_node(tmp_path / "tls", "app", [])
    finally:
        os.umask(old)
    assert _mode(ca.key_path) == 0o600 and _mode(node.key_path) == 0o600


def test_nothing_is_replaced_without_overwrite(tmp_path):
    directory = tmp_path / "tls"
    first = store.init_ca(directory, "CA")
    before = first.key_path.read_bytes()
    with pytest.raises(UsageError, match="refusing to replace"):
        store.init_ca(directory, "CA")
    assert first.key_path.read_bytes() == before
    store.issue_node(directory, "app", [])
    node_key = (directory / "app.key").read_bytes()
    with pytest.raises(UsageError, match="refusing to replace"):
        store.issue_node(directory, "app", [])
    assert (directory / "app.key").read_bytes() == node_key
    replaced = store.issue_node(directory, "app", [], overwrite=True)
    assert replaced.key_path.read_bytes() != node_key
    again = store.init_ca(directory, "CA", overwrite=True)
    assert again.key_path.read_bytes() != before


@pytest.mark.parametrize(
    "name", ["ca", "../x", "a/b", ".hidden", "x.pem", "x.key", "", "a b", "app\n", "app\n.x"]
)
def test_bad_names_are_refused(tmp_path, name):
    store.init_ca(tmp_path, "CA")
    with pytest.raises(UsageError):
        store.issue_node(tmp_path, name, [])


def test_issue_needs_a_ca_whose_key_matches(tmp_path):
    with pytest.raises(UsageError, match="tls init"):
        store.issue_node(tmp_path, "app", [])
    store.init_ca(tmp_path / "a", "A")
    store.init_ca(tmp_path / "b", "B")
    (tmp_path / "a" / "ca.key").write_bytes((tmp_path / "b" / "ca.key").read_bytes())
    with pytest.raises(UsageError, match="does not belong"):
        store.issue_node(tmp_path / "a", "app", [])
    assert not (tmp_path / "a" / "app.key").exists()


def test_a_bad_san_writes_nothing(tmp_path):
    store.init_ca(tmp_path, "CA")
    with pytest.raises(UsageError):
        store.issue_node(tmp_path, "app", ["ok.example", "not a host"])
    assert not (tmp_path / "app.key").exists() and not (tmp_path / "app.pem").exists()


def test_a_broken_key_file_is_named_not_shown(tmp_path):
    store.init_ca(tmp_path, "CA")
    secret_looking = (
        b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXZhbHVlLWhlcmU=\n-----END PRIVATE KEY-----\n"
    )
    (tmp_path / "ca.key").write_bytes(secret_looking)
    with pytest.raises(UsageError) as info:
        store.load_ca(tmp_path)
    assert "ca.key" in str(info.value) and "c2VjcmV0" not in str(info.value)


def test_expired_certificates_can_be_made_for_tests(tmp_path):
    store.init_ca(tmp_path, "CA")
    now = dt.datetime.now(dt.UTC)
    old = store.issue_node(
        tmp_path,
        "old",
        [],
        not_before=now - dt.timedelta(days=3),
        not_after=now - dt.timedelta(days=1),
    )
    assert pki.facts(old.cert).days_left() < 0


def test_an_expired_ca_signs_nothing(tmp_path):
    import datetime as dt

    from erlcookie.cookie.files import atomic_write

    now = dt.datetime.now(dt.UTC)
    key, cert = pki.make_ca("old CA", days=1, not_before=now - dt.timedelta(days=3))
    atomic_write(tmp_path / "ca.key", pki.key_pem(key), mode=0o600)
    atomic_write(tmp_path / "ca.pem", pki.cert_pem(cert), mode=0o644)
    with pytest.raises(UsageError, match="CA expired"):
        store.issue_node(tmp_path, "app", [])
    assert not (tmp_path / "app.key").exists()
