"""`k8s secret --apply [--replace]` against the local API server: 404, 409 and 403 paths."""

from __future__ import annotations

import base64
import json
import os

import pytest

from erlcookie.k8s.manifests import FINGERPRINT_ANNOTATION, UPDATED_AT_ANNOTATION, secret_value
from tests.k8s.conftest import NAMESPACE, assert_hidden, fp

FIRST = "Applied-First-Cookie-0123456789abcdef"
SECOND = "Applied-Second-Cookie-fedcba9876543210"
FIRST_FP, SECOND_FP = fp(FIRST), fp(SECOND)


def cookie_file(tmp_path, value, name="cookie"):
    path = tmp_path / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return str(path)


def live_fp(kube, name="erlang-cookie", key="cookie"):
    obj = kube.get("Secret", name, NAMESPACE)
    value = secret_value(obj, key)
    return value.cookie.fingerprint() if value.cookie else None


def test_apply_creates_then_never_overwrites(kube, run_cli, tmp_path, schema):
    first = run_cli(
        "k8s", "secret", "--apply", "--cookie-file", cookie_file(tmp_path, FIRST), "--app", "chat"
    )
    assert first.exit_code == 0, first.stderr
    assert first.stdout.strip() == f"created Secret chat/erlang-cookie key cookie ({FIRST_FP})"
    stored = kube.get("Secret", "erlang-cookie", NAMESPACE)
    assert live_fp(kube) == FIRST_FP
    annotations = stored["metadata"]["annotations"]
    assert annotations[FINGERPRINT_ANNOTATION] == FIRST_FP and UPDATED_AT_ANNOTATION in annotations
    assert stored["metadata"]["labels"]["app.kubernetes.io/part-of"] == "chat"
    assert_hidden(json.dumps(stored["metadata"]), FIRST, where="metadata")
    schema.validate({k: v for k, v in stored.items() if k != "status"})

    same = run_cli("k8s", "secret", "--apply", "--cookie-file", cookie_file(tmp_path, FIRST))
    assert same.exit_code == 0 and "already holds this cookie" in same.stdout

    other = run_cli("k8s", "secret", "--apply", "--cookie-file", cookie_file(tmp_path, SECOND))
    assert other.exit_code == 1
    assert f"holds a different cookie ({FIRST_FP}, yours is {SECOND_FP})" in other.stdout
    assert live_fp(kube) == FIRST_FP

    generated = run_cli("k8s", "secret", "--apply")
    assert (
        generated.exit_code == 0 and "the newly generated cookie was discarded" in generated.stdout
    )
    assert live_fp(kube) == FIRST_FP
    writes = [r for r in kube.requests if r.method in ("PUT", "POST", "PATCH")]
    assert len(writes) == 1  # only the first create ever wrote
    for result in (first, same, other, generated):
        assert_hidden(result.stdout + result.stderr, FIRST, SECOND)


def test_replace_keeps_other_keys_labels_and_uses_the_resource_version(kube, run_cli, tmp_path):
    kube.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "erlang-cookie", "labels": {"team": "core"}},
            "data": {
                "cookie": base64.b64encode(FIRST.encode()).decode(),
                "other": base64.b64encode(b"unrelated").decode(),
            },
        },
        namespace=NAMESPACE,
    )
    rv = kube.get("Secret", "erlang-cookie", NAMESPACE)["metadata"]["resourceVersion"]
    result = run_cli(
        "k8s",
        "secret",
        "--apply",
        "--replace",
        "--json",
        "--cookie-file",
        cookie_file(tmp_path, SECOND),
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {
        "action": "replaced",
        "namespace": NAMESPACE,
        "name": "erlang-cookie",
        "key": "cookie",
        "fingerprint": SECOND_FP,
        "live_fingerprint": SECOND_FP,
        "matches": True,
        "key_missing": False,
        "conflicts": 0,
        "generated": False,
        "source": f"from file {tmp_path / 'cookie'}",
    }
    stored = kube.get("Secret", "erlang-cookie", NAMESPACE)
    assert base64.b64decode(stored["data"]["other"]) == b"unrelated"
    assert stored["metadata"]["labels"] == {"team": "core"}
    assert stored["metadata"]["annotations"][FINGERPRINT_ANNOTATION] == SECOND_FP
    patch = next(r for r in kube.requests if r.method == "PATCH")
    assert patch.content_type.startswith("application/json-patch+json")
    assert {
        "op": "test",
        "path": "/data/cookie",
        "value": base64.b64encode(FIRST.encode()).decode(),
    } in patch.body  # only the key we read is guarded: other writers do not conflict
    assert not any(op["path"].startswith("/metadata/labels") for op in patch.body)
    assert patch.query.get("fieldManager") == "erlcookie"
    assert stored["metadata"]["resourceVersion"] != rv


def test_missing_key(kube, run_cli, tmp_path):
    kube.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "erlang-cookie"},
            "data": {"other": base64.b64encode(b"x").decode()},
        },
        namespace=NAMESPACE,
    )
    kept = run_cli("k8s", "secret", "--apply")
    assert kept.exit_code == 1 and "exists without this key" in kept.stdout
    added = run_cli(
        "k8s", "secret", "--apply", "--replace", "--cookie-file", cookie_file(tmp_path, FIRST)
    )
    assert added.exit_code == 0 and live_fp(kube) == FIRST_FP


def test_immutable_secret_is_refused_clearly(kube, run_cli, tmp_path):
    kube.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "erlang-cookie"},
            "immutable": True,
            "data": {"cookie": base64.b64encode(FIRST.encode()).decode()},
        },
        namespace=NAMESPACE,
    )
    result = run_cli(
        "k8s", "secret", "--apply", "--replace", "--cookie-file", cookie_file(tmp_path, SECOND)
    )
    assert result.exit_code == 3 and "is immutable" in result.stderr
    assert live_fp(kube) == FIRST_FP


