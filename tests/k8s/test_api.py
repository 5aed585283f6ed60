"""The adapter over the official client, against the local API server over HTTP."""

from __future__ import annotations

import base64
import socket
import time

import pytest

from erlcookie.errors import UsageError
from erlcookie.k8s import api as api_module
from erlcookie.k8s.api import (
    RESTARTED_AT,
    Conflict,
    KubeApi,
    KubeError,
    NotFound,
    PermissionDenied,
    SecretEdit,
)
from tests.k8s.conftest import NAMESPACE


def secret(name="erlang-cookie", value=b"first-test-value-123", **extra):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, **extra},
        "data": {"cookie": base64.b64encode(value).decode()},
    }


def deployment(name="chat", replicas=2, env=None):
    labels = {"app": "chat", "part": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "img", "env": env or []}]},
            },
        },
    }


# -- connecting ---------------------------------------------------------------------------------


def test_namespace_comes_from_the_context_then_the_flag(kube):
    with KubeApi.connect() as a:
        assert a.namespace == NAMESPACE and "fake" in a.origin and kube.url in a.origin
    with KubeApi.connect(namespace="default") as a:
        assert a.namespace == "default"
    with KubeApi.connect(context="other") as a:
        assert a.namespace == "default"
    with KubeApi.connect(kubeconfig=str(kube.kubeconfig), context="fake") as a:
        assert a.namespace == NAMESPACE


def test_kubeconfig_env_is_read_at_each_connect_with_path_lists(kube, tmp_path, monkeypatch):
    second = kube.write_kubeconfig(tmp_path / "second", namespace="default", context="second")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'absent'}:{second}")
    with KubeApi.connect() as a:
        assert a.namespace == "default" and "'second'" in a.origin


def test_connection_usage_errors(kube, tmp_path):
    with pytest.raises(UsageError, match="not in the kubeconfig"):
        KubeApi.connect(context="nope")
    with pytest.raises(UsageError, match="no such file"):
        KubeApi.connect(kubeconfig=str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="invalid namespace"):
        KubeApi.connect(namespace="Bad_NS")
    with pytest.raises(UsageError, match="--in-cluster does not take"):
        KubeApi.connect(in_cluster=True, context="fake")


def test_no_kubeconfig_and_not_in_a_cluster(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeError, match="no kubeconfig found") as info:
        KubeApi.connect()
    assert info.value.exit_code == 3
    with pytest.raises(KubeError, match="in-cluster configuration unavailable"):
        KubeApi.connect(in_cluster=True)


def test_bad_token_is_a_clear_401(kube, tmp_path, monkeypatch):
    bad = kube.write_kubeconfig(tmp_path / "bad", token="wrong")
    with KubeApi.connect(kubeconfig=str(bad)) as a:
        with pytest.raises(KubeError, match="rejected the credentials"):
            a.get_secret("x")


def test_unreachable_server_fails_fast(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "kc"
    config.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
    )
    started = time.monotonic()
    with KubeApi.connect(kubeconfig=str(config), timeout=2) as a:
        with pytest.raises(KubeError, match="cannot reach the Kubernetes API"):
            a.get_secret("x")
    assert time.monotonic() - started < 10


# -- Secrets ------------------------------------------------------------------------------------


def test_secret_crud_and_optimistic_concurrency(kube, api):
    assert api.get_secret("erlang-cookie") is None
    created = api.create_secret(secret())
    assert created["metadata"]["namespace"] == NAMESPACE and created["type"] == "Opaque"
    assert [m["manager"] for m in created["metadata"]["managedFields"]] == ["erlcookie"]
    with pytest.raises(Conflict) as info:
        api.create_secret(secret())
    assert info.value.reason == "AlreadyExists"
    live = api.get_secret("erlang-cookie")
    stale = dict(live, metadata=dict(live["metadata"]))
    kube.update(
        "Secret",
        "erlang-cookie",
        lambda o: o["metadata"].setdefault("labels", {}).update(x="y"),
        namespace=NAMESPACE,
    )
    with pytest.raises(Conflict) as info:
        api.replace_secret(stale)
    assert info.value.reason == "Conflict" and info.value.exit_code == 3
    assert api.patch_secret("erlang-cookie", {"metadata": {"labels": {"x": "z"}}})["metadata"][
        "labels"
    ] == {"x": "z"}
    assert api.delete_secret("erlang-cookie") is True
    assert api.delete_secret("erlang-cookie") is False


