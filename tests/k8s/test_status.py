"""`k8s status`: the pure analysis on hand-made objects, then the CLI against the local
API server (a real client, a real kubeconfig, HTTP)."""

from __future__ import annotations

import base64
import json

import pytest

from erlcookie.audit import audit_cookie
from erlcookie.k8s.manifests import FINGERPRINT_ANNOTATION, UPDATED_AT_ANNOTATION
from erlcookie.k8s.status import StatusOptions, analyze, secret_changed_at
from tests.k8s.conftest import NAMESPACE, assert_hidden, fp

GOOD = "Status-Good-Cookie-9f8e7d6c5b4a39281706"
GOOD_FP = fp(GOOD)
OPTS = StatusOptions(secret="erlang-cookie", key="cookie", namespace="chat", selector="app=chat")
WIRED = [
    {
        "name": "RELEASE_COOKIE",
        "valueFrom": {"secretKeyRef": {"name": "erlang-cookie", "key": "cookie"}},
    }
]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def a_secret(value=GOOD, *, annotations=None, managed=None, created="2024-05-01T10:00:00Z"):
    meta = {"name": "erlang-cookie", "creationTimestamp": created, "resourceVersion": "7"}
    if annotations is not None:
        meta["annotations"] = annotations
    if managed is not None:
        meta["managedFields"] = managed
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": {"cookie": b64(value)}}


def a_deployment(env=WIRED, *, name="chat", extra=None):
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "labels": {"app": "chat"}},
        "spec": {
            "selector": {"matchLabels": {"app": "chat"}},
            "template": {
                "metadata": {"labels": {"app": "chat"}},
                "spec": {
                    "containers": [{"name": "app", "image": "i", "env": env, **(extra or {})}]
                },
            },
        },
    }


def a_pod(
    name="chat-abc", env=WIRED, started="2024-05-01T12:00:00Z", owner=("ReplicaSet", "chat-1")
):
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"app": "chat"},
            "ownerReferences": [{"kind": owner[0], "name": owner[1], "controller": True}],
        },
        "spec": {"containers": [{"name": "app", "image": "i", "env": env}]},
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.5",
            "startTime": started,
            "containerStatuses": [
                {"name": "app", "ready": True, "state": {"running": {"startedAt": started}}}
            ],
        },
    }


def codes(report):
    return sorted((f.code, f.level) for f in report.findings)


def test_all_good():
    report = analyze(OPTS, a_secret(), [a_deployment()], [a_pod()], audit=audit_cookie)
    assert report.ok and codes(report) == []
    assert report.secret.fingerprint == GOOD_FP and report.secret.verdict == "ok"
    assert report.workloads[0].containers == {"app": "secret"}
    assert report.pods[0].ip == "10.0.0.5" and not report.pods[0].stale


@pytest.mark.parametrize(
    "secret, code",
    [
        (None, "secret-missing"),
        ({"metadata": {"name": "erlang-cookie"}, "data": {}}, "secret-key"),
        ({"metadata": {"name": "erlang-cookie"}, "data": {"cookie": "%%%"}}, "secret-key"),
    ],
)
def test_secret_problems(secret, code):
    report = analyze(OPTS, secret, [a_deployment()], [a_pod()])
    assert (code, "error") in codes(report) and not report.ok


def test_weak_cookie_and_newline_and_stale_annotation():
    secret = a_secret(
        "secretcookie\n", annotations={FINGERPRINT_ANNOTATION: "fp1:0000000000000000"}
    )
    report = analyze(OPTS, secret, [a_deployment()], [a_pod()], audit=audit_cookie)
    assert codes(report) == [
        ("annotation-stale", "warning"),
        ("secret-newline", "warning"),
        ("secret-weak", "error"),
    ]
    assert_hidden(json.dumps(report.to_dict()), "secretcookie")


