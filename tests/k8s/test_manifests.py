"""`k8s secret` (manifest mode) and `k8s netpol`: content, kubectl parity, schemas, files."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess

import pytest
from ruamel.yaml import YAML

from erlcookie.cookie.generate import generate
from erlcookie.errors import UsageError
from erlcookie.k8s.manifests import (
    FINGERPRINT_ANNOTATION,
    PortRange,
    netpol_manifest,
    parse_port_range,
    secret_manifest,
    secret_value,
    to_yaml,
)
from tests.k8s.conftest import assert_hidden, fp

load = YAML(typ="safe", pure=True).load


def private_file(tmp_path, name, text):
    path = tmp_path / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def kubectl_secret(cookie_file, namespace=None):
    """The seed's command, the cookie fed by file (never on argv)."""
    import shutil

    assert shutil.which("kubectl"), "kubectl is needed (Debian package kubernetes-client)"
    argv = [
        "kubectl",
        "create",
        "secret",
        "generic",
        "erlang-cookie",
        f"--from-file=cookie={cookie_file}",
        "--dry-run=client",
        "-o",
        "yaml",
    ]
    if namespace:
        argv += ["-n", namespace]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KUBECONFIG": "/dev/null"},
    )
    assert done.returncode == 0, done.stderr
    return load(done.stdout)


def same_semantics(ours: dict, theirs: dict) -> None:
    assert ours["apiVersion"] == theirs["apiVersion"] == "v1"
    assert ours["kind"] == theirs["kind"] == "Secret"
    assert ours["type"] == theirs.get("type", "Opaque")  # the API server defaults it to Opaque
    assert ours["metadata"]["name"] == theirs["metadata"]["name"]
    assert ours["metadata"].get("namespace") == theirs["metadata"].get("namespace")
    assert set(ours["data"]) == set(theirs["data"]) == {"cookie"}
    same = base64.b64decode(ours["data"]["cookie"]) == base64.b64decode(theirs["data"]["cookie"])
    assert same, "decoded data differs from kubectl's (values redacted)"
    assert "stringData" not in ours


@pytest.mark.parametrize("namespace", [None, "chat"])
def test_secret_matches_kubectl_create_secret(tmp_path, run_cli, schema, namespace):
    cookie = generate("elixir")
    cookie_file = private_file(tmp_path, "cookie", cookie.reveal())
    theirs = kubectl_secret(cookie_file, namespace)
    args = ["k8s", "secret", "--cookie-file", str(cookie_file)] + (
        ["-n", namespace] if namespace else []
    )
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    ours = load(result.stdout)
    same_semantics(ours, theirs)
    schema.validate(ours)
    assert cookie.fingerprint() in result.stderr
    assert_hidden(result.stderr, cookie.reveal())


def test_secret_metadata_never_holds_the_value(schema):
    cookie = generate("hex")
    manifest = secret_manifest(
        cookie,
        name="chat-cookie",
        key=".erlang.cookie",
        namespace="chat",
        app="chat",
        labels={"team": "core"},
    )
    meta = json.dumps(manifest["metadata"])
    assert_hidden(meta, cookie.reveal(), manifest["data"][".erlang.cookie"], where="metadata")
    assert manifest["metadata"]["annotations"][FINGERPRINT_ANNOTATION] == cookie.fingerprint()
    assert manifest["metadata"]["labels"] == {
        "app.kubernetes.io/component": "erlang-cookie",
        "app.kubernetes.io/managed-by": "erlcookie",
        "app.kubernetes.io/part-of": "chat",
        "team": "core",
    }
    assert manifest["type"] == "Opaque"
    schema.validate(manifest)
    schema.validate(load(to_yaml(manifest)))


def test_generated_secret_is_new_each_time_and_strong(run_cli):
    first, second = run_cli("k8s", "secret"), run_cli("k8s", "secret", "--style", "erlang")
    a, b = (secret_value(load(r.stdout), "cookie").cookie for r in (first, second))
    assert a.fingerprint() != b.fingerprint()
    from erlcookie.audit import audit_cookie

    assert audit_cookie(a).verdict == "ok" and audit_cookie(b).verdict == "ok"
    letters_only = b.reveal().isalpha()
    assert len(b) == 20 and letters_only


