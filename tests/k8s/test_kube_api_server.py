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
    code, created = call(server, "POST", SECRETS, {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert code == 201 and created["data"] == {"k": base64.b64encode(b"v").decode()} and "stringData" not in created
    assert created["type"] == "Opaque" and created["metadata"]["uid"]
    code, body = call(server, "POST", SECRETS, {"metadata": {"name": "s"}})
    assert (code, body["reason"]) == (409, "AlreadyExists")
    assert call(server, "POST", SECRETS, {"metadata": {"name": "b"}, "data": {"k": "!!"}})[0] == 400
    code, body = call(server, "PUT", SECRETS + "/s", {**created, "data": {"k": "eHg="}})
    assert code == 200 and body["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    code, body = call(server, "PUT", SECRETS + "/s", created)  # stale resourceVersion
    assert (code, body["reason"]) == (409, "Conflict") and "the object has been modified" in body["message"]
    code, body = call(server, "PUT", SECRETS + "/missing", {"metadata": {"name": "missing"}})
    assert (code, body["reason"]) == (404, "NotFound")


def test_immutable_secret(server):
    call(server, "POST", SECRETS, {"metadata": {"name": "i"}, "immutable": True, "data": {"k": "eHg="}})
    code, body = call(server, "PATCH", SECRETS + "/i", {"data": {"k": "eXk="}}, ctype="application/merge-patch+json")
    assert code == 422 and "immutable" in body["message"]


def test_patch_flavours(server):
    dep = {"metadata": {"name": "d", "labels": {"app": "x"}},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                    "template": {"metadata": {"labels": {"app": "x"}},
                                 "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}}}
    path = "/apis/apps/v1/namespaces/default/deployments"
    assert call(server, "POST", path, dep)[0] == 201
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}}
    code, body = call(server, "PATCH", path + "/d?fieldManager=tester", smp,
                      ctype="application/strategic-merge-patch+json")
    containers = body["spec"]["template"]["spec"]["containers"]
    assert code == 200 and [(c["name"], c["image"]) for c in containers] == [("a", "1"), ("b", "2")]
    assert body["metadata"]["generation"] == 2 and body["status"]["observedGeneration"] == 2
    assert "tester" in [m["manager"] for m in body["metadata"]["managedFields"]]
    code, body = call(server, "PATCH", path + "/d", [{"op": "test", "path": "/spec/replicas", "value": 5}],
                      ctype="application/json-patch+json")
    assert code == 422
    code, body = call(server, "PATCH", path + "/d", [{"op": "replace", "path": "/spec/replicas", "value": 3}],
                      ctype="application/json-patch+json")
    assert code == 200 and body["spec"]["replicas"] == 3


def test_patch_helpers():
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {"a": {"c": 2, "d": 3}}
    assert merge_patch({"l": [{"name": "x", "v": 1}]}, {"l": [{"name": "y"}]}) == {"l": [{"name": "y"}]}
    assert merge_patch({"l": [{"name": "x", "v": 1}]}, {"l": [{"name": "x", "$patch": "delete"}]},
                       strategic=True) == {"l": []}
    assert json_patch({"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3},
                                      {"op": "remove", "path": "/a/0"}]) == {"a": [2, 3]}


def test_controller_and_rbac(server):
    server.add({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                         "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c"}]}}}})
    pods = server.objects("Pod")
    assert [p["metadata"]["name"] for p in pods] == ["db-0", "db-1", "db-2"]
    assert all(p["status"]["phase"] == "Running" and p["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
               for p in pods)
    code, listed = call(server, "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Ddb&limit=2")
    assert code == 200 and len(listed["items"]) == 2 and listed["metadata"]["continue"] == "2"
    assert "kind" not in listed["items"][0]  # like a real server
    server.deny("list", "pods", "default")
    code, body = call(server, "GET", "/api/v1/namespaces/default/pods")
    assert code == 403 and body["reason"] == "Forbidden"
    assert 'cannot list resource "pods" in API group "" in the namespace "default"' in body["message"]
    assert call(server, "GET", "/api/v1/namespaces/default/pods/db-0")[0] == 200  # only list is denied


def test_faults(server):
    call(server, "POST", SECRETS, {"metadata": {"name": "s"}, "data": {}})
    server.fail_next("GET", "secrets", "s", status=500)
    assert call(server, "GET", SECRETS + "/s")[0] == 500
    assert call(server, "GET", SECRETS + "/s")[0] == 200  # only once
    seen = []
    server.before_next("DELETE", "secrets", "s", lambda s: seen.append(s.get("Secret", "s")["metadata"]["name"]))
    assert call(server, "DELETE", SECRETS + "/s")[0] == 200 and seen == ["s"]
    assert [r.verb for r in server.requests][-3:] == ["get", "get", "delete"]
