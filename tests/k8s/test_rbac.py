"""`k8s rbac` and `k8s job rotate`: schema-valid manifests, and Roles that are exactly enough:
each command runs in-cluster (service-account files, HTTPS) under the Role `k8s rbac`
printed for it, against the local API server with that Role as its RBAC table."""

from __future__ import annotations

import base64
import json

import pytest
from ruamel.yaml import YAML

from erlcookie.k8s import api as api_module
from erlcookie.k8s.rbac import JOURNAL_PATH
from tests.k8s.conftest import NAMESPACE

GOOD = "Rbac-Test-Cookie-0a1b2c3d4e5f60718293a4b5"


def load_all(text: str) -> list[dict]:
    return [d for d in YAML(typ="safe", pure=True).load_all(text) if d]


@pytest.fixture
def pod(tmp_path, monkeypatch):
    """The API server over HTTPS with a namespace `chat`, and this process seeing it as a pod
    does: KUBERNETES_SERVICE_HOST/PORT and the service account's files."""
    from tests.support.certs import make_pki
    from tests.support.kube_api import KubeApiServer

    pki = make_pki(tmp_path / "pki", ["127.0.0.1"])
    with KubeApiServer(tls=(pki.node_cert, pki.node_key)) as server:
        server.namespaces.add(NAMESPACE)
        account = tmp_path / "serviceaccount"
        account.mkdir()
        (account / "token").write_text(server.token)
        (account / "ca.crt").write_bytes(pki.ca_cert.read_bytes())
        (account / "namespace").write_text(NAMESPACE)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
        monkeypatch.setenv(api_module.SERVICE_ACCOUNT_DIR_ENV, str(account))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
        yield server


def app_objects(server):
    server.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "erlang-cookie"},
            "data": {"cookie": base64.b64encode(GOOD.encode()).decode()},
        },
        namespace=NAMESPACE,
    )
    labels = {"app": "chat"}
    server.add(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "chat", "labels": labels},
            "spec": {
                "replicas": 2,
                "serviceName": "chat",
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "chat:1",
                                "env": [
                                    {
                                        "name": "POD_NAME",
                                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                    },
                                    {"name": "RELEASE_NODE", "value": "$(POD_NAME)@127.0.0.1"},
                                    {
                                        "name": "RELEASE_COOKIE",
                                        "valueFrom": {
                                            "secretKeyRef": {
                                                "name": "erlang-cookie",
                                                "key": "cookie",
                                            }
                                        },
                                    },
                                ],
                            }
                        ]
                    },
                },
            },
        },
        namespace=NAMESPACE,
    )


def role_of(objects: list[dict]) -> dict:
    return next(o for o in objects if o["kind"] == "Role")


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["status", "--no-configmaps"],
        ["apply"],
        ["apply", "--replace"],
        ["rotate"],
        ["rotate", "--restart"],
        ["rotate", "--restart", "--restart-target", "sts/chat", "--restart-target", "deploy/web"],
    ],
)
def test_rbac_manifests_are_valid_and_narrow(run_cli, schema, args):
    result = run_cli("k8s", "rbac", *args, "-n", "chat")
    assert result.exit_code == 0, result.stderr
    objects = load_all(result.stdout)
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Role", "RoleBinding"]
    for obj in objects:
        schema.validate(obj)
    assert "&id" not in result.stdout  # no YAML anchors
    rules = role_of(objects)["rules"]
    for rule in rules:  # never anything cluster-wide, never a wildcard
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]
        if rule["resources"] == ["secrets"] and set(rule["verbs"]) & {"patch", "update"}:
            assert rule["resourceNames"] == ["erlang-cookie"]
    binding = objects[2]
    assert binding["roleRef"]["name"] == objects[1]["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "erlcookie", "namespace": "chat"}
    ]


def test_rbac_rotate_rules(run_cli):
    plain = role_of(load_all(run_cli("k8s", "rbac", "rotate", "-n", "chat").stdout))["rules"]
    assert plain == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "verbs": ["get", "patch"],
            "resourceNames": ["erlang-cookie"],
        },
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    ]
    narrowed = role_of(
        load_all(
            run_cli(
                "k8s", "rbac", "rotate", "-n", "chat", "--restart", "--restart-target", "sts/chat"
            ).stdout
        )
    )["rules"]
    assert {
        "apiGroups": ["apps"],
        "resources": ["statefulsets"],
        "verbs": ["get", "patch"],
        "resourceNames": ["chat"],
    } in narrowed
    assert run_cli("k8s", "rbac", "status", "-n", "chat", "--restart").exit_code == 2
    assert run_cli("k8s", "rbac", "rotate", "-n", "Bad_NS").exit_code == 2


