"""The rotation's Kubernetes parts (pod discovery, the Secret store, the restarter) driven by
the real engine against the local API server over HTTP, with in-memory nodes behind the
pods (tests/rotate/fakes.py) so each case takes a moment: permissions proven in preflight,
a concurrent writer on the Secret, a restart that is resumed, pending pods, the API server
going away mid-rotation. test_k8s_path.py runs the same path with real OTP nodes."""

from __future__ import annotations

import asyncio
import base64
import threading

import pytest

from erlcookie.k8s.api import KubeApi
from erlcookie.rotate.discovery import KubeDiscovery, KubeRestarter
from erlcookie.rotate.engine import EngineOptions, PhaseFailed, PreflightFailed, RotationEngine
from erlcookie.rotate.journal import DONE, Journal
from erlcookie.rotate.ops_distribution import Dialer
from erlcookie.rotate.persist import SecretPersister
from erlcookie.rotate.plan import NEW, OLD
from tests.support.rotate_cluster import secret_labels

from .conftest import NAMESPACE
from .fakes import FakeCluster, FakeOps

SECRET = "erlang-cookie"
APP = "chat"
NAMES = [f"{APP}-{i}@127.0.0.1" for i in range(3)]


def statefulset(replicas: int = 3) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": APP, "namespace": NAMESPACE, "labels": {"app": APP}},
        "spec": {
            "replicas": replicas,
            "serviceName": APP,
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}},
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
                                        "secretKeyRef": {"name": SECRET, "key": "cookie"}
                                    },
                                },
                            ],
                        }
                    ]
                },
            },
        },
    }


@pytest.fixture
def app(kube_server, cookies):
    kube_server.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": SECRET, "namespace": NAMESPACE},
            "data": {"cookie": base64.b64encode(cookies[OLD].as_bytes()).decode()},
        }
    )
    kube_server.add(statefulset())
    return kube_server


class Rotation:
    """The engine with real Kubernetes adapters and in-memory nodes."""

    def __init__(self, cookies, tmp_path, *, restart: bool = False, restart_timeout: float = 5):
        self.cookies = cookies
        self.tmp_path = tmp_path
        self.cluster = FakeCluster(NAMES)
        self.api = KubeApi.connect(timeout=5)
        self.discovery = KubeDiscovery(self.api, f"app={APP}", Dialer())
        self.store = SecretPersister(self.api, SECRET, cookies)
        self.restarter = (
            KubeRestarter(self.api, self.discovery, timeout=restart_timeout) if restart else None
        )
        self.events: list[dict] = []
        self.hook = None

    def engine(self) -> RotationEngine:
        return RotationEngine(
            FakeOps(self.cluster),
            self.discovery,
            self.store,
            restarter=self.restarter,
            emit=lambda **e: self.events.append(e),
            options=EngineOptions(
                crash="raise", converge_interval=0.05, converge_timeout=1, converge_settle=0
            ),
            hook=self.hook,
        )

    def start(self) -> str:
        async def go():
            engine = self.engine()
            report = await engine.preflight()
            journal = Journal.create(
                self.tmp_path / "j.json",
                old_fingerprint="fp1:old",
                new_fingerprint="fp1:new",
                members=report.members,
                model=report.model,
                settings={},
                secrets_file=None,
            )
            engine.begin(journal)
            return await engine.drive(journal, fresh=True)

        return asyncio.run(go())

    def resume(self) -> str:
        journal = Journal.load(self.tmp_path / "j.json")
        return asyncio.run(self.engine().drive(journal))

    def close(self) -> None:
        self.api.close()