def test_create_race_decides_again_on_the_winners_secret(kube, run_cli, tmp_path):
    def someone_else_creates(server):
        server.add(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "erlang-cookie"},
                "data": {"cookie": base64.b64encode(SECOND.encode()).decode()},
            },
            namespace=NAMESPACE,
        )

    kube.before_next("POST", "secrets", "erlang-cookie", someone_else_creates)
    result = run_cli(
        "k8s", "secret", "--apply", "--json", "--cookie-file", cookie_file(tmp_path, FIRST)
    )
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["action"] == "kept" and report["conflicts"] == 1
    assert live_fp(kube) == SECOND_FP  # the winner's cookie was not overwritten


def test_replace_is_not_disturbed_by_writes_to_other_fields(kube, run_cli, tmp_path):
    kube.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "erlang-cookie"},
            "data": {"cookie": base64.b64encode(FIRST.encode()).decode()},
        },
        namespace=NAMESPACE,
    )
    kube.before_next(
        "PATCH",
        "secrets",
        "erlang-cookie",
        lambda server: server.update(
            "Secret",
            "erlang-cookie",
            lambda o: o["metadata"].update(labels={"touched": "yes"}),
            namespace=NAMESPACE,
        ),
    )
    result = run_cli(
        "k8s",
        "secret",
        "--apply",
        "--replace",
        "--json",
        "--cookie-file",
        cookie_file(tmp_path, SECOND),
    )
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["action"] == "replaced" and report["conflicts"] == 0
    stored = kube.get("Secret", "erlang-cookie", NAMESPACE)
    assert stored["metadata"]["labels"] == {"touched": "yes"} and live_fp(kube) == SECOND_FP


def test_replace_decides_again_when_the_key_changed(kube, run_cli, tmp_path):
    kube.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "erlang-cookie"},
            "data": {"cookie": base64.b64encode(FIRST.encode()).decode()},
        },
        namespace=NAMESPACE,
    )
    kube.before_next(
        "PATCH",
        "secrets",
        "erlang-cookie",
        lambda server: server.update(
            "Secret",
            "erlang-cookie",
            lambda o: o["data"].update(cookie=base64.b64encode(SECOND.encode()).decode()),
            namespace=NAMESPACE,
        ),
    )
    result = run_cli(
        "k8s",
        "secret",
        "--apply",
        "--replace",
        "--json",
        "--cookie-file",
        cookie_file(tmp_path, SECOND),
    )
    report = json.loads(
        result.stdout
    )  # someone else wrote our cookie meanwhile: nothing left to do
    assert result.exit_code == 0 and report["action"] == "unchanged" and report["conflicts"] == 1


def test_replace_under_a_concurrent_writer(kube, run_cli, tmp_path):
    """Another client rewrites the Secret's labels as fast as it can (each write a new
    resourceVersion) during --replace: no conflict, the labels and the cookie both stay."""
    import threading

    kube.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "erlang-cookie"},
            "data": {"cookie": base64.b64encode(FIRST.encode()).decode()},
        },
        namespace=NAMESPACE,
    )
    stop = threading.Event()
    writes = []

    def writer():
        while not stop.is_set() and len(writes) < 20000:
            kube.update(
                "Secret",
                "erlang-cookie",
                lambda o: o["metadata"].update(labels={"n": str(len(writes))}),
                namespace=NAMESPACE,
            )
            writes.append(1)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        for value in (SECOND, FIRST, SECOND):
            result = run_cli(
                "k8s",
                "secret",
                "--apply",
                "--replace",
                "--json",
                "--cookie-file",
                cookie_file(tmp_path, value),
            )
            assert result.exit_code == 0, result.stderr
            assert json.loads(result.stdout)["action"] == "replaced"
    finally:
        stop.set()
        thread.join(10)
    assert len(writes) > 50 and live_fp(kube) == SECOND_FP


def test_endless_409_is_exit_3(kube, run_cli, tmp_path):
    kube.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "erlang-cookie"},
            "data": {"cookie": base64.b64encode(FIRST.encode()).decode()},
        },
        namespace=NAMESPACE,
    )
    kube.fail_next("PATCH", "secrets", "erlang-cookie", status=409, count=1000)
    result = run_cli(
        "k8s",
        "secret",
        "--apply",
        "--replace",
        "--request-timeout",
        "0.5",
        "--cookie-file",
        cookie_file(tmp_path, SECOND),
    )
    assert result.exit_code == 3 and "gave up" in result.stderr


@pytest.mark.parametrize(
    "verb, expected",
    [
        ("get", "cannot get secrets 'erlang-cookie'"),
        ("create", "cannot create secrets 'erlang-cookie'"),
    ],
)
def test_forbidden_is_exit_3_with_the_permission(kube, run_cli, verb, expected):
    kube.deny(verb, "secrets", NAMESPACE)
    result = run_cli("k8s", "secret", "--apply")
    assert result.exit_code == 3 and expected in result.stderr
    assert f"--verb={verb} --resource=secrets -n chat" in result.stderr


def test_namespace_and_context_flags(kube, run_cli):
    result = run_cli("k8s", "secret", "--apply", "--context", "other", "--name", "c2")
    assert result.exit_code == 0 and "Secret default/c2" in result.stdout
    assert kube.get("Secret", "c2", "default") is not None
    ghost = run_cli("k8s", "secret", "--apply", "-n", "ghost")
    assert ghost.exit_code == 3 and 'namespaces "ghost" not found' in ghost.stderr
    stored = kube.get("Secret", "c2", "default")
    assert stored["metadata"]["namespace"] == "default"
