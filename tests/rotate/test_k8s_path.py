"""The Kubernetes path, end to end: pods discovered through the API (node names from
RELEASE_NODE with the downward API), the old cookie read from the Secret, the new one
persisted with the old kept under a second key until the end, a 409 on the Secret update
retried, --restart, and the in-cluster Job's own command under its least-privilege Role
while another client keeps rewriting the Secret. The API is the local test server (tests/support/kube_api.py);
the pods are backed by real OTP nodes that a stand-in kubelet starts with the Secret's
current value, and restarts when the StatefulSet's template changes."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time

import pytest

from erlcookie.cookie.generate import generate
from erlcookie.cookie.value import Cookie
from erlcookie.k8s.manifests import FINGERPRINT_ANNOTATION
from erlcookie.rotate.plan import NEW, OLD
from tests.support.rotate_cluster import LocalCluster, assert_no_cookie, secret_labels, write_cookie

from .conftest import NAMESPACE

pytestmark = [pytest.mark.interop, pytest.mark.timeout(240)]

SECRET = "erlang-cookie"


def b64(cookie: Cookie) -> str:
    return base64.b64encode(cookie.as_bytes()).decode()


def statefulset(name: str, replicas: int = 3) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
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


class Kubelet:
    """Runs a real node for each pod of the StatefulSet, with the Secret's cookie."""

    def __init__(self, kube, name: str, replicas: int) -> None:
        self.kube = kube
        self.name = name
        self.replicas = replicas
        self.cluster: LocalCluster | None = None
        self.generations = 0

    def secret_cookie(self) -> Cookie:
        data = self.kube.get("Secret", SECRET, NAMESPACE)["data"]["cookie"]
        return Cookie(base64.b64decode(data).decode())

    def start(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        self.cluster = LocalCluster(self.secret_cookie(), self.replicas, prefix=self.name)
        self.generations += 1

    def on_rollout(self, server) -> None:  # runs in the API server's thread
        self.start()


def rotate(args, kubeconfig, timeout=120):
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    env.pop("ERLCOOKIE_ROTATE_CRASH_AT", None)
    return subprocess.run(
        [sys.executable, "-m", "erlcookie", "rotate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def events(proc):
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def test_kubernetes_rotation_with_secret_both_keys_409_and_restart(kube_server, tmp_path):
    old = generate("elixir")
    name = f"rk{secrets.token_hex(3)}"
    kube_server.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": SECRET, "namespace": NAMESPACE},
            "data": {"cookie": b64(old)},
        }
    )
    kube_server.add(statefulset(name))
    assert len(kube_server.objects("Pod", NAMESPACE)) == 3
    kubelet = Kubelet(kube_server, name, 3)
    kubelet.start()
    try:
        journal = tmp_path / "j.json"
        new = generate("elixir")
        new_file = write_cookie(tmp_path / "new", new)
        args = [
            "-n",
            NAMESPACE,
            "-l",
            f"app={name}",
            "--secret",
            SECRET,
            "--dial-by-name",
            "--restart",
            "--new-cookie-file",
            str(new_file),
            "--journal",
            str(journal),
            "--converge-settle",
            "0.3",
            "--json",
        ]
        # dry run first: discovery through the API, old cookie from the Secret, no change
        dry = rotate(args + ["--dry-run"], kube_server.kubeconfig_path)
        assert dry.returncode == 0, dry.stderr[-800:]
        plan = [e for e in events(dry) if e["event"] == "plan"][0]
        assert plan["members"] == [f"{name}-{i}@127.0.0.1" for i in range(3)]
        assert "rollout restart StatefulSet/" + name in " ".join(plan["steps"])
        assert secret_labels(
            kube_server.get("Secret", SECRET, NAMESPACE)["data"], {OLD: old, NEW: new}
        ) == {"cookie": OLD}

        kube_server.fail_next("PATCH", "secrets", SECRET, status=409)
        env_crash = dict(
            os.environ,
            KUBECONFIG=str(kube_server.kubeconfig_path),
            ERLCOOKIE_ROTATE_CRASH_AT="verify",
        )
        crashed = subprocess.run(
            [sys.executable, "-m", "erlcookie", "rotate", *args],
            capture_output=True,
            text=True,
            env=env_crash,
            timeout=120,
        )
        assert crashed.returncode == -9, crashed.stderr[-800:]
        got = events(crashed)
        cookies_event = [e for e in got if e["event"] == "cookies"][0]
        assert cookies_event["old"] == old.fingerprint()
        assert cookies_event["old_source"] == f"Secret {NAMESPACE}/{SECRET}"
        persist = [e for e in got if e.get("phase") == "persist" and e.get("status") == "done"][0]
        assert persist["conflicts_retried"] == 1
        # in the middle of the rotation the Secret carries both cookies
        data = kube_server.get("Secret", SECRET, NAMESPACE)["data"]
        assert secret_labels(data, {OLD: old, NEW: new}) == {"cookie": NEW, "cookie.old": OLD}
        annotations = kube_server.get("Secret", SECRET, NAMESPACE)["metadata"]["annotations"]
        assert annotations[FINGERPRINT_ANNOTATION] == new.fingerprint()  # `k8s status` trusts it
        assert kubelet.generations == 1  # nothing restarted yet

        kube_server.before_next("PATCH", "statefulsets", name, kubelet.on_rollout)
        resumed = rotate(
            ["--resume", "--journal", str(journal), "--json"], kube_server.kubeconfig_path
        )
        assert resumed.returncode == 0, resumed.stderr[-1200:]
        got = events(resumed)
        assert got[-1]["event"] == "result" and got[-1]["status"] == "done"
        restart = [e for e in got if e.get("phase") == "restart" and e.get("status") == "done"][0]
        assert restart["restarted"] == [f"StatefulSet/{name}"] and restart["members"] == 3
        for proc in (dry, crashed, resumed):
            assert_no_cookie(proc.stdout + proc.stderr, old, new)
        # the old key is gone, the pods were replaced and run the new cookie
        assert secret_labels(
            kube_server.get("Secret", SECRET, NAMESPACE)["data"], {OLD: old, NEW: new}
        ) == {"cookie": NEW}
        template = kube_server.get("StatefulSet", name, NAMESPACE)["spec"]["template"]
        assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
        assert kubelet.generations == 2
        views = kubelet.cluster.views({OLD: old, NEW: new})
        assert {v[0] for v in views.values()} == {NEW}
        import asyncio

        from erlcookie.distribution.client import ping_many

        names = kubelet.cluster.names
        assert [r.verdict for r in asyncio.run(ping_many(names, new))] == ["accepted"] * 3
        assert [r.verdict for r in asyncio.run(ping_many(names, old))] == ["rejected"] * 3
    finally:
        if kubelet.cluster is not None:
            kubelet.cluster.stop()


def test_kubernetes_preflight_reports_pods_without_node_names(kube_server, tmp_path):
    sts = statefulset("nameless", replicas=1)
    sts["spec"]["template"]["spec"]["containers"][0]["env"] = []
    kube_server.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET, "namespace": NAMESPACE},
            "data": {"cookie": b64(generate("elixir"))},
        }
    )
    kube_server.add(sts)
    proc = rotate(
        [
            "-n",
            NAMESPACE,
            "-l",
            "app=nameless",
            "--secret",
            SECRET,
            "--dry-run",
            "--journal",
            str(tmp_path / "j.json"),
        ],
        kube_server.kubeconfig_path,
    )
    assert proc.returncode == 2
    assert "--node-template" in proc.stderr and "nameless-0" in proc.stderr


