"""The journal: private, atomic, resumable, and never holding a cookie value."""

from __future__ import annotations

import json
import os
import stat

import pytest

from erlcookie.cookie.generate import generate
from erlcookie.errors import OperationalError, UsageError
from erlcookie.rotate import journal as jmod
from erlcookie.rotate.plan import NEW, OLD, ClusterModel
from erlcookie.rotate.settings import RotateSettings
from tests.support.rotate_cluster import assert_no_cookie


@pytest.fixture
def cookies():
    return {OLD: generate("elixir"), NEW: generate("elixir")}


def make(path, cookies, secrets_file=None):
    model = ClusterModel.uniform(["a@h", "b@h"], OLD)
    return jmod.Journal.create(
        path,
        old_fingerprint=cookies[OLD].fingerprint(),
        new_fingerprint=cookies[NEW].fingerprint(),
        members=model.members,
        model=model,
        settings=RotateSettings(),
        secrets_file=secrets_file,
    )


def test_saved_private_and_roundtrips(tmp_path, cookies):
    path = tmp_path / "state" / "j.json"
    journal = make(path, cookies)
    journal.phase("switch", "start")
    journal.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = jmod.Journal.load(path)
    assert loaded.members == ["a@h", "b@h"] and loaded.phase_status("switch") == "start"
    assert loaded.fingerprints[OLD] == cookies[OLD].fingerprint()
    text = path.read_text()
    assert_no_cookie(text, cookies[OLD], cookies[NEW])


def test_secrets_file_private_checked_and_removed(tmp_path, cookies):
    journal_path = tmp_path / "j.json"
    secrets = jmod.secrets_path_for(journal_path)
    jmod.write_secrets(secrets, cookies[OLD], cookies[NEW])
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    journal = make(journal_path, cookies, str(secrets))
    back = jmod.read_secrets(secrets, journal.fingerprints)
    assert back[OLD] == cookies[OLD] and back[NEW] == cookies[NEW]
    jmod.remove_secrets(secrets)
    with pytest.raises(UsageError, match="secrets file"):
        jmod.read_secrets(secrets, journal.fingerprints)


def test_secrets_file_with_other_cookies_is_refused(tmp_path, cookies):
    secrets = tmp_path / "s"
    jmod.write_secrets(secrets, generate("elixir"), cookies[NEW])
    journal = make(tmp_path / "j.json", cookies)
    with pytest.raises(UsageError, match="not the one this rotation started with"):
        jmod.read_secrets(secrets, journal.fingerprints)


def test_group_readable_journal_is_refused(tmp_path, cookies):
    journal = make(tmp_path / "j.json", cookies)
    journal.save()
    os.chmod(journal.path, 0o640)
    with pytest.raises(UsageError, match="chmod 600"):
        jmod.Journal.load(journal.path)


@pytest.mark.parametrize(
    "content", ["not json", json.dumps({"version": 99}), json.dumps({"version": 1})]
)
def test_damaged_journal_is_an_operational_error(tmp_path, content):
    path = tmp_path / "j.json"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(OperationalError):
        jmod.Journal.load(path)


def test_missing_journal_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no rotation journal"):
        jmod.Journal.load(tmp_path / "nope.json")


def test_start_rollback_resets_phases_and_remembers_the_store(tmp_path, cookies):
    journal = make(tmp_path / "j.json", cookies)
    journal.phase("preflight", "done")
    journal.phase("switch", "done")
    journal.set_persisted("started")
    journal.start_rollback("switch failed")
    assert journal.direction == "rollback" and journal.target == OLD
    assert list(journal.data["phases"]) == ["preflight"]
    assert journal.data["store_touched"] is True and journal.persisted == "no"


def test_lock_refuses_a_second_holder(tmp_path):
    path = tmp_path / "j.json"
    with jmod.locked(path):
        with pytest.raises(UsageError, match="another `erlcookie rotate`"):
            with jmod.locked(path):
                pass
    with jmod.locked(path):  # released
        pass


def test_default_path_follows_xdg(tmp_path):
    assert (
        jmod.default_journal_path({"XDG_STATE_HOME": str(tmp_path), "HOME": "/x"})
        == tmp_path / "erlcookie" / "rotate.journal.json"
    )
    assert (
        str(jmod.default_journal_path({"HOME": "/home/u"}))
        == "/home/u/.local/state/erlcookie/rotate.journal.json"
    )


# -- trust: only our own files, in a directory others cannot use to swap them ----------------
NOBODY = 65534