def test_secret_json_format(run_cli, schema, tmp_path):
    cookie_file = private_file(tmp_path, "c", "Zq3e9XbW0pLkT7uYv2RmNs8AcDf5GhJ1\n")
    result = run_cli(
        "k8s",
        "secret",
        "--format",
        "json",
        "--cookie-file",
        str(cookie_file),
        "--name",
        "chat.cookie",
        "--key",
        "erlang_cookie",
    )
    assert result.exit_code == 0
    obj = json.loads(result.stdout)
    schema.validate(obj)
    value = secret_value(obj, "erlang_cookie")
    expected = fp("Zq3e9XbW0pLkT7uYv2RmNs8AcDf5GhJ1")
    assert value.cookie.fingerprint() == expected
    assert not value.trailing_newline  # the file's newline is not part of the cookie


def test_secret_write_creates_private_file_and_refuses_to_overwrite(run_cli, tmp_path, schema):
    target = tmp_path / "secret.yaml"
    result = run_cli("k8s", "secret", "--write", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    schema.validate(load(target.read_text()))
    before = target.read_bytes()
    again = run_cli("k8s", "secret", "--write", str(target))
    assert again.exit_code == 2 and "exists" in again.stderr
    assert target.read_bytes() == before
    forced = run_cli("k8s", "secret", "--write", str(target), "--force")
    assert forced.exit_code == 0 and target.read_bytes() != before
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "args, message",
    [
        (["--name", "Bad_Name"], "invalid Secret name"),
        (["--key", "a/b"], "invalid Secret key"),
        (["-n", "No.Dots"], "invalid namespace"),
        (["--label", "novalue"], "invalid label"),
        (["--replace"], "--replace goes with --apply"),
        (["--json"], "--json reports on --apply"),
        (["--context", "x"], "go with --apply"),
    ],
)
def test_secret_usage_errors(run_cli, args, message):
    result = run_cli("k8s", "secret", *args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_secret_refuses_a_cookie_that_breaks_deployments(run_cli, tmp_path):
    cookie_file = private_file(tmp_path, "c", "has a space")
    result = run_cli("k8s", "secret", "--cookie-file", str(cookie_file))
    assert result.exit_code == 2 and "break deployments" in result.stderr
    assert_hidden(result.stderr + result.stdout, "has a space")


def test_secret_warns_about_a_weak_cookie(run_cli):
    result = run_cli("k8s", "secret", "--cookie-env", "WEAK", env={"WEAK": "secretcookie"})
    assert result.exit_code == 0 and "warning: the cookie is weak" in result.stderr
    assert_hidden(result.stderr, "secretcookie")


def test_secret_value_decoding():
    good = {"metadata": {"name": "s"}, "data": {"k": base64.b64encode(b"abc\n").decode()}}
    value = secret_value(good, "k")
    abc, plain = fp("abc"), fp("plain")
    assert value.cookie.fingerprint() == abc and value.trailing_newline
    assert secret_value(good, "other").problem == "missing"
    assert secret_value({"data": {"k": "!!notbase64"}}, "k").problem == "not-base64"
    assert (
        secret_value({"data": {"k": base64.b64encode(b"\xff\xfe").decode()}}, "k").problem
        == "not-utf8"
    )
    assert secret_value({"data": {"k": ""}}, "k").problem == "empty"
    assert secret_value({"stringData": {"k": "plain"}}, "k").cookie.fingerprint() == plain


# -- NetworkPolicy --------------------------------------------------------------------------


def test_netpol_allows_epmd_and_dist_ports_between_the_apps_pods(run_cli, schema):
    result = run_cli("k8s", "netpol", "-l", "app=chat", "--dist-port", "9100-9105", "-n", "chat")
    assert result.exit_code == 0, result.stderr
    policy = load(result.stdout)
    schema.validate(policy)
    assert policy["metadata"] == {
        "name": "chat-erlang-dist",
        "namespace": "chat",
        "labels": {
            "app.kubernetes.io/component": "erlang-distribution",
            "app.kubernetes.io/managed-by": "erlcookie",
        },
    }
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "chat"}}
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": {"app": "chat"}}}],
            "ports": [
                {"protocol": "TCP", "port": 4369},
                {"protocol": "TCP", "port": 9100, "endPort": 9105},
            ],
        }
    ]
    assert "&" not in result.stdout and "*id" not in result.stdout  # no YAML aliases
    assert "isolates the selected pods" in result.stderr