def test_port_forward_path_from_a_laptop(kube_server, tmp_path):
    """`--port-forward`: each pod is reached through `kubectl port-forward` to its EPMD,
    then to the distribution port EPMD names. A stand-in kubectl (tests/rotate/fake_bin)
    relays to the real nodes; a real cluster's port-forward was not exercised."""
    old, new = generate("elixir"), generate("elixir")
    name = f"pf{secrets.token_hex(3)}"
    kube_server.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET, "namespace": NAMESPACE},
            "data": {"cookie": b64(old)},
        }
    )
    kube_server.add(statefulset(name, replicas=2))
    kubelet = Kubelet(kube_server, name, 2)
    kubelet.start()
    log = tmp_path / "kubectl.log"
    fake_bin = os.path.join(os.path.dirname(__file__), "fake_bin")
    try:
        new_file = write_cookie(tmp_path / "new", new)
        env = dict(
            os.environ,
            KUBECONFIG=str(kube_server.kubeconfig_path),
            PATH=fake_bin + os.pathsep + os.environ["PATH"],
            FAKE_KUBECTL_LOG=str(log),
        )
        env.pop("ERLCOOKIE_ROTATE_CRASH_AT", None)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "erlcookie",
                "rotate",
                "-n",
                NAMESPACE,
                "-l",
                f"app={name}",
                "--secret",
                SECRET,
                "--port-forward",
                "--new-cookie-file",
                str(new_file),
                "--journal",
                str(tmp_path / "j.json"),
                "--converge-settle",
                "0",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-1000:]
        assert "done: 2 node(s) run the new cookie" in proc.stdout
        starts = [line.split() for line in log.read_text().splitlines()]
        forwarded = {(words[-2], words[-1]) for words in starts}
        for i in range(2):
            assert (f"pod/{name}-{i}", ":4369") in forwarded
        dist_ports = {kubelet.cluster.nodes[n].dist_port() for n in kubelet.cluster.names}
        assert {f":{p}" for p in dist_ports} <= {port for _, port in forwarded}
        for words in starts:  # every kubectl the tool started is gone again
            pid = int(words[0])
            try:
                os.kill(pid, 0)
                alive = not open(f"/proc/{pid}/stat").read().split()[2] == "Z"
            except (ProcessLookupError, FileNotFoundError):
                alive = False
            assert not alive, f"kubectl port-forward {pid} outlived the rotation"
        views = kubelet.cluster.views({OLD: old, NEW: new})
        assert {v[0] for v in views.values()} == {NEW}
        assert secret_labels(
            kube_server.get("Secret", SECRET, NAMESPACE)["data"], {OLD: old, NEW: new}
        ) == {"cookie": NEW}
    finally:
        kubelet.cluster.stop()


