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
from tests.support.rotate_cluster import assert_no_cookie, read_cookie, secret_labels, write_cookie

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
    labels = secret_labels(
        {k: v for k, v in data.items() if k.startswith("cookie") or k == "prev"}, cookies
    )
    return {**{k: v for k, v in data.items() if k not in labels}, **labels}


@pytest.fixture
def secret(kube_server, cookies):
    kube_server.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "erlang-cookie", "namespace": NAMESPACE},
            "data": {"cookie": b64(cookies[OLD]), "other": "eA=="},
        }
    )
    return "erlang-cookie"


def test_secret_keeps_the_old_cookie_beside_the_new_until_finalize(
    kube_api, kube_server, secret, cookies
):
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
        server.update(
            "Secret", secret, lambda s: s["data"].update({"added": "eQ=="}), namespace=NAMESPACE
        )

    kube_server.before_next("PATCH", "secrets", secret, other_writer)
    info = run(SecretPersister(kube_api, secret, cookies).store(NEW, keep_previous=True))
    keys = secret_keys(kube_server, cookies)
    assert info["conflicts_retried"] == 0
    assert keys["added"] == "eQ==" and keys["cookie"] == NEW

    def rival(server):
        server.update(
            "Secret",
            secret,
            lambda s: s["data"].update({"cookie.old": "eQ=="}),
            namespace=NAMESPACE,
        )

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
    kube_server.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": NAMESPACE},
            "data": {"cookie": base64.b64encode(b"something-else").decode()},
        }
    )
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
    store = CommandPersister(
        f'cat > {out}; echo "$0 $*" > {argv_file}; env > {tmp_path / "env"}', cookies
    )
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


# -- a cookie file keeps its owner (Debian's /var/lib/rabbitmq/.erlang.cookie) ---------------
NOBODY = 65534


def as_root():
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root (CI runs the tests as root)")


@pytest.mark.parametrize("mode", [0o400, 0o600])
def test_file_store_keeps_another_users_file_owner_group_and_mode(tmp_path, cookies, mode):
    as_root()
    path = tmp_path / ".erlang.cookie"
    write_cookie(path, cookies[OLD], mode=mode)
    os.chown(path, NOBODY, NOBODY)
    store = FilePersister(path, cookies)
    assert run(store.current()) == OLD
    info = run(store.store(NEW, keep_previous=True))
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOBODY, mode)
    assert info["owner"] == f"{NOBODY}:{NOBODY}" and info["mode"] == f"{mode:04o}"
    assert read_cookie(path) == cookies[NEW]
    assert [p.name for p in tmp_path.iterdir()] == [".erlang.cookie"]


def test_file_store_refuses_a_new_file_in_another_users_directory(tmp_path, cookies):
    as_root()
    home = tmp_path / "rabbitmq"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    with pytest.raises(UsageError, match="--persist-owner"):
        run(FilePersister(home / ".erlang.cookie", cookies).current())
    store = FilePersister(home / ".erlang.cookie", cookies, owner=(NOBODY, NOBODY))
    assert run(store.current()) is None
    run(store.store(NEW, keep_previous=True))
    st = (home / ".erlang.cookie").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOBODY, 0o400)


def test_file_store_refuses_an_owner_it_would_change(tmp_path, cookies):
    as_root()
    path = write_cookie(tmp_path / "cookie", cookies[OLD], mode=0o400)
    os.chown(path, NOBODY, NOBODY)
    with pytest.raises(UsageError, match="not to the --persist-owner"):
        run(FilePersister(path, cookies, owner=(0, 0)).current())
    st = path.stat()
    assert (st.st_uid, read_cookie(path)) == (NOBODY, cookies[OLD])


def test_file_store_refuses_a_symlink(tmp_path, cookies):
    real = write_cookie(tmp_path / "real", cookies[OLD], mode=0o400)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UsageError, match="not a regular file"):
        run(FilePersister(tmp_path / "link", cookies).current())


# -- a failing command's stderr never carries a cookie, in any encoding -----------------------
ENCODERS = {
    "raw": "cat",
    # the cookie 12 characters before the 300-character cut: cut first, its tail survived
    "raw-across-the-cut": "tr -d '\\n'; printf '%0270d' 0",
    "base64": "base64 -w0",
    "base64-no-newline": "tr -d '\\n' | base64 -w0",
    "base64-unpadded": "tr -d '\\n' | base64 -w0 | tr -d =",
    "base64-urlsafe": "tr -d '\\n' | base64 -w0 | tr '+/' '-_'",
    "base64-after-1": "(printf x; cat) | tr -d '\\n' | base64 -w0",
    "base64-after-2": "(printf xy; cat) | tr -d '\\n' | base64 -w0",
    "hex": "tr -d '\\n' | od -An -tx1 | tr -d ' \\n'",
    "HEX": "tr -d '\\n' | od -An -tx1 | tr -d ' \\n' | tr a-f A-F",
}


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_command_failure_scrubs_every_encoding_before_cutting(cookies, encoding):
    import binascii

    store = CommandPersister(
        f"{{ {ENCODERS[encoding]}; }} >&2; echo ' (persist failed)' >&2; exit 4", cookies
    )
    with pytest.raises(OperationalError) as info:
        run(store.store(NEW, keep_previous=True))
    message = str(info.value)
    assert "exited with 4" in message and "<redacted>" in message
    value = cookies[NEW].as_bytes()
    # no run of 6 characters of the cookie in any of its forms survives
    forms = [value, value.hex().encode(), value.hex().upper().encode()]
    for skew in range(3):
        core = base64.b64encode(b"\0" * skew + value)[4:-4]
        forms += [core, core.translate(bytes.maketrans(b"+/", b"-_"))]
    for form in forms:
        for i in range(len(form) - 6):
            assert form[i : i + 6].decode() not in message, (
                f"{encoding}: a piece of the cookie survived ({cookies[NEW].fingerprint()})"
            )
    assert binascii.hexlify(value[-4:]).decode() not in message.lower()


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a container's init)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_command_interrupted_is_stopped_before_we_return(tmp_path, cookies):
    """Cancelling the store (what Ctrl-C does to the running rotation) ends the command and
    every process it started, even one that ignores SIGTERM, before the cancellation
    completes: nothing writes a cookie after erlcookie exited."""
    import time

    pidfile, late = tmp_path / "pid", tmp_path / "late"
    store = CommandPersister(
        f"cat > /dev/null; (trap '' TERM; sleep 2; echo late > {late}) & echo $! > {pidfile}; wait",
        cookies,
    )

    async def interrupt():
        task = asyncio.ensure_future(store.store(NEW, keep_previous=True))
        for _ in range(250):
            await asyncio.sleep(0.02)
            if pidfile.exists() and pidfile.read_text().strip():
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic()

    cancelled = run(interrupt())
    assert not running(int(pidfile.read_text()))
    time.sleep(max(0.0, cancelled + 2.5 - time.monotonic()))
    assert not late.exists(), "a process the persist command started outlived the rotation"
