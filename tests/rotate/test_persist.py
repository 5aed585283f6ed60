"""Persisting the new cookie: a Secret (both keys until the end, 409 retried), a file, a hook."""

from __future__ import annotations

import asyncio
import base64
import os
import stat

import pytest

from erlcookie.errors import OperationalError, UsageError
from erlcookie.rotate.persist import CommandPersister, FilePersister, SecretPersister
from erlcookie.rotate.plan import NEW, OLD, OTHER

from tests.support.rotate_cluster import assert_no_cookie, read_cookie, secret_labels

from .conftest import NAMESPACE


def run(coro):
    return asyncio.run(coro)


def b64(cookie) -> str:
    return base64.b64encode(cookie.as_bytes()).decode()


def secret_data(kube_server, name="erlang-cookie") -> dict:
    return kube_server.get("Secret", name, NAMESPACE)["data"]


def secret_keys(kube_server, cookies, name="erlang-cookie") -> dict:
    """{key: label} of the Secret's cookie keys (other keys as they are)."""
    data = secret_data(kube_server, name)
    labels = secret_labels({k: v for k, v in data.items() if k.startswith("cookie") or k == "prev"},
                           cookies)
    return {**{k: v for k, v in data.items() if k not in labels}, **labels}


@pytest.fixture
def secret(kube_server, cookies):
    kube_server.add({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                     "metadata": {"name": "erlang-cookie", "namespace": NAMESPACE},
                     "data": {"cookie": b64(cookies[OLD]), "other": "eA=="}})
    return "erlang-cookie"


def test_secret_keeps_the_old_cookie_beside_the_new_until_finalize(kube_api, kube_server, secret,
                                                                   cookies):
    store = SecretPersister(kube_api, secret, cookies)
    assert run(store.current()) == OLD
    run(store.store(NEW, keep_previous=True))
    # unrelated keys untouched
    assert secret_keys(kube_server, cookies) == {"cookie": NEW, "cookie.old": OLD, "other": "eA=="}
    assert run(store.read_previous()) == OLD
    run(store.finalize(NEW))
    assert secret_keys(kube_server, cookies) == {"cookie": NEW, "other": "eA=="}


def test_secret_update_conflict_is_retried(kube_api, kube_server, secret, cookies):
    store = SecretPersister(kube_api, secret, cookies)
    kube_server.fail_next("PATCH", "secrets", secret, status=409, count=2)
    info = run(store.store(NEW, keep_previous=True))
    assert info["conflicts_retried"] == 2
    assert secret_keys(kube_server, cookies)["cookie"] == NEW
    kube_server.fail_next("PATCH", "secrets", secret, status=409, count=1)
    assert run(store.finalize(NEW)) == {"conflicts_retried": 1}  # finalize counts its own
    assert "cookie.old" not in secret_data(kube_server)


def test_secret_concurrent_writer_is_not_overwritten(kube_api, kube_server, secret, cookies):
    """Someone else changes the Secret between our read and our write: a key we do not
    touch lands without a conflict; a key we touch makes the patch's test fail, and we
    decide again on fresh data. Their changes survive either way."""
    def other_writer(server):
        server.update("Secret", secret, lambda s: s["data"].update({"added": "eQ=="}),
                      namespace=NAMESPACE)

    kube_server.before_next("PATCH", "secrets", secret, other_writer)
    info = run(SecretPersister(kube_api, secret, cookies).store(NEW, keep_previous=True))
    keys = secret_keys(kube_server, cookies)
    assert info["conflicts_retried"] == 0
    assert keys["added"] == "eQ==" and keys["cookie"] == NEW

    def rival(server):
        server.update("Secret", secret, lambda s: s["data"].update({"cookie.old": "eQ=="}),
                      namespace=NAMESPACE)

    kube_server.before_next("PATCH", "secrets", secret, rival)
    info = run(SecretPersister(kube_api, secret, cookies).store(OLD, keep_previous=True))
    assert info["conflicts_retried"] == 1
    assert secret_keys(kube_server, cookies)["cookie.old"] == NEW


def test_secret_rollback_store_drops_the_second_key(kube_api, kube_server, secret, cookies):
    store = SecretPersister(kube_api, secret, cookies, key="cookie", previous_key="prev")
    run(store.store(NEW, keep_previous=True))
    run(store.store(OLD, keep_previous=False))
    assert secret_keys(kube_server, cookies) == {"cookie": OLD, "other": "eA=="}


def test_missing_secret_is_a_usage_error(kube_api, cookies):
    with pytest.raises(UsageError, match="does not exist"):
        run(SecretPersister(kube_api, "nope", cookies).current())


def test_secret_with_a_third_cookie(kube_api, kube_server, cookies):
    kube_server.add({"apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": "s", "namespace": NAMESPACE},
                     "data": {"cookie": base64.b64encode(b"something-else").decode()}})
    assert run(SecretPersister(kube_api, "s", cookies).current()) == OTHER


def test_file_store_is_atomic_private_and_labels(tmp_path, cookies):
    path = tmp_path / "cookie"
    store = FilePersister(path, cookies)
    assert run(store.current()) is None
    run(store.store(NEW, keep_previous=True))
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert run(store.current()) == NEW
    os.chmod(path, 0o640)  # a sloppy mode is not kept: owner bits only
    run(store.store(OLD, keep_previous=False))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run(store.current()) == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["cookie"]  # no temporary file left


def test_file_store_in_a_missing_directory(tmp_path, cookies):
    with pytest.raises(UsageError, match="directory does not exist"):
        run(FilePersister(tmp_path / "no" / "cookie", cookies).current())


def test_command_gets_the_cookie_on_stdin_only(tmp_path, cookies):
    out = tmp_path / "got"
    argv_file = tmp_path / "argv"
    store = CommandPersister(f"cat > {out}; echo \"$0 $*\" > {argv_file}; "
                             f"env > {tmp_path / 'env'}", cookies)
    run(store.store(NEW, keep_previous=True))
    assert read_cookie(out) == cookies[NEW], "the hook got another cookie"
    env = (tmp_path / "env").read_text()
    assert f"ERLCOOKIE_FINGERPRINT={cookies[NEW].fingerprint()}" in env
    assert_no_cookie(env + argv_file.read_text(), *cookies.values())


def test_command_failure_is_reported_without_the_cookie(cookies):
    store = CommandPersister("cat >&2; exit 7", cookies)
    with pytest.raises(OperationalError) as info:
        run(store.store(NEW, keep_previous=True))
    assert "exited with 7" in str(info.value)
    assert_no_cookie(str(info.value), *cookies.values())


def test_command_timeout(cookies):
    store = CommandPersister("sleep 30", cookies, timeout=0.3)
    with pytest.raises(OperationalError, match="did not finish"):
        run(store.store(NEW, keep_previous=True))