@pytest.mark.parametrize(
    "env, state",
    [
        ([], "missing"),
        ([{"name": "RELEASE_COOKIE", "value": "literal-cookie-value-42"}], "literal"),
        (
            [
                {
                    "name": "RELEASE_COOKIE",
                    "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}},
                }
            ],
            "configmap",
        ),
        (
            [
                {
                    "name": "RELEASE_COOKIE",
                    "valueFrom": {"secretKeyRef": {"name": "old", "key": "cookie"}},
                }
            ],
            "other-secret",
        ),
    ],
)
def test_unwired_workloads_and_pods(env, state):
    report = analyze(OPTS, a_secret(), [a_deployment(env)], [a_pod(env=env)])
    assert codes(report) == [("pod-not-wired", "error"), ("workload-not-wired", "error")]
    assert report.workloads[0].containers == {"app": state} and not report.pods[0].ok
    if state == "literal":
        expected = {fp("literal-cookie-value-42")}
        assert {f.fingerprint for f in report.findings} == expected
        assert_hidden(json.dumps(report.to_dict()), "literal-cookie-value-42")


def test_envfrom_of_the_secret_counts_when_the_key_is_the_variable():
    opts = StatusOptions(
        secret="erlang-cookie", key="RELEASE_COOKIE", namespace="chat", selector="app=chat"
    )
    dep = a_deployment([], extra={"envFrom": [{"secretRef": {"name": "erlang-cookie"}}]})
    secret = a_secret()
    secret["data"] = {"RELEASE_COOKIE": b64(GOOD)}
    assert analyze(opts, secret, [dep], []).workloads[0].ok


def test_optional_reference_warns():
    env = [
        {
            "name": "RELEASE_COOKIE",
            "valueFrom": {
                "secretKeyRef": {"name": "erlang-cookie", "key": "cookie", "optional": True}
            },
        }
    ]
    report = analyze(OPTS, a_secret(), [a_deployment(env)], [])
    assert ("optional-ref", "warning") in codes(report)


def test_clear_cookies_elsewhere_in_live_objects():
    extra = {"args": ["-setcookie", "args-cookie-value-77"]}
    dep = a_deployment(
        WIRED + [{"name": "RABBITMQ_ERLANG_COOKIE", "value": "rabbit-live-value-66"}], extra=extra
    )
    report = analyze(OPTS, a_secret(), [dep], [])
    plain = [f for f in report.findings if f.code == "plain-cookie"]
    expected = {fp("args-cookie-value-77"), fp("rabbit-live-value-66")}
    assert {f.fingerprint for f in plain} == expected


def test_mount_mode():
    opts = StatusOptions(
        secret="erlang-cookie",
        key="cookie",
        env=None,
        mount="/var/lib/rabbitmq/.erlang.cookie",
        namespace="chat",
        selector="app=chat",
    )
    dep = a_deployment(
        [],
        extra={
            "volumeMounts": [
                {
                    "name": "c",
                    "mountPath": "/var/lib/rabbitmq/.erlang.cookie",
                    "subPath": ".erlang.cookie",
                }
            ]
        },
    )
    dep["spec"]["template"]["spec"]["volumes"] = [
        {
            "name": "c",
            "secret": {
                "secretName": "erlang-cookie",
                "defaultMode": 256,
                "items": [{"key": "cookie", "path": ".erlang.cookie"}],
            },
        }
    ]
    assert analyze(opts, a_secret(), [dep], []).workloads[0].ok
    dep["spec"]["template"]["spec"]["volumes"][0]["secret"]["defaultMode"] = 0o644
    report = analyze(opts, a_secret(), [dep], [])
    assert report.workloads[0].containers == {"app": "bad-mode"} and not report.ok