def test_edit_secret_is_a_json_patch_testing_what_it_read(kube, api):
    kube.add(secret(), namespace=NAMESPACE)
    read = kube.get("Secret", "erlang-cookie", NAMESPACE)["data"]["cookie"]
    second = base64.b64encode(b"second-test-value-456").decode()
    result, conflicts = api.edit_secret(
        "erlang-cookie", lambda live: SecretEdit({"cookie": second, "extra": second}, {"a/b": "c"})
    )
    assert conflicts == 0 and result["data"] == {"cookie": second, "extra": second}
    assert result["metadata"]["annotations"] == {"a/b": "c"}
    patch = [r for r in kube.requests if r.method == "PATCH"][-1]
    assert patch.content_type.startswith("application/json-patch+json")
    assert patch.query["fieldManager"] == "erlcookie"
    assert {"op": "test", "path": "/data/cookie", "value": read} in patch.body
    assert {"op": "add", "path": "/metadata/annotations", "value": {"a/b": "c"}} in patch.body
    # nothing to change: no write at all
    writes = len([r for r in kube.requests if r.method != "GET"])
    api.edit_secret("erlang-cookie", lambda live: SecretEdit({"cookie": second}))
    assert len([r for r in kube.requests if r.method != "GET"]) == writes


def test_writes_to_other_fields_never_conflict_with_an_edit(kube, api):
    """A controller rewriting labels between our read and our write: the patch does not
    test them, so it lands the first time and keeps their change."""
    kube.add(secret(), namespace=NAMESPACE)
    kube.before_next(
        "PATCH",
        "secrets",
        "erlang-cookie",
        lambda server: server.update(
            "Secret",
            "erlang-cookie",
            lambda o: o["metadata"].update(labels={"by": "other"}),
            namespace=NAMESPACE,
        ),
    )
    second = base64.b64encode(b"second-test-value-456").decode()
    result, conflicts = api.edit_secret(
        "erlang-cookie", lambda live: SecretEdit({"cookie": second})
    )
    assert conflicts == 0 and result["metadata"]["labels"] == {"by": "other"}
    assert result["data"]["cookie"] == second


def test_a_changed_key_is_decided_again_on_fresh_data(kube, api):
    kube.add(secret(), namespace=NAMESPACE)
    theirs = base64.b64encode(b"their-test-value-789").decode()
    kube.before_next(
        "PATCH",
        "secrets",
        "erlang-cookie",
        lambda server: server.update(
            "Secret",
            "erlang-cookie",
            lambda o: o["data"].update(cookie=theirs),
            namespace=NAMESPACE,
        ),
    )
    seen = []

    def decide(live):
        seen.append(live["data"]["cookie"])
        return SecretEdit({"cookie": base64.b64encode(b"ours-test-value-000").decode()})

    result, conflicts = api.edit_secret("erlang-cookie", decide)
    assert conflicts == 1 and seen[1] == theirs  # the second decision saw their value
    assert [r.method for r in kube.requests if r.method == "PATCH"] == ["PATCH", "PATCH"]


def test_edit_secret_gives_up_at_its_deadline_and_counts_409s(kube, api):
    kube.add(secret(), namespace=NAMESPACE)
    kube.fail_next("PATCH", "secrets", "erlang-cookie", status=409, count=2)
    change = lambda live: SecretEdit({"cookie": "eHg="})  # noqa: E731
    assert api.edit_secret("erlang-cookie", change, backoff=0.001)[1] == 2
    kube.fail_next("PATCH", "secrets", "erlang-cookie", status=409, count=1000)
    started = time.monotonic()
    with pytest.raises(
        KubeError,
        match=r"kept changing under it; gave up after \d+ conflicting "
        r"writes in 0.5s",
    ):
        api.edit_secret(
            "erlang-cookie", lambda live: SecretEdit({"cookie": "eXk="}), deadline=0.5, backoff=0.01
        )
    assert time.monotonic() - started < 3
    with pytest.raises(NotFound):
        api.edit_secret("missing", change)