def test_job_rotate_manifest(run_cli, schema):
    result = run_cli(
        "k8s",
        "job",
        "rotate",
        "-n",
        "chat",
        "-l",
        "app=chat",
        "--restart",
        "--image",
        "registry.example/erlcookie:1",
        "--command",
        "python3 -m erlcookie",
        "--with-rbac",
        "--journal-claim",
        "erlcookie-journal",
        "--node-env",
        "NODE",
    )
    assert result.exit_code == 0, result.stderr
    objects = load_all(result.stdout)
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Role", "RoleBinding", "Job"]
    for obj in objects:
        schema.validate(obj)
    job = objects[-1]
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["serviceAccountName"] == "erlcookie" and pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0
    assert container["command"] == ["python3", "-m", "erlcookie"]
    assert container["args"] == [
        "rotate",
        "--in-cluster",
        "-n",
        "chat",
        "-l",
        "app=chat",
        "--secret",
        "erlang-cookie",
        "--node-env",
        "NODE",
        "--restart",
        "--journal",
        JOURNAL_PATH,
    ]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "journal", "persistentVolumeClaim": {"claimName": "erlcookie-journal"}} in pod[
        "volumes"
    ]
    resume = load_all(
        run_cli(
            "k8s",
            "job",
            "rotate",
            "-n",
            "chat",
            "--resume",
            "--image",
            "i",
            "--journal-claim",
            "erlcookie-journal",
            "--name",
            "erlcookie-resume",
        ).stdout
    )[0]
    schema.validate(resume)
    assert resume["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "rotate",
        "--in-cluster",
        "--resume",
        "--journal",
        JOURNAL_PATH,
    ]
    for bad in (["--resume"], ["--resume", "--journal-claim", "j", "-l", "app=x"], []):
        assert run_cli("k8s", "job", "rotate", "-n", "chat", "--image", "i", *bad).exit_code == 2


# -- the Roles are enough: each command in-cluster, under its own Role --------------------------------


def grant(server, run_cli, *args):
    result = run_cli("k8s", "rbac", *args, "-n", NAMESPACE)
    server.grant_role(role_of(load_all(result.stdout)))


def test_status_in_cluster_under_its_role(pod, run_cli):
    app_objects(pod)
    grant(pod, run_cli, "status")
    result = run_cli("k8s", "status", "-l", "app=chat", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["ok"]
    assert all(r.query.get("dryRun") is None for r in pod.requests)


def test_secret_apply_in_cluster_under_its_role(pod, run_cli, tmp_path):
    grant(pod, run_cli, "apply", "--replace")
    path = tmp_path / "c"
    path.write_text(GOOD)
    path.chmod(0o600)
    assert run_cli("k8s", "secret", "--apply", "--cookie-file", str(path)).exit_code == 0
    other = tmp_path / "d"
    other.write_text(GOOD[::-1])
    other.chmod(0o600)
    replaced = run_cli("k8s", "secret", "--apply", "--replace", "--cookie-file", str(other))
    assert replaced.exit_code == 0, replaced.stderr


def test_rotate_job_command_in_cluster_under_its_role(pod, run_cli, tmp_path):
    """The Job's own arguments, run in this process as the pod would run them, under the
    Role `k8s rbac rotate --restart` prints: every Kubernetes permission check of preflight
    passes. No node runs behind these pods: they are dialled by name on loopback, at an EPMD
    port where nothing listens, so the nodes are what fails (exit 3)."""
    import socket

    app_objects(pod)
    grant(pod, run_cli, "rotate", "--restart")
    job = load_all(
        run_cli(
            "k8s", "job", "rotate", "-n", NAMESPACE, "-l", "app=chat", "--restart", "--image", "i"
        ).stdout
    )[0]
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    args[args.index("--journal") + 1] = str(tmp_path / "journal.json")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nobody = s.getsockname()[1]
    result = run_cli(
        *args,
        "--dry-run",
        "--json",
        "--timeout",
        "0.5",
        "--dial-by-name",
        "--epmd-port",
        str(nobody),
    )
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    failed = [e for e in events if e.get("status") == "failed"]
    assert failed, result.stdout + result.stderr
    failed = failed[0]
    assert result.exit_code == 3
    assert failed["problems"] and all(p["node"] for p in failed["problems"]), failed["problems"]
    assert [e["old_source"] for e in events if e["event"] == "cookies"] == [
        "Secret chat/erlang-cookie"
    ]
    reviews = {(r["verb"], r["resource"]) for r in pod.reviews}
    assert {("patch", "secrets"), ("patch", "statefulsets"), ("get", "statefulsets")} <= reviews
    assert not [r for r in pod.requests if r.method in ("PUT", "PATCH", "DELETE")]