def test_owned_and_scaled_down_replicasets_are_judged_through_their_deployment():
    rs = {
        "kind": "ReplicaSet",
        "metadata": {
            "name": "chat-1",
            "ownerReferences": [{"kind": "Deployment", "name": "chat", "controller": True}],
        },
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "env": []}]}}},
    }
    old = json.loads(json.dumps(rs))
    old["metadata"]["name"], old["spec"]["replicas"] = "chat-0", 0
    old["metadata"]["ownerReferences"][0]["name"] = "elsewhere"
    report = analyze(OPTS, a_secret(), [a_deployment(), rs, old], [])
    assert [w.ref for w in report.workloads] == ["Deployment/chat"]


def test_no_workloads_and_pods_of_unmatched_workloads():
    report = analyze(OPTS, a_secret(), [], [])
    assert codes(report) == [("no-workloads", "error")]
    stray = a_pod(owner=("StatefulSet", "db"))
    stray["metadata"]["labels"] = {"app": "chat", "role": "db"}
    dep = a_deployment()
    dep["spec"]["selector"] = {"matchLabels": {"app": "chat", "role": "web"}}
    report = analyze(OPTS, a_secret(), [dep], [stray])
    assert ("workload-not-matched", "warning") in codes(report)


# -- when the Secret changed, and which pods predate it ----------------------------------------------


def test_changed_at_sources():
    ours = {FINGERPRINT_ANNOTATION: GOOD_FP, UPDATED_AT_ANNOTATION: "2024-05-01T11:00:00Z"}
    managed = [
        {"manager": "kubectl-label", "time": "2024-05-01T13:00:00Z"},
        {"manager": "erlcookie", "time": "2024-05-01T11:00:01Z"},
    ]
    when, source = secret_changed_at(a_secret(annotations=ours, managed=managed), GOOD_FP)
    assert (str(when), source) == ("2024-05-01 11:00:01+00:00", "managedFields (erlcookie)")
    when, source = secret_changed_at(a_secret(annotations=ours), GOOD_FP)
    assert (str(when), source) == ("2024-05-01 11:00:00+00:00", "annotation")
    # the data no longer matches our annotation: someone else changed it; newest time wins
    when, source = secret_changed_at(a_secret(annotations=ours, managed=managed), "fp1:other")
    assert (str(when), source) == ("2024-05-01 13:00:00+00:00", "managedFields")
    when, source = secret_changed_at(a_secret(), GOOD_FP)
    assert (str(when), source) == ("2024-05-01 10:00:00+00:00", "creationTimestamp")


@pytest.mark.parametrize(
    "started, stale",
    [
        ("2024-05-01T10:59:59Z", True),
        ("2024-05-01T11:00:00Z", False),
        ("2024-05-01T11:00:01Z", False),
    ],
)
def test_stale_pods(started, stale):
    secret = a_secret(managed=[{"manager": "kubectl-edit", "time": "2024-05-01T11:00:00Z"}])
    report = analyze(OPTS, secret, [a_deployment()], [a_pod(started=started)])
    assert report.pods[0].stale is stale and report.ok is not stale
    if stale:
        assert "2024-05-01T10:59:59Z" in report.findings[0].message


def test_terminating_pods_are_ignored():
    pod = a_pod(env=[])
    pod["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    assert analyze(OPTS, a_secret(), [a_deployment()], [pod]).ok


# -- the CLI against the local API server ---------------------------------------------------------------


def deployment(env=WIRED, name="chat"):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": "chat"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "chat", "part": name}},
            "template": {
                "metadata": {"labels": {"app": "chat", "part": name}},
                "spec": {"containers": [{"name": "app", "image": "img", "env": env}]},
            },
        },
    }


@pytest.fixture
def app(kube, run_cli, tmp_path):
    """A wired app: the Secret applied by erlcookie, a Deployment reading it."""
    kube.set_time("2024-05-01T10:00:00Z")
    path = tmp_path / "c"
    path.write_text(GOOD)
    path.chmod(0o600)
    assert run_cli("k8s", "secret", "--apply", "--cookie-file", str(path)).exit_code == 0
    kube.advance(60)
    kube.add(deployment(), namespace=NAMESPACE)
    return kube


