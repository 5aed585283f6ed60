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
    return jmod.Journal.create(path, old_fingerprint=cookies[OLD].fingerprint(),
                               new_fingerprint=cookies[NEW].fingerprint(), members=model.members,
                               model=model, settings=RotateSettings(),
                               secrets_file=secrets_file)


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


@pytest.mark.parametrize("content", ["not json", json.dumps({"version": 99}),
                                     json.dumps({"version": 1})])
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
    assert jmod.default_journal_path({"XDG_STATE_HOME": str(tmp_path), "HOME": "/x"}) == \
        tmp_path / "erlcookie" / "rotate.journal.json"
    assert str(jmod.default_journal_path({"HOME": "/home/u"})) == \
        "/home/u/.local/state/erlcookie/rotate.journal.json"
