"""Discovery: node lists, --node-host maps, EPMD hosts, and pods' node names."""

from __future__ import annotations

import asyncio

import pytest

from erlcookie.errors import UsageError
from erlcookie.rotate.discovery import (
    KubeDiscovery,
    container_env,
    parse_epmd_host,
    parse_host_map,
    parse_nodes,
    parse_restart_target,
    pod_node_name,
    pod_ready_address,
)
from erlcookie.rotate.ops_distribution import Dial, Dialer

from .conftest import NAMESPACE


def test_parse_nodes():
    assert parse_nodes("a@h, b@h\nc@10.0.0.1") == ["a@h", "b@h", "c@10.0.0.1"]
    with pytest.raises(UsageError, match="no host part"):
        parse_nodes("a@h,bare")
    with pytest.raises(UsageError, match="empty"):
        parse_nodes(" , ")


def test_parse_host_map():
    got = parse_host_map(["a@h=10.0.0.5", "b@h=127.0.0.1:45123", "c@h=[::1]:9000"])
    assert got == {
        "a@h": Dial("10.0.0.5", 4369, None),
        "b@h": Dial("127.0.0.1", 4369, 45123),
        "c@h": Dial("::1", 4369, 9000),
    }
    for bad in ("a@h", "a@h=", "a@h=host:port", "a@h=host:70000"):
        with pytest.raises(UsageError):
            parse_host_map([bad])


def test_parse_epmd_host():
    assert parse_epmd_host("10.0.0.5") == ("10.0.0.5", 4369, "10.0.0.5")
    assert parse_epmd_host("localhost:4370=myhost") == ("localhost", 4370, "myhost")
    with pytest.raises(UsageError):
        parse_epmd_host("h:x")


def test_parse_restart_target():
    assert parse_restart_target("sts/chat") == ("StatefulSet", "chat")
    assert parse_restart_target("Deployment/web") == ("Deployment", "web")
    with pytest.raises(UsageError):
        parse_restart_target("job/x")


def test_dialer_precedence():
    dialer = Dialer(
        epmd_port=4370, default_host="bastion", fixed={"a@h": Dial("10.0.0.1", 4369, 9000)}
    )
    dialer.learn("a@h", Dial("10.9.9.9"))
    dialer.learn("b@h", Dial("10.0.0.2"))
    assert dialer.get("a@h").host == "10.0.0.1"  # --node-host wins over discovery
    assert dialer.get("b@h").host == "10.0.0.2"
    assert dialer.get("c@h") == Dial("bastion", 4370, None)


POD = {
    "metadata": {"name": "chat-1", "namespace": "prod", "labels": {"app": "chat"}},
    "spec": {
        "hostname": "chat-1",
        "subdomain": "chat-headless",
        "containers": [
            {"name": "sidecar", "env": [{"name": "RELEASE_NODE", "value": "nope"}]},
            {
                "name": "app",
                "env": [
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {
                        "name": "COOKIE",
                        "valueFrom": {"secretKeyRef": {"name": "s", "key": "cookie"}},
                    },
                    {"name": "RELEASE_NODE", "value": "chat@$(POD_IP)"},
                    {"name": "LITERAL", "value": "$$(POD_IP) $(UNKNOWN)"},
                ],
            },
        ],
    },
    "status": {"phase": "Running", "podIP": "10.1.2.3"},
}


def test_container_env_resolves_field_refs_and_references():
    env = container_env(POD, POD["spec"]["containers"][1])
    assert env["RELEASE_NODE"] == "chat@10.1.2.3"
    assert env["NS"] == "prod"
    assert env["LITERAL"] == "$(POD_IP) $(UNKNOWN)"
    assert "COOKIE" not in env  # Secret values are never read from pod specs


def test_pod_node_name_from_env_or_template():
    assert pod_node_name(POD) == "chat@10.1.2.3"
    assert pod_node_name(POD, container="sidecar") is None  # "nope" has no '@'
    assert (
        pod_node_name(
            POD, env_names=("OTHER",), template="chat@{hostname}.{subdomain}.{namespace}.svc"
        )
        == "chat@chat-1.chat-headless.prod.svc"
    )
    with pytest.raises(UsageError, match="--node-template"):
        pod_node_name(POD, env_names=("OTHER",), template="chat@{nope}")


def test_pod_ready_address():
    assert pod_ready_address(POD) == "10.1.2.3"
    assert pod_ready_address({**POD, "status": {"phase": "Pending"}}) is None
    deleting = {**POD, "metadata": {**POD["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    assert pod_ready_address(deleting) is None


def deployment(name):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "x",
                            "env": [
                                {
                                    "name": "POD_IP",
                                    "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                                },
                                {"name": "RELEASE_NODE", "value": "web@$(POD_IP)"},
                            ],
                        }
                    ]
                },
            },
        },
    }


def test_kube_discovery_dials_pod_ips_and_finds_owners(kube_api, kube_server):
    kube_server.add(deployment("web"))
    pending = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-starting", "namespace": NAMESPACE, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "x"}]},
        "status": {"phase": "Pending"},
    }
    kube_server.add(pending)
    dialer = Dialer()
    found = asyncio.run(KubeDiscovery(kube_api, "app=web", dialer).discover())
    assert len(found.nodes) == 2 and found.pending == ("pod/web-starting (Pending)",)
    for node in found.nodes:
        ip = node.split("@", 1)[1]
        assert dialer.get(node) == Dial(ip, 4369, None)
    discovery = KubeDiscovery(kube_api, "app=web", Dialer())
    asyncio.run(discovery.discover())
    assert discovery.owners() == [("Deployment", "web")]


def test_kube_discovery_needs_a_selector(kube_api):
    with pytest.raises(UsageError, match="selector"):
        KubeDiscovery(kube_api, "", Dialer())


def test_kube_discovery_reports_why_pods_are_pending(kube_api, kube_server):
    kube_server.pending("Deployment", "web", 1, NAMESPACE)
    kube_server.add(deployment("web"))
    found = asyncio.run(KubeDiscovery(kube_api, "app=web", Dialer()).discover())
    assert len(found.nodes) == 1 and len(found.pending) == 1
    assert found.pending[0].endswith("(Pending: Unschedulable)")


def test_kube_discovery_in_a_namespace_that_does_not_exist(kube_server):
    from erlcookie.errors import OperationalError
    from erlcookie.k8s.api import KubeApi

    with KubeApi.connect(namespace="nope", timeout=5) as api:
        with pytest.raises(OperationalError, match="namespace 'nope' does not exist"):
            asyncio.run(KubeDiscovery(api, "app=web", Dialer()).discover())