def test_cli_status_ok(app, run_cli):
    result = run_cli("k8s", "status", "-l", "app=chat")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"Secret chat/erlang-cookie key cookie: {GOOD_FP}, ok" in result.stdout
    assert "Deployment/chat" in result.stdout and result.stdout.rstrip().endswith("ok")
    report = json.loads(run_cli("k8s", "status", "-l", "app=chat", "--json").stdout)
    assert report["ok"] and [w["object"] for w in report["workloads"]] == ["Deployment/chat"]
    assert len(report["pods"]) == 2 and all(
        p["ip"] and p["owner"].startswith("ReplicaSet/") for p in report["pods"]
    )
    assert report["secret"]["changed_at"] == "2024-05-01T10:00:00Z"
    assert report["secret"]["changed_at_source"] == "managedFields (erlcookie)"


def test_cli_status_stale_after_replace_then_fixed_by_a_restart(app, run_cli, tmp_path, api):
    app.advance(60)
    path = tmp_path / "new"
    path.write_text("Status-New-Cookie-0a1b2c3d4e5f60718293")
    path.chmod(0o600)
    assert (
        run_cli("k8s", "secret", "--apply", "--replace", "--cookie-file", str(path)).exit_code == 0
    )
    stale = run_cli("k8s", "status", "-l", "app=chat", "--json")
    assert stale.exit_code == 1
    report = json.loads(stale.stdout)
    assert [f["code"] for f in report["findings"]] == ["stale-cookie", "stale-cookie"]
    assert all(p["stale"] for p in report["pods"])
    app.advance(60)
    api.rollout_restart("Deployment", "chat")
    api.wait_rollout("Deployment", "chat", timeout=5, poll=0.01)
    fresh = run_cli("k8s", "status", "-l", "app=chat")
    assert fresh.exit_code == 0, fresh.stdout


def test_cli_status_finds_clear_cookies_and_unwired_workloads(app, run_cli):
    sts = deployment(
        [{"name": "RELEASE_COOKIE", "value": "live-literal-cookie-5150"}], name="worker"
    )
    sts["kind"], sts["spec"]["serviceName"] = "StatefulSet", "worker"
    app.add(sts, namespace=NAMESPACE)
    app.add(deployment([], name="bare"), namespace=NAMESPACE)
    result = run_cli("k8s", "status", "-l", "app=chat")
    assert result.exit_code == 1
    assert "StatefulSet/worker  NO" in result.stdout and "Deployment/bare" in result.stdout
    expected = fp("live-literal-cookie-5150")
    assert expected in result.stdout
    assert_hidden(result.stdout + result.stderr, "live-literal-cookie-5150")
    assert result.stdout.rstrip().endswith("6 problem(s)")  # 2 workloads + their 4 pods
    report = json.loads(run_cli("k8s", "status", "-l", "app=chat", "--json").stdout)
    assert sorted(f["object"] for f in report["findings"] if f["code"] == "workload-not-wired") == [
        "Deployment/bare",
        "StatefulSet/worker",
    ]


def test_cli_status_missing_secret_and_no_match(kube, run_cli):
    kube.add(deployment(), namespace=NAMESPACE)
    missing = run_cli("k8s", "status", "-l", "app=chat", "--json")
    assert (
        missing.exit_code == 1
        and json.loads(missing.stdout)["findings"][0]["code"] == "secret-missing"
    )
    nothing = run_cli("k8s", "status", "-l", "app=nothing", "--secret", "x")
    assert nothing.exit_code == 1 and "no Deployment, StatefulSet" in nothing.stdout