def test_an_invalid_patch_is_not_mistaken_for_a_conflict(kube, api):
    kube.add(secret(), namespace=NAMESPACE)
    kube.update("Secret", "erlang-cookie", lambda o: o.update(immutable=True), namespace=NAMESPACE)
    with pytest.raises(KubeError, match="immutable"):
        api.edit_secret("erlang-cookie", lambda live: SecretEdit({"cookie": "eHg="}))


def test_forbidden_names_the_missing_permission(kube, api):
    kube.deny("get", "secrets", NAMESPACE)
    with pytest.raises(PermissionDenied) as info:
        api.get_secret("erlang-cookie")
    message = str(info.value)
    assert "cannot get secrets 'erlang-cookie' in namespace 'chat'" in message
    assert "kubectl create role erlcookie --verb=get --resource=secrets -n chat" in message
    assert (
        'User "system:serviceaccount:default:erlcookie-test" cannot get resource "secrets"'
        in message
    )
    kube.deny("list", "deployments")
    with pytest.raises(PermissionDenied, match=r"--verb=list --resource=deployments.apps"):
        api.list_workloads("app=chat")


def test_server_errors_and_missing_namespace(kube, api):
    kube.fail_next("GET", "secrets", "erlang-cookie", status=500)
    with pytest.raises(KubeError, match="HTTP 500"):
        api.get_secret("erlang-cookie")
    with KubeApi.connect(namespace="ghost") as ghost:
        with pytest.raises(NotFound, match='namespaces "ghost" not found'):
            ghost.create_secret(secret())


def test_fields_unknown_to_the_client_survive_a_read_modify_write(kube, api):
    body = secret()
    body["metadata"]["futureField"] = {"x": 1}  # a field from a newer API server
    api.create_secret(body)
    api.edit_secret("erlang-cookie", lambda o: SecretEdit({"cookie": "eHg="}))
    assert kube.get("Secret", "erlang-cookie", NAMESPACE)["metadata"]["futureField"] == {"x": 1}
    user_agents = {r.user_agent for r in kube.requests}
    assert all(ua.startswith("erlcookie/") for ua in user_agents)


def test_invalid_secret_is_a_clear_422(api):
    body = secret()
    body["data"] = {"bad key": base64.b64encode(b"x").decode()}
    with pytest.raises(KubeError, match="refused Secret 'erlang-cookie'"):
        api.create_secret(body)


# -- lists, workloads, rollouts ---------------------------------------------------------------------


def test_lists_are_paged_and_typed(kube, api, monkeypatch):
    monkeypatch.setattr(api_module, "LIST_PAGE", 2)
    for i in range(5):
        kube.add(secret(f"s{i}", labels={"app": "chat"}), namespace=NAMESPACE)
    kube.add(secret("other", labels={"app": "other"}), namespace=NAMESPACE)
    items = api.list("Secret", "app=chat")
    assert [i["metadata"]["name"] for i in items] == ["s0", "s1", "s2", "s3", "s4"]
    assert all(i["kind"] == "Secret" and i["apiVersion"] == "v1" for i in items)
    lists = [r for r in kube.requests if r.method == "GET" and r.path.endswith("/secrets")]
    assert [r.query.get("continue") for r in lists] == [None, "2", "4"]
    assert all(r.query["labelSelector"] == "app=chat" for r in lists)


def test_list_workloads_and_pods(kube, api):
    kube.add(deployment(), namespace=NAMESPACE)
    kinds = sorted((w["kind"], w["apiVersion"]) for w in api.list_workloads("app=chat"))
    assert kinds == [("Deployment", "apps/v1"), ("ReplicaSet", "apps/v1")]
    pods = api.list_pods("app=chat")
    assert len(pods) == 2 and all(p["status"]["podIP"].startswith("10.244.") for p in pods)
    assert api.get_workload("Deployment", "chat")["metadata"]["name"] == "chat"
    assert api.get_workload("Deployment", "nope") is None
    with pytest.raises(UsageError):
        api.get_workload("Service", "x")