def test_in_cluster_job_rotation_under_a_concurrent_writer(kube_server, tmp_path, monkeypatch):
    """What `erlcookie k8s job rotate` runs, run as the pod would (service-account files,
    HTTPS, the Role of `erlcookie k8s rbac rotate --restart` as the server's RBAC table),
    while another client rewrites the Secret's labels as fast as it can: done, no conflict,
    the other client's writes kept, every node on the new cookie after the restart."""
    import threading

    from ruamel.yaml import YAML

    from erlcookie.k8s.rbac import rbac_manifests
    from tests.support.certs import make_pki
    from tests.support.kube_api import KubeApiServer

    old, new = generate("elixir"), generate("elixir")
    name = f"ic{secrets.token_hex(3)}"
    pki = make_pki(tmp_path / "pki", ["127.0.0.1"])
    with KubeApiServer(tls=(pki.node_cert, pki.node_key)) as server:
        server.namespaces.add(NAMESPACE)
        account = tmp_path / "serviceaccount"
        account.mkdir()
        (account / "token").write_text(server.token)
        (account / "ca.crt").write_bytes(pki.ca_cert.read_bytes())
        (account / "namespace").write_text(NAMESPACE)
        server.add(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": SECRET, "namespace": NAMESPACE},
                "data": {"cookie": b64(old)},
            }
        )
        server.add(statefulset(name, replicas=3))
        role = rbac_manifests("rotate", namespace=NAMESPACE, secret=SECRET, restart=True)[1]
        server.grant_role(role)
        kubelet = Kubelet(server, name, 3)
        kubelet.start()
        server.before_next("PATCH", "statefulsets", name, kubelet.on_rollout)
        stop = threading.Event()
        writes = [0]

        def writer():
            while not stop.is_set() and writes[0] < 100000:
                server.update(
                    "Secret",
                    SECRET,
                    lambda o: o["metadata"].update(labels={"n": str(writes[0])}),
                    namespace=NAMESPACE,
                )
                writes[0] += 1
                time.sleep(0.002)

        thread = threading.Thread(target=writer, daemon=True)
        try:
            job = YAML(typ="safe", pure=True).load(rotate_cli_job(name))
            args = job["spec"]["template"]["spec"]["containers"][0]["args"]
            args[args.index("--journal") + 1] = str(tmp_path / "j.json")
            env = dict(
                os.environ,
                KUBERNETES_SERVICE_HOST="127.0.0.1",
                KUBERNETES_SERVICE_PORT=str(server.port),
                ERLCOOKIE_SERVICE_ACCOUNT_DIR=str(account),
                KUBECONFIG=str(tmp_path / "none"),
            )
            env.pop("ERLCOOKIE_ROTATE_CRASH_AT", None)
            thread.start()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "erlcookie",
                    *args,
                    "--dial-by-name",
                    "--converge-settle",
                    "0.3",
                    "--json",
                    "--new-cookie-file",
                    str(write_cookie(tmp_path / "new", new)),
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=180,
            )
            stop.set()
            thread.join(10)
            assert proc.returncode == 0, proc.stderr[-1500:]
            got = events(proc)
            done = {e["phase"]: e for e in got if e["event"] == "phase" and e["status"] == "done"}
            assert done["persist"]["conflicts_retried"] == 0
            assert done["finalize"]["conflicts_retried"] == 0
            assert writes[0] > 50
            assert_no_cookie(proc.stdout + proc.stderr, old, new)
            secret = server.get("Secret", SECRET, NAMESPACE)
            assert secret_labels(secret["data"], {OLD: old, NEW: new}) == {"cookie": NEW}
            assert secret["metadata"]["labels"]["n"]
            assert kubelet.generations == 2
            views = kubelet.cluster.views({OLD: old, NEW: new})
            assert {v[0] for v in views.values()} == {NEW}
        finally:
            stop.set()
            if kubelet.cluster is not None:
                kubelet.cluster.stop()


