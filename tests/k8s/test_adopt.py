"""Adopting the cookie a running cluster uses into the Secret (the migration's first step),
end to end through the CLI against the local API server; and `k8s secret --write` in a git
work tree."""

from __future__ import annotations

import subprocess

import pytest

from erlcookie.errors import UsageError
from erlcookie.k8s.adopt import adopt
from tests.k8s.conftest import NAMESPACE, assert_hidden, fp
from tests.support.kube_api import KubeApiServer  # noqa: F401  (the kube fixture's server)

LITERAL = "adoptMeP4ssW0rdXk3jd8s7dkfjs9dkf"
OTHER = "otherC00kieQw8e7r6t5y4u3i2o1pAsD"

DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: chat
  namespace: {NAMESPACE}
spec:
  selector:
    matchLabels: {{app: chat}}
  template:
    metadata:
      labels: {{app: chat}}
    spec:
      containers:
        - name: chat
          image: chat:1
          env:
            - name: RELEASE_COOKIE
              value: "{LITERAL}"
"""

ENVFROM = f"""\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: rabbit
spec:
  selector:
    matchLabels: {{app: rabbit}}
  template:
    metadata:
      labels: {{app: rabbit}}
    spec:
      containers:
        - name: rabbit
          image: rabbitmq:3
          envFrom:
            - configMapRef:
                name: rabbit-env
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: rabbit-env
data:
  RABBITMQ_ERLANG_COOKIE: {OTHER}
"""


def test_adopt_then_apply_the_secret_holds_the_literal(kube, run_cli, tmp_path):
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(DEPLOYMENT)
    result = run_cli("k8s", "secret", "--adopt-from", str(manifest), "--apply")
    assert_hidden(result.stdout + result.stderr, LITERAL)
    assert result.exit_code == 0, result.stderr
    literal = fp(LITERAL)
    assert (
        result.stdout.strip() == f"created Secret {NAMESPACE}/erlang-cookie key cookie ({literal})"
    )
    assert "adopted from Deployment/chat" in result.stderr
    from erlcookie.k8s.manifests import secret_value

    stored = secret_value(kube.get("Secret", "erlang-cookie", NAMESPACE), "cookie")
    got = stored.cookie.fingerprint()
    assert got == literal
    # the manifest itself is left alone: adopting reads, it does not edit
    assert manifest.read_text() == DEPLOYMENT
    # again: the Secret already holds it
    again = run_cli("k8s", "secret", "--adopt-from", str(manifest), "--apply")
    assert again.exit_code == 0 and "already holds this cookie" in again.stdout


def test_adopt_from_an_envfrom_configmap_and_from_stdin(tmp_path, run_cli):
    (tmp_path / "rabbit.yaml").write_text(ENVFROM)
    running = adopt([str(tmp_path)])
    other = fp(OTHER)
    assert running.fingerprint == other and running.variables == {"RABBITMQ_ERLANG_COOKIE"}
    result = run_cli("k8s", "secret", "--adopt-from", "-", "--name", "rabbit-cookie", input=ENVFROM)
    assert result.exit_code == 0, result.stderr
    assert f"erlcookie.io/fingerprint: {other}" in result.stdout
    assert "ConfigMap rabbit-env key RABBITMQ_ERLANG_COOKIE" in result.stderr


def test_adopt_refuses_to_guess(tmp_path):
    (tmp_path / "both.yaml").write_text(
        DEPLOYMENT.replace(f"  namespace: {NAMESPACE}\n", "") + "---\n" + ENVFROM
    )
    with pytest.raises(UsageError, match="several cookies") as caught:
        adopt([str(tmp_path)])
    assert LITERAL not in str(caught.value) and OTHER not in str(caught.value)
    chosen = adopt([str(tmp_path)], envs=("RELEASE_COOKIE",))
    literal = fp(LITERAL)
    assert chosen.fingerprint == literal
    (tmp_path / "both.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(UsageError, match="nothing to adopt"):
        adopt([str(tmp_path)])


def test_adopt_is_a_source_of_its_own(tmp_path, run_cli):
    (tmp_path / "d.yaml").write_text(DEPLOYMENT)
    (tmp_path / "c").write_text(OTHER)
    result = run_cli(
        "k8s",
        "secret",
        "--adopt-from",
        str(tmp_path / "d.yaml"),
        "--cookie-file",
        str(tmp_path / "c"),
    )
    assert result.exit_code == 2 and "give one, alone" in result.stderr
    assert run_cli("k8s", "secret", "--env", "X").exit_code == 2


def test_secret_says_which_cookie_and_write_refuses_an_unignored_path(tmp_path, run_cli):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    (tmp_path / ".gitignore").write_text("private/\n")
    (tmp_path / "private").mkdir()
    generated = run_cli("k8s", "secret")
    assert (
        generated.exit_code == 0 and "a newly generated cookie (elixir style)" in generated.stderr
    )
    refused = run_cli("k8s", "secret", "--write", str(tmp_path / "secret.yaml"))
    assert refused.exit_code == 2 and "git does not ignore it" in refused.stderr
    assert not (tmp_path / "secret.yaml").exists()
    ok = run_cli("k8s", "secret", "--write", str(tmp_path / "private" / "secret.yaml"))
    assert ok.exit_code == 0, ok.stderr
    forced = run_cli("k8s", "secret", "--write", str(tmp_path / "secret.yaml"), "--force")
    assert forced.exit_code == 0 and (tmp_path / "secret.yaml").exists()
    helped = run_cli("k8s", "secret", "--help")
    words = " ".join(helped.stdout.split())
    assert "a new cookie is generated" in words
    assert "(default when no source is given: RELEASE_COOKIE" not in words


def test_adopt_live_reads_the_running_workload_through_the_api(kube, run_cli):
    """The manifests may already be edited (or were never committed): adopt from the
    Deployment and the ConfigMap as the cluster runs them."""
    import base64

    from ruamel.yaml import YAML

    deploy = YAML(typ="safe").load(DEPLOYMENT)
    deploy["spec"]["template"]["spec"]["containers"][0]["env"] = []
    deploy["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [
        {"configMapRef": {"name": "chat-env"}}
    ]
    kube.add(deploy, namespace=NAMESPACE)
    kube.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "chat-env"},
            "data": {"ERLANG_COOKIE": LITERAL, "PORT": "4000"},
        },
        namespace=NAMESPACE,
    )
    result = run_cli("k8s", "secret", "--adopt-live", "deployment/chat", "--apply")
    assert_hidden(result.stdout + result.stderr, LITERAL)
    assert result.exit_code == 0, result.stderr
    assert "ConfigMap chat-env key ERLANG_COOKIE" in result.stderr
    stored = kube.get("Secret", "erlang-cookie", NAMESPACE)
    got = fp(base64.b64decode(stored["data"]["cookie"]).decode())
    literal = fp(LITERAL)
    assert got == literal
    missing = run_cli("k8s", "secret", "--adopt-live", "Deployment/nope")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    assert run_cli("k8s", "secret", "--adopt-live", "Service/x").exit_code == 2