def test_cli_status_in_a_namespace_that_does_not_exist(kube, run_cli):
    """A real server lists nothing and finds no Secret there: say the namespace is missing
    (exit 3) instead of reporting a missing Secret and workloads (exit 1)."""
    kube.add(deployment(), namespace=NAMESPACE)
    result = run_cli("k8s", "status", "-l", "app=chat", "-n", "nope")
    assert result.exit_code == 3
    assert "namespace 'nope' does not exist" in result.stderr and "Secret" not in result.stdout
    # an identity that may not read namespaces (a namespaced Role) gets the findings as before
    kube.deny("get", "namespaces")
    denied = run_cli("k8s", "status", "-l", "app=chat", "-n", "nope")
    assert denied.exit_code == 1 and "does not exist in namespace nope" in denied.stdout


def test_cli_status_stale_pods_after_a_live_rotation_are_about_their_environment(
    app, run_cli, tmp_path
):
    app.advance(60)
    path = tmp_path / "new"
    path.write_text("Status-New-Cookie-0a1b2c3d4e5f60718293")
    path.chmod(0o600)
    assert (
        run_cli("k8s", "secret", "--apply", "--replace", "--cookie-file", str(path)).exit_code == 0
    )
    result = run_cli("k8s", "status", "-l", "app=chat")
    assert result.exit_code == 1
    assert (
        "its environment (or cookie file) holds the cookie from before the change" in result.stdout
    )
    assert "runs with the old cookie" not in result.stdout


@pytest.mark.parametrize(
    "verb, resource, expected",
    [
        ("get", "secrets", "cannot get secrets 'erlang-cookie'"),
        ("list", "statefulsets", "--verb=list --resource=statefulsets.apps -n chat"),
        ("list", "pods", "cannot list pods in namespace 'chat'"),
    ],
)
def test_cli_status_forbidden_is_exit_3(app, run_cli, verb, resource, expected):
    app.deny(verb, resource)
    result = run_cli("k8s", "status", "-l", "app=chat")
    assert (
        result.exit_code == 3 and expected in result.stderr and "permission denied" in result.stderr
    )


def test_cli_status_usage_errors(kube, run_cli):
    assert run_cli("k8s", "status").exit_code == 2
    bad = run_cli("k8s", "status", "-l", "app in (")
    assert bad.exit_code == 2 and not kube.requests  # refused before any traffic
    assert run_cli("k8s", "status", "-l", "a=b", "--context", "nope").exit_code == 2


def test_mount_mode_recognises_the_init_copy_pattern(fixtures):
    from ruamel.yaml import YAML

    from erlcookie.k8s.inject import InjectOptions, inject_paths

    out = (
        inject_paths(
            [str(fixtures / "rabbitmq.yaml")],
            InjectOptions(env=None, mount="/var/lib/rabbitmq/.erlang.cookie", init_copy=True),
        )
        .files[0]
        .output
    )
    sts = YAML(typ="safe").load(out)
    opts = StatusOptions(
        secret="erlang-cookie",
        key="cookie",
        env=None,
        mount="/var/lib/rabbitmq/.erlang.cookie",
        namespace="chat",
        selector="app=chat",
    )
    report = analyze(opts, a_secret(), [sts], [])
    assert report.workloads[0].ok and report.workloads[0].containers == {"rabbitmq": "secret"}
    # without the init container the emptyDir holds nothing
    del sts["spec"]["template"]["spec"]["initContainers"]
    assert analyze(opts, a_secret(), [sts], []).workloads[0].containers == {
        "rabbitmq": "other-source"
    }


def test_configmap_holding_the_cookie_is_a_clear_cookie():
    env = [{"name": "RELEASE_COOKIE", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "c"}}}]
    from erlcookie.k8s.status import referenced_configmaps

    assert referenced_configmaps(OPTS, [a_deployment(env), a_pod(env=env)]) == {"cm"}
    report = analyze(
        OPTS,
        a_secret(),
        [a_deployment(env)],
        [a_pod(env=env)],
        configmaps={"cm": {"c": "configmap-cookie-value-31"}},
    )
    expected = fp("configmap-cookie-value-31")
    plain = [f for f in report.findings if f.code == "plain-cookie"]
    assert [(f.path, f.fingerprint) for f in plain] == [("ConfigMap/cm", expected)]  # once
    assert_hidden(json.dumps(report.to_dict()), "configmap-cookie-value-31")


