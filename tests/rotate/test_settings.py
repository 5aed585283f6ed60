"""Typed rotation settings: what the CLI builds, what the journal keeps and reads back."""

from __future__ import annotations

import json

import pytest

from erlcookie.errors import OperationalError
from erlcookie.rotate.settings import (
    CommandStore,
    DialSettings,
    DiscoverySettings,
    FileStore,
    KubeDiscoverySettings,
    KubeSettings,
    NodeDial,
    NoStore,
    RestartSettings,
    RotateSettings,
    SecretStore,
    TlsSettings,
)

# The settings a journal written before typed settings holds (the CLI's dicts, as saved).
PLAIN_DICT_JOURNAL = {
    "discovery": {
        "nodes": ["a@h"],
        "epmd_hosts": [["127.0.0.1", 4369, "h"]],
        "epmd_match": "a*",
        "kubernetes": {
            "namespace": "chat",
            "selector": "app=chat",
            "env": ["RELEASE_NODE"],
            "template": None,
            "container": None,
            "port_forward": True,
            "dial_by_name": False,
        },
    },
    "dial": {
        "epmd_port": 4369,
        "host": None,
        "nodes": {"b@h": {"host": "127.0.0.1", "epmd_port": 4369, "dist_port": 9100}},
        "tls": {
            "certfile": "c.pem",
            "keyfile": "k.pem",
            "cafile": None,
            "verify_hostname": False,
            "server_name": None,
        },
    },
    "kube": {"kubeconfig": "/k", "context": "ctx", "in_cluster": None},
    "timeout": 7.5,
    "concurrency": 8,
    "converge_timeout": 30.0,
    "converge_settle": 0.5,
    "restart": {"enabled": True, "targets": [["StatefulSet", "chat"]], "timeout": 300.0},
    "persist": {
        "kind": "secret",
        "namespace": "chat",
        "name": "erlang-cookie",
        "key": "cookie",
        "previous_key": None,
    },
}


def full_settings() -> RotateSettings:
    return RotateSettings(
        discovery=DiscoverySettings(
            nodes=("a@h",),
            epmd_hosts=(("127.0.0.1", 4369, "h"),),
            epmd_match="a*",
            kubernetes=KubeDiscoverySettings("app=chat", namespace="chat", port_forward=True),
        ),
        dial=DialSettings(
            nodes={"b@h": NodeDial("127.0.0.1", 9100)},
            tls=TlsSettings(certfile="c.pem", keyfile="k.pem"),
            timeout=7.5,
        ),
        kube=KubeSettings(kubeconfig="/k", context="ctx"),
        persist=SecretStore("erlang-cookie", namespace="chat"),
        restart=RestartSettings(enabled=True, targets=(("StatefulSet", "chat"),), timeout=300.0),
        concurrency=8,
        converge_timeout=30.0,
        converge_settle=0.5,
    )


def test_roundtrip_through_json():
    settings = full_settings()
    assert RotateSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings


@pytest.mark.parametrize(
    "store",
    [
        SecretStore("s", key="k", previous_key="p"),
        FileStore("/var/lib/rabbitmq/.erlang.cookie", owner=(999, 998)),
        CommandStore("cat > x"),
        NoStore(),
    ],
)
def test_every_store_roundtrips_with_its_kind(store):
    data = json.loads(json.dumps(RotateSettings(persist=store).to_dict()))
    assert data["persist"]["kind"] == store.kind
    assert RotateSettings.from_dict(data).persist == store


def test_reads_journals_written_with_plain_dicts():
    """The journal of a rotation started by the previous version resumes with the same pieces."""
    assert RotateSettings.from_dict(PLAIN_DICT_JOURNAL) == full_settings()


def test_unknown_keys_are_ignored_and_missing_ones_defaulted():
    data = {"persist": {"kind": "file", "path": "/c", "later_option": 1}, "later": {"x": 1}}
    settings = RotateSettings.from_dict(data)
    assert settings.persist == FileStore("/c")
    assert settings.dial == DialSettings() and settings.concurrency == 32


@pytest.mark.parametrize(
    "damaged",
    [
        {"persist": {"kind": "tape"}},
        {"persist": {"kind": "file"}},
        {"dial": {"epmd_port": "many"}},
        {"discovery": {"epmd_hosts": [["h"]]}},
        {"discovery": {"kubernetes": {"namespace": "x"}}},
        {"dial": []},
    ],
)
def test_damaged_settings_are_an_operational_error(damaged):
    with pytest.raises(OperationalError, match="settings are damaged"):
        RotateSettings.from_dict(damaged)


def test_the_journal_form_is_accepted_where_settings_are_handed_over(tmp_path):
    from erlcookie.rotate.journal import Journal
    from erlcookie.rotate.plan import OLD, ClusterModel

    assert RotateSettings.of(PLAIN_DICT_JOURNAL) == full_settings()
    assert RotateSettings.of(full_settings()) is not None
    model = ClusterModel.uniform(["a@h"], OLD)
    journal = Journal.create(
        tmp_path / "j.json",
        old_fingerprint="fp1:a",
        new_fingerprint="fp1:b",
        members=model.members,
        model=model,
        settings=PLAIN_DICT_JOURNAL,
        secrets_file=None,
    )
    assert journal.settings == full_settings()


def test_the_api_request_deadline_travels_with_the_journal():
    settings = RotateSettings(kube=KubeSettings(context="ctx", request_timeout=2.5))
    assert RotateSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    older = {"kube": {"context": "ctx"}}  # a journal written before the option existed
    assert RotateSettings.from_dict(older).kube.request_timeout == 15.0
