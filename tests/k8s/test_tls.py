"""`k8s tls`: the certificate Secret, cert-manager resources and the optfile ConfigMap."""

from __future__ import annotations

import base64
import json
import os
import re
import socket

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from ruamel.yaml import YAML

from erlcookie.errors import UsageError
from erlcookie.k8s.tls import TlsPlan, cert_manager_resources
from erlcookie.tls import pki, store

load_all = lambda text: [d for d in YAML(typ="safe", pure=True).load_all(text) if d]  # noqa: E731

ARGS = ["k8s", "tls", "app", "--service", "app-headless", "-n", "prod", "--replicas", "3"]
POD_NAMES = [
    "app-0.app-headless.prod.svc.cluster.local",
    "app-1.app-headless.prod.svc.cluster.local",
    "app-2.app-headless.prod.svc.cluster.local",
    "app-0",
    "app-1",
    "app-2",
    "*.app-headless.prod.svc.cluster.local",
    "app-headless.prod.svc.cluster.local",
]


@pytest.fixture
def ca_dir(tmp_path):
    store.init_ca(tmp_path / "ca", "test CA")
    return tmp_path / "ca"


def test_secret_and_configmap_from_our_ca(run_cli, schema, ca_dir):
    result = run_cli(*ARGS, "--ca-dir", str(ca_dir))
    assert result.exit_code == 0, result.stderr
    assert schema.validate_stream(result.stdout) == 2
    secret, configmap = load_all(result.stdout)
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"]["name"] == "app-dist-tls"
    assert secret["metadata"]["namespace"] == "prod"
    assert set(secret["data"]) == {"tls.crt", "tls.key", "ca.crt"}
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    key = serialization.load_pem_private_key(base64.b64decode(secret["data"]["tls.key"]), None)
    ca_cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["ca.crt"]))
    assert ca_cert == store.read_cert(ca_dir / "ca.pem")
    assert pki.signed_by(cert, ca_cert) and pki.key_matches(key, cert)
    assert list(pki.facts(cert).sans) == POD_NAMES
    # the CA's private key never leaves its file
    ca_key_body = "".join((ca_dir / "ca.key").read_text().splitlines()[1:-1])
    assert ca_key_body not in result.output
    same_key = key.private_numbers() == store.read_key(ca_dir / "ca.key").private_numbers()
    assert not same_key, "the Secret carries the CA's key"

    text = configmap["data"]["ssl_dist.conf"]
    assert configmap["metadata"]["name"] == "app-dist-tls-optfile"
    assert '{certfile, "/etc/erlang/tls/tls.crt"}' in text
    assert '{keyfile, "/etc/erlang/tls/tls.key"}' in text
    assert '{cacertfile, "/etc/erlang/tls/ca.crt"}' in text
    assert "{fail_if_no_peer_cert, true}" in text and "server_name_indication" not in text
    assert "ssl_dist_optfile /etc/erlang/tls/ssl_dist.conf" in text
    assert "PRIVATE KEY" not in json.dumps(configmap)
    from erlcookie.tls.check import check

    (ca_dir.parent / "ssl_dist.conf").write_text(text)
    assert check(ca_dir.parent / "ssl_dist.conf", files=False).findings == []
    # how to mount it is said, through `k8s inject`
    assert "k8s inject" in result.stderr and "--key tls.key" in result.stderr
    assert "ERL_FLAGS" in result.stderr


def test_json_list_validates(run_cli, schema, ca_dir):
    result = run_cli(*ARGS, "--ca-dir", str(ca_dir), "--format", "json", "--no-hostname-check")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["kind"] == "List" and schema.validate_stream(result.stdout) == 2
    assert "{server_name_indication, disable}" in doc["items"][1]["data"]["ssl_dist.conf"]


def test_write_is_private(run_cli, ca_dir, tmp_path):
    out = tmp_path / "tls.yaml"
    result = run_cli(*ARGS, "--ca-dir", str(ca_dir), "--write", str(out))
    assert result.exit_code == 0, result.stderr
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert result.stdout == ""
    again = run_cli(*ARGS, "--ca-dir", str(ca_dir), "--write", str(out))
    assert again.exit_code == 2


# cert-manager's v1 CRD fields for the parts we emit (kubernetes-validate has no CRDs).
ISSUER_SPEC = {"selfSigned", "ca"}
CERT_SPEC = {
    "isCA",
    "commonName",
    "secretName",
    "duration",
    "renewBefore",
    "privateKey",
    "usages",
    "issuerRef",
    "dnsNames",
}
USAGES = {"digital signature", "server auth", "client auth"}
GO_DURATION = re.compile(r"^\d+h$")