def test_cli_status_reads_referenced_configmaps(app, run_cli):
    app.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "env"},
            "data": {"RELEASE_COOKIE": "live-configmap-cookie-77"},
        },
        namespace=NAMESPACE,
    )
    app.add(
        deployment(
            [
                {
                    "name": "RELEASE_COOKIE",
                    "valueFrom": {"configMapKeyRef": {"name": "env", "key": "RELEASE_COOKIE"}},
                }
            ],
            name="legacy",
        ),
        namespace=NAMESPACE,
    )
    result = run_cli("k8s", "status", "-l", "app=chat", "--json")
    report = json.loads(result.stdout)
    expected = fp("live-configmap-cookie-77")
    assert result.exit_code == 1
    assert ("ConfigMap/env", expected) in [
        (f["object"], f.get("fingerprint")) for f in report["findings"]
    ]
    assert_hidden(result.stdout + result.stderr, "live-configmap-cookie-77")
    app.deny("get", "configmaps")
    denied = run_cli("k8s", "status", "-l", "app=chat")
    assert denied.exit_code == 1 and "cannot get ConfigMap env (RBAC)" in denied.stderr


# -- one findings layer: the shared shape, SARIF, and one severity per problem -----------------

COMMON_KEYS = {
    "rule",
    "severity",
    "path",
    "line",
    "column",
    "message",
    "fix",
    "fingerprint",
    "verdict",
    "audit",
}


def test_cli_status_json_has_the_common_finding_shape(app, run_cli):
    app.add(
        deployment(
            [{"name": "RELEASE_COOKIE", "value": "live-literal-cookie-5150"}], name="worker"
        ),
        namespace=NAMESPACE,
    )
    as_format = run_cli("k8s", "status", "-l", "app=chat", "--format", "json")
    assert as_format.exit_code == 1
    report = json.loads(as_format.stdout)
    assert report["command"] == "k8s status" and report["summary"]["findings"] == len(
        report["findings"]
    )
    literal = [f for f in report["findings"] if f["path"] == "Deployment/worker"]
    assert literal and all(COMMON_KEYS <= f.keys() for f in report["findings"])
    assert literal[0]["rule"] == "k8s/env-literal-cookie" and literal[0]["line"] == 0
    assert literal[0]["fingerprint"] == fp("live-literal-cookie-5150") and literal[0]["verdict"]
    assert (literal[0]["code"], literal[0]["object"], literal[0]["level"]) == (
        "workload-not-wired",
        "Deployment/worker",
        "error",
    )
    alias = run_cli("k8s", "status", "-l", "app=chat", "--json")
    assert alias.exit_code == 1 and json.loads(alias.stdout)["findings"] == report["findings"]
    assert_hidden(as_format.stdout, "live-literal-cookie-5150")
    clash = run_cli("k8s", "status", "-l", "app=chat", "--json", "--format", "sarif")
    assert clash.exit_code == 2


def test_cli_status_sarif_validates(app, run_cli):
    import jsonschema

    from tests.findings.test_layer import SARIF_SCHEMA

    app.add(deployment([], name="bare"), namespace=NAMESPACE)
    result = run_cli("k8s", "status", "-l", "app=chat", "--format", "sarif")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    run = doc["runs"][0]
    assert run["automationDetails"]["id"] == "erlcookie/k8s-status/"
    where = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in run["results"]}
    assert "Deployment/bare" in where
    assert {r["ruleId"] for r in run["results"]} <= {
        r["id"] for r in run["tool"]["driver"]["rules"]
    }
    identities = [next(iter(r["partialFingerprints"].values())) for r in run["results"]]
    assert len(set(identities)) == len(identities)  # two pods' findings stay two alerts
    assert run["properties"]["fingerprint"] == GOOD_FP
    ok = run_cli("k8s", "status", "-l", "app=nothing", "--sarif")
    assert ok.exit_code == 1 and json.loads(ok.stdout)["runs"][0]["results"]