def test_rollout_restart_replaces_the_pods_and_wait_sees_it_finish(kube, api):
    kube.add(deployment(), namespace=NAMESPACE)
    before = {p["metadata"]["name"] for p in api.list_pods("app=chat")}
    patched = api.rollout_restart("Deployment", "chat", at="2030-01-01T00:00:00Z")
    assert (
        patched["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
        == "2030-01-01T00:00:00Z"
    )
    seen = []
    done = api.wait_rollout("Deployment", "chat", timeout=5, poll=0.01, progress=seen.append)
    assert done["status"]["updatedReplicas"] == 2 and seen
    after = {p["metadata"]["name"] for p in api.list_pods("app=chat")}
    assert len(after) == 2 and not before & after
    patch = next(r for r in kube.requests if r.method == "PATCH")
    assert patch.content_type.startswith("application/strategic-merge-patch+json")
    assert patch.query.get("fieldManager") == "erlcookie"


def test_statefulset_rollout(kube, api):
    sts = deployment("worker")
    sts["kind"] = "StatefulSet"
    sts["spec"]["serviceName"] = "worker"
    kube.add(sts, namespace=NAMESPACE)
    api.rollout_restart("StatefulSet", "worker")
    api.wait_rollout("StatefulSet", "worker", timeout=5, poll=0.01)
    assert sorted(p["metadata"]["name"] for p in api.list_pods("part=worker")) == [
        "worker-0",
        "worker-1",
    ]


def test_a_stalled_rollout_times_out(kube, api):
    kube.add(deployment(), namespace=NAMESPACE)
    kube.stall("Deployment", "chat", NAMESPACE)
    api.rollout_restart("Deployment", "chat")
    clock = iter(range(0, 1000))
    with pytest.raises(KubeError, match="not complete after 3s: 0 of 2 new replicas"):
        api.wait_rollout(
            "Deployment", "chat", timeout=3, poll=1, sleep=lambda s: None, clock=lambda: next(clock)
        )
    kube.unstall("Deployment", "chat", NAMESPACE)
    api.wait_rollout("Deployment", "chat", timeout=5, poll=0.01)


def test_rollout_of_a_deleted_workload(kube, api):
    with pytest.raises(NotFound):
        api.wait_rollout("Deployment", "ghost", timeout=1, poll=0.01)
    with pytest.raises(UsageError):
        api.rollout_restart("Job", "x")


# -- deadlines, files, in-cluster, access reviews -------------------------------------------------


@pytest.mark.parametrize("mode", ["drip", "silent"])
def test_request_timeout_is_a_deadline_for_the_whole_request(kube, mode):
    """A server that answers one byte a second satisfies every socket read: only a deadline
    for the request as a whole (the client's retry included) ends it."""
    kube.stall_requests(mode, interval=0.2)
    started = time.monotonic()
    with KubeApi.connect(timeout=1) as a:
        with pytest.raises(KubeError, match=r"gave no complete answer to get secrets within 1s"):
            a.get_secret("erlang-cookie")
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    "command",
    [
        ["k8s", "secret", "--apply"],
        ["k8s", "status", "-l", "app=chat"],
        ["rotate", "-l", "app=chat", "--secret", "erlang-cookie", "--dry-run"],
    ],
)
def test_cli_commands_end_at_the_request_deadline(kube, run_cli, command):
    kube.stall_requests("drip", interval=0.5)
    started = time.monotonic()
    result = run_cli(*command, "--request-timeout", "1")
    took = time.monotonic() - started
    assert result.exit_code == 3 and "within 1s (--request-timeout)" in result.stderr
    assert "Traceback" not in result.stderr and took < 3


def test_an_unreadable_ca_file_is_not_an_unreachable_server(kube, tmp_path):
    import os

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    ca.chmod(0)
    if os.geteuid() == 0:  # root reads anything: a file that exists and fails to read
        ca = "/proc/self/mem"
    config = tmp_path / "kc"
    config.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:1', "
        f"certificate-authority: '{ca}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
    )
    with pytest.raises(KubeError, match=f"cannot read the cluster CA file {ca}: ") as info:
        KubeApi.connect(kubeconfig=str(config))
    assert "cannot reach" not in str(info.value)