def test_cert_manager_resources_have_the_crd_shape(run_cli, schema):
    result = run_cli(*ARGS, "--cert-manager", "--days", "60", "--renew-days", "20")
    assert result.exit_code == 0, result.stderr
    objects = load_all(result.stdout)
    assert [o["kind"] for o in objects] == [
        "Issuer",
        "Certificate",
        "Issuer",
        "Certificate",
        "ConfigMap",
    ]
    schema.validate(objects[-1])
    issuers = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Issuer"}
    certs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Certificate"}
    for obj in objects[:4]:
        assert obj["apiVersion"] == "cert-manager.io/v1"
        assert obj["metadata"]["namespace"] == "prod"
        schema.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]})
    for issuer in issuers.values():
        assert set(issuer["spec"]) <= ISSUER_SPEC and len(issuer["spec"]) == 1
    for cert in certs.values():
        spec = cert["spec"]
        assert set(spec) <= CERT_SPEC
        assert spec["issuerRef"]["name"] in issuers and spec["issuerRef"]["kind"] == "Issuer"
        assert spec["issuerRef"]["group"] == "cert-manager.io"
        assert GO_DURATION.match(spec["duration"])
        assert spec["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    ca, node = certs["app-dist-ca"]["spec"], certs["app-dist-tls"]["spec"]
    assert ca["isCA"] is True and "selfSigned" in issuers[ca["issuerRef"]["name"]]["spec"]
    assert issuers[node["issuerRef"]["name"]]["spec"]["ca"]["secretName"] == ca["secretName"]
    assert node["secretName"] == "app-dist-tls" and node["dnsNames"] == POD_NAMES
    assert set(node["usages"]) == USAGES
    assert node["duration"] == "1440h" and node["renewBefore"] == "480h"
    assert "PRIVATE KEY" not in result.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "either --ca-dir"),
        (["--cert-manager", "--ca-dir", "x"], "either --ca-dir"),
    ],
)
def test_source_must_be_one_of_two(run_cli, args, message):
    result = run_cli(*ARGS, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_hostname_check_needs_named_pods(run_cli):
    result = run_cli("k8s", "tls", "app", "--service", "app-headless", "--cert-manager")
    assert result.exit_code == 2 and "--replicas" in result.stderr
    ok = run_cli(
        "k8s", "tls", "app", "--service", "app-headless", "--cert-manager", "--no-hostname-check"
    )
    assert ok.exit_code == 0, ok.stderr


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(statefulset="App"),
        dict(service="a_b"),
        dict(namespace="Prod"),
        dict(mount_dir="etc/tls"),
        dict(secret_name="-x"),
        dict(statefulset="app\n"),
        dict(namespace="prod\n"),
        dict(secret_name="tls\n"),
    ],
)
def test_plan_refuses_bad_names(kwargs):
    base = dict(statefulset="app", service="svc", namespace="prod", replicas=1)
    with pytest.raises(UsageError):
        TlsPlan(**{**base, **kwargs})


def test_renew_before_expiry():
    plan = TlsPlan(statefulset="app", service="svc", namespace="prod", replicas=1)
    with pytest.raises(UsageError):
        cert_manager_resources(plan, node_days=30, renew_days=30)


@pytest.mark.interop
def test_secret_and_configmap_run_real_nodes(run_cli, ca_dir, tmp_path):
    """Files laid out as the pods would see them start two OTP 25 nodes that connect over TLS."""
    from erlcookie.cookie.generate import generate
    from erlcookie.distribution.terms import atom_text
    from tests.support.nodes import start_node

    mount = tmp_path / "etc-erlang-tls"
    mount.mkdir()
    result = run_cli(
        *ARGS, "--ca-dir", str(ca_dir), "--san", socket.gethostname(), "--mount-dir", str(mount)
    )
    assert result.exit_code == 0, result.stderr
    secret, configmap = load_all(result.stdout)
    for key, value in secret["data"].items():
        path = mount / key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64decode(value))
    (mount / "ssl_dist.conf").write_text(configmap["data"]["ssl_dist.conf"])
    cookie = generate("elixir")
    flags = ["-proto_dist", "inet_tls", "-ssl_dist_optfile", str(mount / "ssl_dist.conf")]
    with (
        start_node(cookie, kind="otp25", extra_args=flags) as a,
        start_node(cookie, kind="otp25", extra_args=flags) as b,
    ):
        assert atom_text(a.eval(f"net_kernel:connect_node('{b.name}').", timeout=30)) == "true"
        assert [atom_text(n) for n in b.eval("nodes().")] == [a.name]
