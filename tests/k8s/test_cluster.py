"""The live scenarios end to end, on two backends: the local API server (always), and a
real cluster (opt-in, `-m cluster`, ERLCOOKIE_REAL_CLUSTER=1 and KUBECONFIG pointing at a
disposable kind/k3d cluster; see docs/k8s.md).

Everything here goes through public REST calls only (the official client for seeding,
erlcookie's CLI and adapter for the checks), so both backends run the same code. Each
run works in a fresh namespace `erlcookie-test-XXXXXX`, deleted afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid

import pytest

from erlcookie.cookie.value import Cookie
from erlcookie.k8s.api import Conflict, KubeApi
from tests.k8s.conftest import assert_hidden, fp, real_cluster_enabled
from tests.support.kube_api import KubeApiServer

IMAGE = os.environ.get("ERLCOOKIE_TEST_IMAGE", "registry.k8s.io/pause:3.10")
FIRST = "Cluster-First-Cookie-3c5e7a9b1d2f4a6c8e0b"
SECOND = "Cluster-Second-Cookie-8d6b4f2a0c9e7d5b3a1f"
LITERAL = "cluster-literal-cookie-4242"
SECOND_FP, LITERAL_FP = fp(SECOND), fp(LITERAL)


class Backend:
    """A namespace on a cluster: seeding through the official client, time, permissions."""

    def __init__(self, kind: str, kubeconfig: str, server: KubeApiServer | None):
        from kubernetes import client, config

        self.kind, self.kubeconfig, self.server = kind, kubeconfig, server
        self.namespace = f"erlcookie-test-{uuid.uuid4().hex[:6]}"
        cfg = client.Configuration()
        config.load_kube_config(
            config_file=kubeconfig, client_configuration=cfg, persist_config=False
        )
        self.client = client.ApiClient(cfg)
        client.CoreV1Api(self.client).create_namespace({"metadata": {"name": self.namespace}})
        self.timeout = 240 if kind == "real" else 5

    def close(self) -> None:
        from kubernetes import client

        try:
            client.CoreV1Api(self.client).delete_namespace(self.namespace)
        finally:
            self.client.close()

    def env(self) -> dict:
        return {"KUBECONFIG": self.kubeconfig}

    def create(self, obj: dict) -> None:
        from kubernetes.utils import create_from_dict

        create_from_dict(self.client, obj, namespace=self.namespace)

    def api(self) -> KubeApi:
        return KubeApi.connect(kubeconfig=self.kubeconfig, namespace=self.namespace, timeout=30)

    def tick(self) -> None:
        """Let the clock move past the current second (timestamps have 1 s resolution)."""
        if self.server is not None:
            self.server.advance(5)
        else:
            time.sleep(2.1)

    def restricted_kubeconfig(self, tmp_path, verbs: dict[str, list[str]]) -> str:
        """A kubeconfig whose identity may only do `verbs` ({resource: [verb, ...]})."""
        if self.server is not None:
            everything = ("get", "list", "create", "update", "patch", "delete")
            for resource in (
                "secrets",
                "pods",
                "deployments",
                "statefulsets",
                "daemonsets",
                "replicasets",
                "jobs",
                "cronjobs",
            ):
                for verb in everything:
                    if verb not in verbs.get(resource, []):
                        self.server.deny(verb, resource, self.namespace)
            return self.kubeconfig
        return _service_account_kubeconfig(self, tmp_path, verbs)


def _service_account_kubeconfig(backend: Backend, tmp_path, verbs) -> str:
    from kubernetes import client

    ns, name = backend.namespace, "erlcookie-limited"
    groups = {
        "secrets": "",
        "pods": "",
        "deployments": "apps",
        "statefulsets": "apps",
        "daemonsets": "apps",
        "replicasets": "apps",
        "jobs": "batch",
        "cronjobs": "batch",
    }
    backend.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
    backend.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": name},
            "rules": [
                {"apiGroups": [groups[r]], "resources": [r], "verbs": v} for r, v in verbs.items()
            ],
        }
    )
    backend.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        }
    )
    token = (
        client.CoreV1Api(backend.client)
        .create_namespaced_service_account_token(name, ns, {"spec": {"expirationSeconds": 600}})
        .status.token
    )
    cfg = backend.client.configuration
    cluster = {"server": cfg.host}
    if cfg.ssl_ca_cert:
        with open(cfg.ssl_ca_cert, "rb") as handle:
            cluster["certificate-authority-data"] = base64.b64encode(handle.read()).decode()
    if not cfg.verify_ssl:
        cluster["insecure-skip-tls-verify"] = True
    path = tmp_path / "limited-kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "limited",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "u", "user": {"token": token}}],
                "contexts": [
                    {"name": "limited", "context": {"cluster": "c", "user": "u", "namespace": ns}}
                ],
            }
        )
    )
    path.chmod(0o600)
    return str(path)


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.cluster)])
def cluster(request, tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    if request.param == "real":
        if not real_cluster_enabled():
            pytest.skip(
                "real-cluster tier: set ERLCOOKIE_REAL_CLUSTER=1 and KUBECONFIG to a disposable cluster"
            )
        backend = Backend("real", os.environ["KUBECONFIG"], None)
        try:
            yield backend
        finally:
            backend.close()
        return
    with KubeApiServer() as server:
        kubeconfig = str(server.write_kubeconfig(tmp_path / "kubeconfig", namespace="default"))
        backend = Backend("fake", kubeconfig, server)
        try:
            yield backend
        finally:
            backend.close()


def cookie_file(tmp_path, value) -> str:
    path = tmp_path / f"cookie-{Cookie(value).fingerprint()[4:]}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return str(path)


def workload(kind, name, env, replicas=1):
    labels = {"app": "erlcookie-test", "part": name}
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "app", "image": IMAGE, "env": env}],
            },
        },
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


WIRED = [
    {
        "name": "RELEASE_COOKIE",
        "valueFrom": {"secretKeyRef": {"name": "erlang-cookie", "key": "cookie"}},
    }
]


def status(run_cli, cluster, *args):
    result = run_cli("k8s", "status", "-n", cluster.namespace, "--json", *args, env=cluster.env())
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip().startswith(
        "{"
    ) else result


def test_secret_apply_create_keep_replace(cluster, run_cli, tmp_path):
    ns = ["-n", cluster.namespace]
    env = cluster.env()
    created = run_cli(
        "k8s", "secret", "--apply", *ns, "--cookie-file", cookie_file(tmp_path, FIRST), env=env
    )
    assert created.exit_code == 0 and "created" in created.stdout, created.stderr
    kept = run_cli(
        "k8s", "secret", "--apply", *ns, "--cookie-file", cookie_file(tmp_path, SECOND), env=env
    )
    assert kept.exit_code == 1 and "holds a different cookie" in kept.stdout
    replaced = run_cli(
        "k8s",
        "secret",
        "--apply",
        "--replace",
        "--json",
        *ns,
        "--cookie-file",
        cookie_file(tmp_path, SECOND),
        env=env,
    )
    assert replaced.exit_code == 0 and json.loads(replaced.stdout)["live_fingerprint"] == SECOND_FP
    with cluster.api() as api:
        assert api.get_secret("absent") is None  # 404 is "absent", not an error
        live = api.get_secret("erlang-cookie")
        api.patch_secret("erlang-cookie", {"metadata": {"labels": {"moved": "on"}}})
        with pytest.raises(Conflict):  # 409: the resourceVersion we hold is stale
            api.replace_secret(live)


def test_json_patch_tests_access_reviews_and_dry_runs(cluster, run_cli, tmp_path):
    """What the local server mirrors from kube-apiserver, checked on both backends: a failed
    JSON-patch `test` (422, told apart from other refusals), a write to other fields that
    does not disturb an edit, SelfSubjectAccessReviews, and dryRun=All."""
    from erlcookie.k8s.api import SecretChanged, SecretEdit

    assert (
        run_cli(
            "k8s",
            "secret",
            "--apply",
            "-n",
            cluster.namespace,
            "--cookie-file",
            cookie_file(tmp_path, FIRST),
            env=cluster.env(),
        ).exit_code
        == 0
    )
    with cluster.api() as api:
        first = api.get_secret("erlang-cookie")["data"]["cookie"]
        stale = [
            {"op": "test", "path": "/data/cookie", "value": "c3RhbGU="},
            {"op": "replace", "path": "/data/cookie", "value": "c3RhbGU="},
        ]
        with pytest.raises(SecretChanged):
            api.patch_secret_json("erlang-cookie", stale)
        api.patch_secret("erlang-cookie", {"metadata": {"labels": {"moved": "on"}}})
        second = base64.b64encode(SECOND.encode()).decode()
        dry = api.patch_secret_json(
            "erlang-cookie",
            [
                {"op": "test", "path": "/data/cookie", "value": first},
                {"op": "replace", "path": "/data/cookie", "value": second},
            ],
            dry_run=True,
        )
        assert (
            dry["data"]["cookie"] == second
            and api.get_secret("erlang-cookie")["data"]["cookie"] == first
        )
        _, conflicts = api.edit_secret("erlang-cookie", lambda live: SecretEdit({"cookie": second}))
        assert (
            conflicts == 0
            and api.get_secret("erlang-cookie")["metadata"]["labels"]["moved"] == "on"
        )
        assert api.can("get", "Secret", "erlang-cookie") is True
        assert (
            api.missing_permissions([("patch", "Secret", "erlang-cookie"), ("list", "Pod", None)])
            == []
        )


def test_status_end_to_end(cluster, run_cli, tmp_path):
    env = cluster.env()
    assert (
        run_cli(
            "k8s",
            "secret",
            "--apply",
            "-n",
            cluster.namespace,
            "--cookie-file",
            cookie_file(tmp_path, FIRST),
            env=env,
        ).exit_code
        == 0
    )
    cluster.create(workload("Deployment", "web", WIRED, replicas=2))
    cluster.create(workload("StatefulSet", "db", [{"name": "RELEASE_COOKIE", "value": LITERAL}]))
    with cluster.api() as api:
        api.wait_rollout("Deployment", "web", timeout=cluster.timeout)
        api.wait_rollout("StatefulSet", "db", timeout=cluster.timeout)

    code, report = status(run_cli, cluster, "-l", "app=erlcookie-test")
    assert code == 1
    not_wired = {f["object"] for f in report["findings"] if f["code"] == "workload-not-wired"}
    assert not_wired == {"StatefulSet/db"}
    assert {f["fingerprint"] for f in report["findings"] if "fingerprint" in f} == {LITERAL_FP}
    assert_hidden(json.dumps(report), LITERAL)
    web_pods = [p for p in report["pods"] if p["owner"].startswith("ReplicaSet/web-")]
    assert len(web_pods) == 2 and all(p["ok"] and p["ip"] for p in web_pods)

    code, report = status(run_cli, cluster, "-l", "part=web")
    assert code == 0, report

    cluster.tick()
    assert (
        run_cli(
            "k8s",
            "secret",
            "--apply",
            "--replace",
            "-n",
            cluster.namespace,
            "--cookie-file",
            cookie_file(tmp_path, SECOND),
            env=env,
        ).exit_code
        == 0
    )
    code, report = status(run_cli, cluster, "-l", "part=web")
    assert code == 1 and {f["code"] for f in report["findings"]} == {"stale-cookie"}

    cluster.tick()
    with cluster.api() as api:
        api.rollout_restart("Deployment", "web")
        api.wait_rollout("Deployment", "web", timeout=cluster.timeout)
    deadline = time.monotonic() + cluster.timeout
    while True:  # old pods may take a moment to go after the rollout reports done
        code, report = status(run_cli, cluster, "-l", "part=web")
        if code == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert code == 0, report

    code, report = status(run_cli, cluster, "-l", "part=web", "--secret", "no-such-secret")
    assert code == 1 and report["findings"][0]["code"] == "secret-missing"


def test_status_without_list_permission_is_exit_3(cluster, run_cli, tmp_path):
    limited = cluster.restricted_kubeconfig(tmp_path, {"secrets": ["get"]})
    result = run_cli(
        "k8s", "status", "-l", "app=x", "-n", cluster.namespace, "--kubeconfig", limited
    )
    assert result.exit_code == 3
    assert "permission denied" in result.stderr and "'list'" in result.stderr
