"""The local API server itself (tests/support/kube_api.py), at the HTTP level, so the
rotation tests and ours can trust what it answers."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

from tests.support.kube_api import KubeApiServer, json_patch, merge_patch


@pytest.fixture
def server():
    with KubeApiServer() as s:
        yield s


def call(server, method, path, body=None, *, token=True, ctype="application/json"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {server.token}")
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


SECRETS = "/api/v1/namespaces/default/secrets"


def test_auth_and_unknown_paths(server):
    assert call(server, "GET", SECRETS, token=False)[0] == 401
    assert call(server, "GET", "/api/v1/namespaces/default/services")[0] == 404
    assert call(server, "GET", "/apis/batch/v1/namespaces/default/deployments")[0] == 404
    code, body = call(server, "GET", SECRETS + "?watch=true")
    assert code == 400 and "watch" in body["message"]


def test_secret_semantics(server):
    code, created = call(
        server, "POST", SECRETS, {"metadata": {"name": "s"}, "stringData": {"k": "v"}}
    )
    assert (
        code == 201
        and created["data"] == {"k": base64.b64encode(b"v").decode()}
        and "stringData" not in created
    )
    assert created["type"] == "Opaque" and created["metadata"]["uid"]
    code, body = call(server, "POST", SECRETS, {"metadata": {"name": "s"}})
    assert (code, body["reason"]) == (409, "AlreadyExists")
    assert call(server, "POST", SECRETS, {"metadata": {"name": "b"}, "data": {"k": "!!"}})[0] == 400
    code, body = call(server, "PUT", SECRETS + "/s", {**created, "data": {"k": "eHg="}})
    assert (
        code == 200
        and body["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    )
    code, body = call(server, "PUT", SECRETS + "/s", created)  # stale resourceVersion
    assert (code, body["reason"]) == (409, "Conflict") and "the object has been modified" in body[
        "message"
    ]
    code, body = call(server, "PUT", SECRETS + "/missing", {"metadata": {"name": "missing"}})
    assert (code, body["reason"]) == (404, "NotFound")


def test_immutable_secret(server):
    call(
        server,
        "POST",
        SECRETS,
        {"metadata": {"name": "i"}, "immutable": True, "data": {"k": "eHg="}},
    )
    code, body = call(
        server,
        "PATCH",
        SECRETS + "/i",
        {"data": {"k": "eXk="}},
        ctype="application/merge-patch+json",
    )
    assert code == 422 and "immutable" in body["message"]


def test_patch_flavours(server):
    dep = {
        "metadata": {"name": "d", "labels": {"app": "x"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]},
            },
        },
    }
    path = "/apis/apps/v1/namespaces/default/deployments"
    assert call(server, "POST", path, dep)[0] == 201
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}}
    code, body = call(
        server,
        "PATCH",
        path + "/d?fieldManager=tester",
        smp,
        ctype="application/strategic-merge-patch+json",
    )
    containers = body["spec"]["template"]["spec"]["containers"]
    assert code == 200 and [(c["name"], c["image"]) for c in containers] == [("a", "1"), ("b", "2")]
    assert body["metadata"]["generation"] == 2 and body["status"]["observedGeneration"] == 2
    assert "tester" in [m["manager"] for m in body["metadata"]["managedFields"]]
    code, body = call(
        server,
        "PATCH",
        path + "/d",
        [{"op": "test", "path": "/spec/replicas", "value": 5}],
        ctype="application/json-patch+json",
    )
    assert code == 422
    code, body = call(
        server,
        "PATCH",
        path + "/d",
        [{"op": "replace", "path": "/spec/replicas", "value": 3}],
        ctype="application/json-patch+json",
    )
    assert code == 200 and body["spec"]["replicas"] == 3


def test_patch_helpers():
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {
        "a": {"c": 2, "d": 3}
    }
    assert merge_patch({"l": [{"name": "x", "v": 1}]}, {"l": [{"name": "y"}]}) == {
        "l": [{"name": "y"}]
    }
    assert merge_patch(
        {"l": [{"name": "x", "v": 1}]}, {"l": [{"name": "x", "$patch": "delete"}]}, strategic=True
    ) == {"l": []}
    assert json_patch(
        {"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "remove", "path": "/a/0"}]
    ) == {"a": [2, 3]}


def test_controller_and_rbac(server):
    server.add(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 3,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "c"}]},
                },
            },
        }
    )
    pods = server.objects("Pod")
    assert [p["metadata"]["name"] for p in pods] == ["db-0", "db-1", "db-2"]
    assert all(
        p["status"]["phase"] == "Running"
        and p["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
        for p in pods
    )
    code, listed = call(
        server, "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Ddb&limit=2"
    )
    assert code == 200 and len(listed["items"]) == 2 and listed["metadata"]["continue"] == "2"
    assert "kind" not in listed["items"][0]  # like a real server
    server.deny("list", "pods", "default")
    code, body = call(server, "GET", "/api/v1/namespaces/default/pods")
    assert code == 403 and body["reason"] == "Forbidden"
    assert (
        'cannot list resource "pods" in API group "" in the namespace "default"' in body["message"]
    )
    assert (
        call(server, "GET", "/api/v1/namespaces/default/pods/db-0")[0] == 200
    )  # only list is denied


def test_faults(server):
    call(server, "POST", SECRETS, {"metadata": {"name": "s"}, "data": {}})
    server.fail_next("GET", "secrets", "s", status=500)
    assert call(server, "GET", SECRETS + "/s")[0] == 500
    assert call(server, "GET", SECRETS + "/s")[0] == 200  # only once
    seen = []
    server.before_next(
        "DELETE", "secrets", "s", lambda s: seen.append(s.get("Secret", "s")["metadata"]["name"])
    )
    assert call(server, "DELETE", SECRETS + "/s")[0] == 200 and seen == ["s"]
    assert [r.verb for r in server.requests][-3:] == ["get", "get", "delete"]


# -- where the real server's rules matter (issue: Kubernetes paths against a real API server) --


def test_every_write_bumps_the_resource_version_and_a_stale_put_is_409(server):
    code, created = call(
        server, "POST", SECRETS, {"metadata": {"name": "s"}, "data": {"k": "eA=="}}
    )
    first = created["metadata"]["resourceVersion"]
    code, same = call(server, "PUT", SECRETS + "/s", created)  # a write that changes nothing
    assert code == 200 and same["metadata"]["resourceVersion"] != first
    code, body = call(server, "PUT", SECRETS + "/s", created)  # stale, although nothing differs
    assert (code, body["reason"]) == (409, "Conflict")


def test_json_patch_test_failure_is_the_real_servers_422(server):
    call(server, "POST", SECRETS, {"metadata": {"name": "s"}, "data": {"k": "eA=="}})
    ops = [
        {"op": "test", "path": "/data/k", "value": "eQ=="},
        {"op": "replace", "path": "/data/k", "value": "eg=="},
    ]
    code, body = call(server, "PATCH", SECRETS + "/s", ops, ctype="application/json-patch+json")
    assert (code, body["reason"]) == (422, "Invalid")
    # what patch.go sends: NewGenericServerResponse(422, ...) keeps no detail of the library
    assert body["message"] == "the server rejected our request due to an error in our request"
    assert server.get("Secret", "s")["data"] == {"k": "eA=="}
    missing = [{"op": "test", "path": "/data/absent", "value": "eA=="}]
    assert (
        call(server, "PATCH", SECRETS + "/s", missing, ctype="application/json-patch+json")[0]
        == 422
    )
    ops[0]["value"] = "eA=="
    code, body = call(server, "PATCH", SECRETS + "/s", ops, ctype="application/json-patch+json")
    assert code == 200 and body["data"] == {"k": "eg=="}


def test_rbac_table_and_self_subject_access_reviews(server):
    server.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {}})
    server.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}, "data": {}})
    server.grant(["get", "patch"], "secrets", namespace="default", names=["s"])
    server.grant("list", "pods")

    def review(verb, resource, name=None, group="", namespace="default"):
        attrs = {"namespace": namespace, "verb": verb, "group": group, "resource": resource}
        if name:
            attrs["name"] = name
        code, body = call(
            server,
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs},
            },
        )
        assert code == 201 and body["kind"] == "SelfSubjectAccessReview"
        return body["status"]["allowed"]

    assert review("get", "secrets", "s") and review("patch", "secrets", "s")
    assert not review("get", "secrets", "t") and not review("get", "secrets")  # resourceNames
    assert not review("update", "secrets", "s") and review("list", "pods")
    assert not review("list", "pods", group="apps")
    assert call(server, "GET", SECRETS + "/s")[0] == 200
    code, body = call(server, "GET", SECRETS + "/t")
    assert code == 403 and body["message"] == (
        'secrets "t" is forbidden: User "system:serviceaccount:default:erlcookie-test" cannot get '
        'resource "secrets" in API group "" in the namespace "default"'
    )
    code, body = call(server, "GET", "/apis/apps/v1/namespaces/default/deployments")
    assert code == 403 and body["message"].startswith("deployments.apps is forbidden")
    assert body["details"] == {"name": "", "kind": "deployments", "group": "apps"}


def test_dry_run_checks_and_stores_nothing(server):
    server.grant(["get", "patch"], "secrets")
    server.add(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "eA=="}}
    )
    before = server.get("Secret", "s")
    ops = [{"op": "replace", "path": "/data/k", "value": "eQ=="}]
    code, body = call(
        server, "PATCH", SECRETS + "/s?dryRun=All", ops, ctype="application/json-patch+json"
    )
    assert code == 200 and body["data"] == {"k": "eQ=="}
    assert server.get("Secret", "s") == before
    code, body = call(server, "POST", SECRETS + "?dryRun=All", {"metadata": {"name": "n"}})
    assert code == 403  # a dry run needs the same permissions
    assert (
        call(server, "PATCH", SECRETS + "/s?dryRun=Yes", ops, ctype="application/json-patch+json")[
            0
        ]
        == 400
    )


def test_pending_pods_and_missing_namespaces(server):
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 3,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "c"}]},
            },
        },
    }
    server.pending("StatefulSet", "db", 1)
    server.add(sts)
    phases = {p["metadata"]["name"]: p["status"]["phase"] for p in server.objects("Pod")}
    assert phases == {"db-0": "Running", "db-1": "Running", "db-2": "Pending"}
    pending = server.get("Pod", "db-2")
    assert (
        "podIP" not in pending["status"]
        and pending["status"]["conditions"][0]["reason"] == "Unschedulable"
    )
    assert server.get("StatefulSet", "db")["status"]["readyReplicas"] == 2
    server.schedule("StatefulSet", "db")
    assert server.get("Pod", "db-2")["status"]["podIP"]
    assert server.get("StatefulSet", "db")["status"]["readyReplicas"] == 3
    # a namespace that does not exist: lists are empty, objects and the namespace are 404
    code, body = call(server, "GET", "/api/v1/namespaces/nope/pods")
    assert code == 200 and body["items"] == []
    assert call(server, "GET", "/api/v1/namespaces/nope/secrets/s")[0] == 404
    code, body = call(server, "GET", "/api/v1/namespaces/nope")
    assert code == 404 and body["message"] == 'namespaces "nope" not found'


def test_a_stalled_server_drips_or_stays_silent(server):
    import socket
    import time

    server.stall_requests("drip", path="/secrets", interval=0.01)
    started = time.monotonic()
    code, body = call(server, "GET", SECRETS)  # every read gets a byte: it just takes long
    assert code == 200 and body["kind"] == "SecretList"
    assert time.monotonic() - started > 0.01 * 100
    server.stall_requests("silent")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.settimeout(0.5)
        with pytest.raises(TimeoutError):
            conn.recv(1)
    server.unstall_requests()
    assert call(server, "GET", "/version")[0] == 200