@pytest.fixture
def rotation(app, cookies, tmp_path):
    made = []

    def make(**kwargs) -> Rotation:
        made.append(Rotation(cookies, tmp_path, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def writes(kube, method=None, plural=None):
    return [
        r
        for r in kube.requests
        if r.method in ("POST", "PUT", "PATCH", "DELETE")
        and (method is None or r.method == method)
        and (plural is None or f"/{plural}" in r.path)
        and r.query.get("dryRun") != "All"
        and "selfsubjectaccessreviews" not in r.path
    ]


def rotation_role(kube, *, restart: bool, patch_workload: bool = True, patch_secret: bool = True):
    kube.grant("get", "secrets", namespace=NAMESPACE, names=[SECRET])
    if patch_secret:
        kube.grant("patch", "secrets", namespace=NAMESPACE, names=[SECRET])
    kube.grant("list", "pods", namespace=NAMESPACE)
    if restart:
        kube.grant("get", ["statefulsets", "replicasets"], namespace=NAMESPACE)
        if patch_workload:
            kube.grant("patch", "statefulsets", namespace=NAMESPACE, names=[APP])


# -- permissions -------------------------------------------------------------------------------------


def test_preflight_proves_patch_on_the_restart_target_and_changes_nothing(app, rotation):
    rotation_role(app, restart=True, patch_workload=False)
    r = rotation(restart=True)
    with pytest.raises(PreflightFailed) as info:
        r.start()
    problem = [p for p in info.value.problems if p.get("source") == "restart"][0]
    assert "missing permission in namespace 'rot'" in problem["detail"]
    assert "patch statefulsets.apps 'chat'" in problem["detail"]
    assert info.value.exit_code == 3 and "restart: " in str(info.value)
    assert writes(app) == [] and r.cluster.settled(OLD)
    assert all(not s.pins for s in r.cluster.nodes.values())


def test_preflight_proves_patch_on_the_secret(app, rotation):
    rotation_role(app, restart=False, patch_secret=False)
    with pytest.raises(PreflightFailed) as info:
        rotation().start()
    problem = [p for p in info.value.problems if p.get("source") == "store"][0]
    assert "patch secrets 'erlang-cookie'" in problem["detail"]
    assert writes(app) == []


def test_least_privilege_role_is_enough_for_a_rotation_with_restart(app, rotation, cookies):
    rotation_role(app, restart=True)
    r = rotation(restart=True)
    assert r.start() == DONE
    assert secret_labels(app.get("Secret", SECRET, NAMESPACE)["data"], cookies) == {"cookie": NEW}


# -- conflicts -----------------------------------------------------------------------------------------


def test_a_concurrent_writer_on_the_secret_does_not_disturb_the_rotation(app, rotation, cookies):
    """Another client rewrites the Secret's labels as fast as it can for the whole run:
    persist and finalize patch only the keys they own, so neither conflicts."""
    stop = threading.Event()
    count = [0]

    def writer():
        while not stop.is_set() and count[0] < 50000:
            app.update(
                "Secret",
                SECRET,
                lambda o: o["metadata"].update(labels={"generation": str(count[0])}),
                namespace=NAMESPACE,
            )
            count[0] += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    r = rotation()
    try:
        assert r.start() == DONE
    finally:
        stop.set()
        thread.join(10)
    assert count[0] > 100
    done = {e["phase"]: e for e in r.events if e["event"] == "phase" and e["status"] == "done"}
    assert done["persist"]["conflicts_retried"] == 0 and done["finalize"]["conflicts_retried"] == 0
    secret = app.get("Secret", SECRET, NAMESPACE)
    assert secret_labels(secret["data"], cookies) == {"cookie": NEW}
    assert secret["metadata"]["labels"]["generation"]


# -- restart and resume ----------------------------------------------------------------------------------


def test_resume_after_a_requested_restart_only_waits(app, rotation):
    """The rollout does not finish in time: the run stops in restart. --resume sees its own
    restartedAt stamp on the StatefulSet and waits; it never starts another rollout."""
    app.stall("StatefulSet", APP, NAMESPACE)
    r = rotation(restart=True, restart_timeout=1)
    with pytest.raises(PhaseFailed) as info:
        r.start()
    message = str(info.value)
    assert message.startswith("restart failed: StatefulSet 'chat': rollout not complete after 1s")
    assert "already holds the new cookie" in message and "--resume" in message
    assert len(writes(app, "PATCH", "statefulsets")) == 1
    stamp = Journal.load(r.tmp_path / "j.json").data["restart_stamps"]["StatefulSet/chat"]
    template = app.get("StatefulSet", APP, NAMESPACE)["spec"]["template"]
    assert template["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == stamp

    app.unstall("StatefulSet", APP, NAMESPACE)
    r.events.clear()
    assert r.resume() == DONE
    assert len(writes(app, "PATCH", "statefulsets")) == 1  # no second rollout
    waited = [e for e in r.events if e.get("action") == "restart"]
    assert waited and waited[0]["detail"] == f"already requested at {stamp}; waiting for it"


def test_resume_restamps_when_the_stamp_never_reached_the_workload(app, rotation):
    r = rotation(restart=True, restart_timeout=1)
    app.fail_next("PATCH", "statefulsets", APP, status=500)
    with pytest.raises(PhaseFailed):
        r.start()
    assert "restartedAt" not in str(app.get("StatefulSet", APP, NAMESPACE)["spec"]["template"])
    assert r.resume() == DONE
    assert len(writes(app, "PATCH", "statefulsets")) == 2  # the failed one and the real one


# -- pending pods and a vanishing API server ------------------------------------------------------------


def test_a_pending_replica_is_waited_for_then_reported(app, rotation, cookies):
    app.pending("StatefulSet", APP, 1, NAMESPACE)
    r = rotation()
    r.cluster.kill(NAMES[2])  # no node runs in the pending pod
    assert r.start() == DONE
    warnings = [e["message"] for e in r.events if e["event"] == "warning"]
    assert any(
        "still not running after 1s: pod/chat-2 (Pending: Unschedulable)" in w for w in warnings
    )
    assert secret_labels(app.get("Secret", SECRET, NAMESPACE)["data"], cookies) == {"cookie": NEW}


def test_api_server_gone_mid_rotation_says_what_is_done_and_how_to_finish(app, rotation):
    r = rotation()

    def hook(point, engine):
        if point == "persist":
            app.stall_requests("silent")  # the API server stops answering

    r.hook = hook
    r.api.timeout = 0.5
    with pytest.raises(PhaseFailed) as info:
        r.start()
    message = str(info.value)
    assert message.startswith(
        "converge failed on discovery: pods -l app=chat in namespace rot: the Kubernetes API"
    )
    assert "Secret rot/erlang-cookie key 'cookie' already holds the new cookie" in message
    assert "Finish with `erlcookie rotate --resume`" in message
    failed = [e for e in r.events if e["event"] == "phase" and e["status"] == "failed"]
    assert failed and failed[0]["phase"] == "converge"
    app.unstall_requests()
    assert r.resume() == DONE