def rotate_cli_job(name: str) -> str:
    from click.testing import CliRunner

    from erlcookie.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "k8s",
            "job",
            "rotate",
            "-n",
            NAMESPACE,
            "-l",
            f"app={name}",
            "--restart",
            "--image",
            "erlcookie:test",
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_api_failure_after_persist_tells_what_is_done_and_resume_finishes(kube_server, tmp_path):
    """The Kubernetes API fails from the moment the Secret is written (every pod list is a
    503): the run stops in converge with a failed-phase line, says the Secret already holds
    the new cookie and that --resume finishes; --resume then does."""
    old, new = generate("elixir"), generate("elixir")
    name = f"af{secrets.token_hex(3)}"
    kube_server.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET, "namespace": NAMESPACE},
            "data": {"cookie": b64(old)},
        }
    )
    kube_server.add(statefulset(name, replicas=2))
    kubelet = Kubelet(kube_server, name, 2)
    kubelet.start()
    try:

        def api_breaks(server):
            server.fail_next(
                "GET", "pods", status=503, count=10000, message="etcdserver: request timed out"
            )

        kube_server.before_next("PATCH", "secrets", SECRET, api_breaks)
        journal = tmp_path / "j.json"
        args = [
            "-n",
            NAMESPACE,
            "-l",
            f"app={name}",
            "--secret",
            SECRET,
            "--dial-by-name",
            "--new-cookie-file",
            str(write_cookie(tmp_path / "new", new)),
            "--journal",
            str(journal),
            "--converge-settle",
            "0.3",
        ]
        failed = rotate(args, kube_server.kubeconfig_path)
        assert failed.returncode == 3, failed.stderr[-800:]
        assert "converge: failed" in failed.stdout
        assert (
            f"Secret {NAMESPACE}/{SECRET} key 'cookie' already holds the new cookie"
            in failed.stderr
        )
        assert "`erlcookie rotate --resume` (it picks up at converge)" in failed.stderr
        assert "HTTP 503" in failed.stderr
        assert_no_cookie(failed.stdout + failed.stderr, old, new)
        kube_server.clear_faults()
        resumed = rotate(["--resume", "--journal", str(journal)], kube_server.kubeconfig_path)
        assert resumed.returncode == 0, resumed.stderr[-800:]
        views = kubelet.cluster.views({OLD: old, NEW: new})
        assert {v[0] for v in views.values()} == {NEW}
        assert secret_labels(
            kube_server.get("Secret", SECRET, NAMESPACE)["data"], {OLD: old, NEW: new}
        ) == {"cookie": NEW}
    finally:
        if kubelet.cluster is not None:
            kubelet.cluster.stop()