def test_netpol_variants(run_cli, schema):
    single = load(
        run_cli(
            "k8s",
            "netpol",
            "-l",
            "app.kubernetes.io/name=chat,tier in (web,worker)",
            "--dist-port",
            "9100",
            "--no-epmd",
        ).stdout
    )
    schema.validate(single)
    assert single["metadata"]["name"] == "chat-erlang-dist"
    assert single["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "chat"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "worker"]}],
    }
    assert single["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 9100}]
    named = load(
        run_cli(
            "k8s",
            "netpol",
            "-l",
            "team",
            "--dist-port",
            "4000-5000",
            "--name",
            "dist",
            "--format",
            "json",
        ).stdout
    )
    schema.validate(named)
    assert named["metadata"]["name"] == "dist"
    # 4369 inside the distribution range: one entry covers both
    assert named["spec"]["ingress"][0]["ports"] == [
        {"protocol": "TCP", "port": 4000, "endPort": 5000}
    ]


def test_netpol_allow_other_ports_opens_exactly_the_complement(schema):
    policy = netpol_manifest(
        {"matchLabels": {"app": "chat"}}, PortRange(9100, 9105), name="p", allow_other_ports=True
    )
    schema.validate(policy)
    _erlang_rule, other = policy["spec"]["ingress"]
    assert "from" not in other  # from anywhere
    tcp = [
        (p["port"], p.get("endPort", p["port"])) for p in other["ports"] if p["protocol"] == "TCP"
    ]
    assert tcp == [(1, 4368), (4370, 9099), (9106, 65535)]
    assert {p["protocol"] for p in other["ports"]} == {"TCP", "UDP", "SCTP"}
    covered = set()
    for first, last in tcp:
        covered.update(range(first, last + 1))
    assert 4369 not in covered and not covered & set(range(9100, 9106))
    assert len(covered) == 65535 - 1 - 6


@pytest.mark.parametrize(
    "text, expected",
    [
        ("9100", PortRange(9100, 9100)),
        ("9100-9105", PortRange(9100, 9105)),
        (" 1 - 65535 ", PortRange(1, 65535)),
    ],
)
def test_port_ranges(text, expected):
    assert parse_port_range(text) == expected


@pytest.mark.parametrize("text", ["", "0", "70000", "9105-9100", "a-b", "9100-", "-1"])
def test_bad_port_ranges(text):
    with pytest.raises(UsageError):
        parse_port_range(text)


@pytest.mark.parametrize(
    "args, message",
    [
        (["-l", "", "--dist-port", "9100"], "must select"),
        (["-l", "app=chat", "--dist-port", "9100-1"], "invalid port range"),
        (["-l", "app in (", "--dist-port", "9100"], "selector"),
        (["-l", "n>1", "--dist-port", "9100"], "LabelSelector"),
    ],
)
def test_netpol_usage_errors(run_cli, args, message):
    result = run_cli("k8s", "netpol", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_netpol_write(run_cli, tmp_path, schema):
    target = tmp_path / "np.yaml"
    assert (
        run_cli(
            "k8s", "netpol", "-l", "app=chat", "--dist-port", "9100", "--write", str(target)
        ).exit_code
        == 0
    )
    schema.validate(load(target.read_text()))
    assert (
        run_cli(
            "k8s", "netpol", "-l", "app=chat", "--dist-port", "9100", "--write", str(target)
        ).exit_code
        == 2
    )
    assert (
        run_cli(
            "k8s", "netpol", "-l", "app=x", "--dist-port", "9100", "--write", str(target), "--force"
        ).exit_code
        == 0
    )
    assert load(target.read_text())["metadata"]["name"] == "x-erlang-dist"


def test_stamp_annotations_names_the_new_cookie():
    from erlcookie.k8s.manifests import UPDATED_AT_ANNOTATION, stamp_annotations

    cookie = generate("hex")
    secret = {"metadata": {"name": "s", "annotations": {"keep": "me"}}}
    stamp_annotations(secret, cookie, now="2030-01-01T00:00:00Z")
    assert secret["metadata"]["annotations"] == {
        "keep": "me",
        FINGERPRINT_ANNOTATION: cookie.fingerprint(),
        UPDATED_AT_ANNOTATION: "2030-01-01T00:00:00Z",
    }


@pytest.mark.parametrize("label", ["a=b\n", "a\n=b"])
def test_a_label_with_a_trailing_newline_is_refused(label):
    from erlcookie.k8s.manifests import parse_labels

    with pytest.raises(UsageError):
        parse_labels([label])


@pytest.mark.parametrize(
    "check,value",
    [
        ("check_object_name", "sec\n"),
        ("check_dns_label", "app\n"),
        ("check_secret_key", "cookie\n"),
        ("check_env_name", "RELEASE_COOKIE\n"),
    ],
)
def test_names_with_a_trailing_newline_are_refused(check, value):
    import erlcookie.k8s.manifests as manifests

    with pytest.raises(UsageError):
        getattr(manifests, check)(value, "x") if check == "check_dns_label" else getattr(
            manifests, check
        )(value)