@pytest.mark.parametrize(
    "env, rule",
    [
        (
            [{"name": "RELEASE_COOKIE", "value": "same-problem-literal-4242"}],
            "k8s/env-literal-cookie",
        ),
        (
            [{"name": "RELEASE_COOKIE", "value": "Same-Problem-Strong-Cookie-8d7c6b5a4f3e2d1c"}],
            "k8s/env-literal-cookie",
        ),
        (
            [
                {
                    "name": "RELEASE_COOKIE",
                    "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "c"}},
                }
            ],
            "k8s/configmap-ref-cookie",
        ),
        ([], "k8s/not-wired"),
    ],
)
def test_same_problem_same_severity_in_status_inject_and_doctor(app, run_cli, tmp_path, env, rule):
    """One manifest, applied to the cluster and kept in a project: `k8s status`, `k8s inject
    --check` and `doctor` name its problem with one rule and one severity."""
    workload = deployment(env, name="worker")
    app.add(workload, namespace=NAMESPACE)
    project = tmp_path / "project"
    project.mkdir()
    from ruamel.yaml import YAML

    with (project / "worker.yaml").open("w") as out:
        YAML().dump(workload, out)

    def severities(stdout: str) -> set[tuple[str, str]]:
        return {
            (f["rule"], f["severity"]) for f in json.loads(stdout)["findings"] if f["rule"] == rule
        }

    status = run_cli("k8s", "status", "-l", "app=chat", "--format", "json")
    inject = run_cli("k8s", "inject", str(project / "worker.yaml"), "--check", "--format", "json")
    doctor = run_cli("doctor", str(project), "--format", "json")
    assert (status.exit_code, inject.exit_code, doctor.exit_code) == (1, 1, 1), doctor.stdout
    found = severities(status.stdout)
    assert len(found) == 1, status.stdout
    assert severities(inject.stdout) == found, inject.stdout
    assert severities(doctor.stdout) == found, doctor.stdout


def test_two_containers_of_one_pod_are_two_findings_with_two_identities():
    pod = a_pod(env=[])
    pod["spec"]["containers"].append({"name": "sidecar", "image": "i", "env": []})
    report = analyze(OPTS, a_secret(), [], [pod])
    unwired = [f for f in report.findings if f.code == "pod-not-wired"]
    assert [(f.path, f.container, f.rule_id) for f in unwired] == [
        ("Pod/chat-abc", "app", "k8s/not-wired"),
        ("Pod/chat-abc", "sidecar", "k8s/not-wired"),
    ]
    assert len({f.identity for f in unwired}) == 2


@pytest.mark.parametrize(
    "extra, env, expected",
    [
        ({}, WIRED, "tcp"),
        ({"args": ["foreground", "-proto_dist", "inet_tls"]}, WIRED, "tls"),
        (
            {},
            WIRED + [{"name": "ERL_FLAGS", "value": "-proto_dist inet_tls -ssl_dist_optfile /t"}],
            "tls",
        ),
        ({}, WIRED + [{"name": "ERL_FLAGS", "value": "-proto_dist inet_tcp"}], "tcp"),
    ],
)
def test_status_says_whether_the_pods_ask_for_tls_distribution(extra, env, expected):
    report = analyze(OPTS, a_secret(), [a_deployment(env, extra=extra)], [a_pod()])
    assert report.workloads[0].distribution == expected
    assert report.to_dict()["workloads"][0]["distribution"] == expected
    assert codes(report) == []  # information, not a finding


def test_cli_status_names_plain_tcp_distribution(app, run_cli):
    result = run_cli("k8s", "status", "-l", "app=chat")
    assert "distribution: plain TCP" in result.output
    assert "the cookie is the only check a network peer meets" in result.output