@pytest.fixture
def in_cluster(tmp_path, monkeypatch):
    """A pod's view: HTTPS API at KUBERNETES_SERVICE_HOST/PORT, the service account's token,
    CA and namespace mounted as files (here in a directory the test writes)."""
    from tests.support.certs import make_pki
    from tests.support.kube_api import KubeApiServer

    pki = make_pki(tmp_path / "pki", ["127.0.0.1"])
    with KubeApiServer(tls=(pki.node_cert, pki.node_key), token="pod-token-1") as server:
        server.namespaces.add(NAMESPACE)
        account = tmp_path / "serviceaccount"
        account.mkdir()
        (account / "token").write_text(server.token)
        (account / "ca.crt").write_bytes(pki.ca_cert.read_bytes())
        (account / "namespace").write_text(NAMESPACE)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
        monkeypatch.setenv(api_module.SERVICE_ACCOUNT_DIR_ENV, str(account))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
        server.account = account
        yield server


def test_in_cluster_configuration_from_the_mounted_service_account(in_cluster):
    in_cluster.add(secret(), namespace=NAMESPACE)
    with KubeApi.connect() as a:  # no kubeconfig and KUBERNETES_SERVICE_HOST set: in-cluster
        assert a.namespace == NAMESPACE and a.origin.startswith(
            "in-cluster service account at https://"
        )
        assert a.get_secret("erlang-cookie")["metadata"]["name"] == "erlang-cookie"
    with KubeApi.connect(in_cluster=True, namespace="default") as a:
        assert a.namespace == "default" and a.get_secret("erlang-cookie") is None
    assert in_cluster.requests and all(
        r.user_agent.startswith("erlcookie/") for r in in_cluster.requests
    )


def test_in_cluster_with_a_wrong_ca_or_no_token(in_cluster, tmp_path):
    from tests.support.certs import make_pki

    other = make_pki(tmp_path / "other", ["127.0.0.1"])
    (in_cluster.account / "ca.crt").write_bytes(other.ca_cert.read_bytes())
    with KubeApi.connect(in_cluster=True, timeout=5) as a:
        with pytest.raises(KubeError, match="cannot reach the Kubernetes API"):
            a.get_secret("x")
    (in_cluster.account / "token").unlink()
    with pytest.raises(KubeError, match="in-cluster configuration unavailable: Service token"):
        KubeApi.connect(in_cluster=True)


def test_missing_permissions_from_access_reviews_or_probes(kube, api):
    kube.add(deployment(), namespace=NAMESPACE)
    kube.add(secret(), namespace=NAMESPACE)
    kube.grant(["get", "patch"], "secrets", namespace=NAMESPACE, names=["erlang-cookie"])
    kube.grant("list", "pods", namespace=NAMESPACE)
    kube.grant("get", "deployments", namespace=NAMESPACE)
    needs = [
        ("get", "Secret", "erlang-cookie"),
        ("patch", "Secret", "erlang-cookie"),
        ("list", "Pod", None),
        ("get", "Deployment", "chat"),
        ("patch", "Deployment", "chat"),
    ]
    assert api.missing_permissions(needs) == ["patch deployments.apps 'chat'"]
    assert len(kube.reviews) == len(needs) and all(
        r["namespace"] == NAMESPACE for r in kube.reviews
    )
    requests = len(kube.requests)
    # without access reviews: reads are tried and patches dry-run, nothing is changed
    kube.deny("create", "selfsubjectaccessreviews")
    before = kube.get("Deployment", "chat", NAMESPACE)
    assert api.missing_permissions(needs) == ["patch deployments.apps 'chat'"]
    dry = [r for r in kube.requests[requests:] if r.method == "PATCH"]
    assert dry and all(r.query.get("dryRun") == "All" for r in dry)
    assert kube.get("Deployment", "chat", NAMESPACE) == before


def test_namespace_exists(kube, api):
    assert api.namespace_exists() is True
    with KubeApi.connect(namespace="nope") as ghost:
        assert ghost.namespace_exists() is False
        kube.deny("get", "namespaces")
        assert ghost.namespace_exists() is None