def as_root():
    if os.geteuid() != 0:
        pytest.skip("files of another user need root to make (CI runs the tests as root)")


def test_journal_of_another_user_is_refused(tmp_path, cookies):
    """Another user's journal would choose the persist command run with the new cookie on
    its stdin, the nodes dialled and the secrets file: never loaded."""
    as_root()
    journal = make(tmp_path / "j.json", cookies)
    journal.save()
    os.chown(journal.path, NOBODY, NOBODY)
    with pytest.raises(UsageError, match=r"belongs to .*uid 65534.*refusing to trust it"):
        jmod.Journal.load(journal.path)


def test_secrets_file_of_another_user_is_refused(tmp_path, cookies):
    as_root()
    secrets = jmod.secrets_path_for(tmp_path / "j.json")
    jmod.write_secrets(secrets, cookies[OLD], cookies[NEW])
    os.chown(secrets, NOBODY, NOBODY)
    with pytest.raises(UsageError, match="refusing to trust it"):
        jmod.read_secrets(secrets, make(tmp_path / "j.json", cookies).fingerprints)


def test_symlinked_journal_and_secrets_are_refused(tmp_path, cookies):
    real = make(tmp_path / "real.json", cookies)
    real.save()
    (tmp_path / "j.json").symlink_to(real.path)
    with pytest.raises(UsageError, match="symlink"):
        jmod.Journal.load(tmp_path / "j.json")
    jmod.write_secrets(tmp_path / "real.secrets", cookies[OLD], cookies[NEW])
    (tmp_path / "j.json.secrets").symlink_to(tmp_path / "real.secrets")
    with pytest.raises(UsageError, match="symlink"):
        jmod.read_secrets(tmp_path / "j.json.secrets", real.fingerprints)


def test_symlinked_lock_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "elsewhere"
    (tmp_path / "j.json.lock").symlink_to(target)
    with pytest.raises(UsageError, match="lock file .* is a symlink"):
        with jmod.locked(tmp_path / "j.json"):
            pass
    assert not target.exists()


def test_lock_of_another_user_is_refused(tmp_path):
    as_root()
    lock = tmp_path / "j.json.lock"
    lock.touch(mode=0o600)
    os.chown(lock, NOBODY, NOBODY)
    with pytest.raises(UsageError, match="lock file .* belongs to"):
        with jmod.locked(tmp_path / "j.json"):
            pass


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777])
def test_directory_others_can_write_is_refused(tmp_path, cookies, mode):
    shared = tmp_path / "shared"
    shared.mkdir()
    journal = make(shared / "j.json", cookies)
    journal.save()
    os.chmod(shared, mode)
    with pytest.raises(UsageError, match="written by group or others"):
        with jmod.locked(shared / "j.json"):
            pass
    with pytest.raises(UsageError, match="written by group or others"):
        jmod.Journal.load(journal.path)


def test_sticky_directory_of_root_or_ours_is_accepted(tmp_path, cookies):
    """Like /tmp: in a sticky directory only a file's owner can rename or delete it."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    journal = make(shared / "j.json", cookies)
    journal.save()
    with jmod.locked(journal.path):
        assert jmod.Journal.load(journal.path).members == ["a@h", "b@h"]


def test_sticky_directory_of_another_user_is_refused(tmp_path, cookies):
    as_root()
    shared = tmp_path / "theirs"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    os.chown(shared, NOBODY, NOBODY)
    with pytest.raises(UsageError, match="directory .* belongs to"):
        with jmod.locked(shared / "j.json"):
            pass


def test_journal_that_is_not_a_regular_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "j.json", 0o600)  # would block a plain open() forever
    with pytest.raises(UsageError, match="not a regular file"):
        jmod.Journal.load(tmp_path / "j.json")


def test_unwritable_journal_is_a_clear_operational_error(tmp_path, cookies):
    """A save that cannot write (here the directory was replaced by a file: the same path a
    read-only or full file system takes) is a JournalSaveError naming the journal."""
    journal = make(tmp_path / "state" / "j.json", cookies)
    journal.save()
    os.unlink(journal.path)
    (tmp_path / "state").rmdir()
    (tmp_path / "state").write_text("not a directory")
    with pytest.raises(jmod.JournalSaveError, match="cannot save the rotation journal"):
        journal.save()


def test_journal_in_a_missing_directory_is_no_journal(tmp_path):
    with pytest.raises(UsageError, match="no rotation journal"):
        jmod.Journal.load(tmp_path / "nowhere" / "j.json")
