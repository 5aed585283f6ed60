"""`k8s inject` on realistic manifests: Helm output, `kind: List`, every workload kind,
RabbitMQ-style file mounts; byte-level checks, idempotence, schemas, redaction, CLI modes."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import stat
from collections import Counter

import pytest
from ruamel.yaml import YAML

from erlcookie.errors import UsageError
from erlcookie.k8s.inject import InjectOptions, inject, inject_paths, load_file
from erlcookie.k8s.selectors import parse_selector
from erlcookie.k8s.workloads import env_binding, iter_workloads, mount_binding, pod_spec
from erlcookie.k8s.yamlstream import split_documents
from tests.k8s.conftest import assert_hidden, fp

# Literal cookies written into the fixtures; none may ever show up in a report or a diff.
FIXTURE_LITERALS = [
    "hx8KQ2mZp0Lw7Ts4Vb9Nc3Rd6Yf1Gj5E",
    "Zq3e9XbW0pLkT7uYv2RmNs8AcDf5GhJ1",
    "init-only-not-wired",
    "rabbit-cookie-in-clear-2f9d8c7b",
    "Mz4Ry8TwQ1nVb6Kc0Xe3Ls7Hp2Ud9Gj5",
]
SECRET_REF = {"secretKeyRef": {"name": "erlang-cookie", "key": "cookie"}}
safe_load_all = YAML(typ="safe", pure=True).load_all
WEB_FP, CM_FP = fp("hx8KQ2mZp0Lw7Ts4Vb9Nc3Rd6Yf1Gj5E"), fp("Zq3e9XbW0pLkT7uYv2RmNs8AcDf5GhJ1")


def run(paths, **options):
    return inject_paths([str(p) for p in paths], InjectOptions(**options))


def line_changes(old: str, new: str) -> tuple[Counter, Counter]:
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    removed, added = Counter(), Counter()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            removed.update(a[i1:i2])
            added.update(b[j1:j2])
    return removed, added


def no_literal_in(text: str) -> bool:
    """True, or an AssertionError naming no value (see conftest.assert_hidden)."""
    assert_hidden(text, *FIXTURE_LITERALS)
    return True


def reread(text):
    return [d for d in safe_load_all(text) if d is not None]


def workloads_of(text):
    return [w for doc in reread(text) for w in iter_workloads(doc)]


def env_of(workload, container):
    spec = pod_spec(workload)
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if c["name"] == container:
            return c.get("env") or []
    raise KeyError(container)


# -- Helm-rendered output -------------------------------------------------------------------


def test_helm_output_is_wired_and_untouched_documents_stay_byte_for_byte(fixtures, schema):
    path = fixtures / "helm-rendered.yaml"
    original = path.read_text()
    result = run([path])
    out = result.files[0].output
    before, after = split_documents(original), split_documents(out)
    assert len(before) == len(after) == 7
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a.text != b.text]
    assert changed == [3, 4, 5]  # Deployment, StatefulSet, CronJob
    for i in (0, 1, 2, 6):  # ServiceAccount, ConfigMap, Service, empty template
        assert before[i].text == after[i].text
    for i in changed:  # Helm's `---` + `# Source:` header is kept as it was
        assert after[i].prefix == before[i].prefix
    # Inside the changed documents only the cookie's own lines moved: comments, quoting,
    # key order and the init container's block are intact.
    removed, added = line_changes(original, out)
    assert removed == Counter(
        {
            '              value: "hx8KQ2mZp0Lw7Ts4Vb9Nc3Rd6Yf1Gj5E"\n': 1,
            "                configMapKeyRef:\n": 1,
            "                  name: chat-env\n": 1,
            "                  key: RELEASE_COOKIE\n": 1,
        }
    )
    assert {line.strip() for line in added} <= {
        "valueFrom:",
        "secretKeyRef:",
        "name: erlang-cookie",
        "key: cookie",
        "env:",
        "- name: RELEASE_COOKIE",
    }
    assert "            - name: RELEASE_COOKIE   # TODO move to a Secret\n" in out
    assert "          # The release reads RELEASE_COOKIE at boot.\n" in out
    assert "  clusterIP: None   # headless: DNS A records for each pod\n" in out
    assert schema.validate_stream(out) == 6


def test_helm_output_semantics_and_report(fixtures):
    result = run([fixtures / "helm-rendered.yaml"])
    out = result.files[0].output
    by_name = {w["metadata"]["name"]: w for w in workloads_of(out)}
    web = by_name["chat-web"]
    cookie_envs = [e for e in env_of(web, "chat") if e["name"] == "RELEASE_COOKIE"]
    assert cookie_envs == [{"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF}]
    # the sidecar that never dealt with the cookie does not get the secret
    assert all(e["name"] != "RELEASE_COOKIE" for e in env_of(web, "metrics-exporter"))
    # the init container is not an app container: left alone, but its clear cookie is reported
    migrate = env_of(web, "migrate")
    untouched = migrate == [{"name": "RELEASE_COOKIE", "value": "init-only-not-wired"}]
    assert untouched, "the init container's env changed (values redacted)"
    assert env_of(by_name["chat-worker"], "worker") == [
        {"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF}
    ]
    assert env_of(by_name["chat-cleanup"], "cleanup") == [
        {"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF}
    ]

    actions = {(c.workload, c.container, c.action) for c in result.changes}
    assert actions == {
        ("Deployment/chat-web", "chat", "replace-env"),
        ("StatefulSet/chat-worker", "worker", "replace-env"),
        ("CronJob/chat-cleanup", "cleanup", "add-env"),
    }
    literal = next(c for c in result.changes if c.workload == "Deployment/chat-web")
    assert literal.fingerprint == WEB_FP
    from_cm = next(c for c in result.changes if c.workload == "StatefulSet/chat-worker")
    # the ConfigMap is in the stream, so its value is fingerprinted and flagged as a leftover
    assert from_cm.fingerprint == CM_FP
    codes = Counter((f.code, f.level) for f in result.findings)
    assert codes == Counter({("configmap-cookie", "warning"): 1, ("plain-cookie", "error"): 1})
    init = next(f for f in result.findings if f.code == "plain-cookie")
    assert (init.workload, init.container) == ("Deployment/chat-web", "migrate")
    report = json.dumps(result.to_dict())
    assert no_literal_in(report)


def test_every_output_is_idempotent(fixtures):
    for name, options in (
        ("helm-rendered.yaml", {}),
        ("list.yaml", {}),
        ("kinds.yaml", {}),
        ("rabbitmq.yaml", {"env": None, "mount": "/var/lib/rabbitmq/.erlang.cookie"}),
        ("helm-rendered.yaml", {"env": "RELEASE_COOKIE", "mount": "/app/.erlang.cookie"}),
    ):
        opts = InjectOptions(**options)
        first = inject_paths([str(fixtures / name)], opts)
        out = first.files[0].output
        second = inject([load_file("again.yaml", out, True)], opts)
        assert not second.changed and second.changes == [], name
        assert second.files[0].output == out


# -- kind: List and every workload kind --------------------------------------------------------


def test_kind_list(fixtures, schema):
    path = fixtures / "list.yaml"
    result = run([path])
    out = result.files[0].output
    assert schema.validate_stream(out) == 3
    items = reread(out)[0]["items"]
    assert env_of(items[0], "ledger") == [{"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF}]
    assert env_of(items[1], "agent") == [{"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF}]
    assert items[2] == reread(path.read_text())[0]["items"][2]  # the Service is untouched
    repoint = next(c for c in result.changes if c.workload == "DaemonSet/ledger-agent")
    assert repoint.action == "replace-env" and "old-cookie" in repoint.detail
    removed, _ = line_changes(path.read_text(), out)
    assert removed == Counter(
        {"                name: old-cookie\n": 1, "                key: value\n": 1}
    )
    assert "    creationTimestamp: null\n" in out  # kubectl's nulls keep their spelling


def test_all_workload_kinds(fixtures, schema):
    result = run([fixtures / "kinds.yaml"])
    out = result.files[0].output
    assert schema.validate_stream(out) == 3
    kinds = {w["kind"]: w for w in workloads_of(out)}
    for kind, container in (("Pod", "iex"), ("ReplicaSet", "legacy"), ("Job", "seed")):
        env = env_of(kinds[kind], container)
        assert {"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF} in env, kind
        assert (
            env[0]["name"] == "RELEASE_COOKIE" or kind == "Job"
        )  # new entries go first ($(VAR) order)
    assert out.rstrip().endswith("...")  # the end marker after the last document survives
    assert "  labels: {app: shell}\n" in out and "        - {name: MIX_ENV, value: prod}\n" in out


def test_every_kind_in_one_generated_stream(schema):
    template = {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "app", "image": "img"}], "restartPolicy": "Never"},
    }
    specs = {
        "Pod": {"spec": template["spec"]},
        "Deployment": {"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}},
        "StatefulSet": {
            "spec": {
                "selector": {"matchLabels": {"app": "x"}},
                "serviceName": "x",
                "template": template,
            }
        },
        "ReplicaSet": {"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}},
        "DaemonSet": {"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}},
        "ReplicationController": {"spec": {"selector": {"app": "x"}, "template": template}},
        "Job": {"spec": {"template": template}},
        "CronJob": {
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
        },
    }
    api = {"Pod": "v1", "ReplicationController": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}
    docs = [
        json.dumps(
            {"apiVersion": api.get(k, "apps/v1"), "kind": k, "metadata": {"name": k.lower()}, **v}
        )
        for k, v in specs.items()
    ]
    result = inject(
        [load_file("all.yaml", "---\n".join(d + "\n" for d in docs), True)], InjectOptions()
    )
    out = result.files[0].output
    assert schema.validate_stream(out) == len(specs)
    assert result.workloads == len(specs)
    for w in workloads_of(out):
        assert env_of(w, "app") == [{"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF}], w["kind"]


# -- what gets replaced, and how it is reported -------------------------------------------------


def stream(container_env, *, extra=None, name="app"):
    container = {"name": name, "image": "img", "env": container_env, **(extra or {})}
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [container]}},
        },
    }
    return json.dumps(doc) + "\n"


def inject_text(text, **options):
    return inject([load_file("t.yaml", text, True)], InjectOptions(**options))


@pytest.mark.parametrize(
    "env, action, detail",
    [
        (
            [
                {
                    "name": "RELEASE_COOKIE",
                    "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}},
                }
            ],
            "replace-env",
            "configMapKeyRef cm/k",
        ),
        (
            [
                {
                    "name": "RELEASE_COOKIE",
                    "valueFrom": {"secretKeyRef": {"name": "other", "key": "c"}},
                }
            ],
            "replace-env",
            "from Secret other key c",
        ),
        (
            [{"name": "RELEASE_COOKIE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "replace-env",
            "fieldRef",
        ),
        ([{"name": "RELEASE_COOKIE", "value": "$(OTHER_VAR)"}], "replace-env", "$(...) reference"),
        (
            [
                {
                    "name": "RELEASE_COOKIE",
                    "valueFrom": {
                        "secretKeyRef": {"name": "erlang-cookie", "key": "cookie", "optional": True}
                    },
                }
            ],
            "not-optional",
            "optional",
        ),
    ],
)
def test_replacements(env, action, detail, schema):
    result = inject_text(stream(env))
    assert [(c.action, detail in c.detail) for c in result.changes] == [(action, True)]
    out = result.files[0].output
    schema.validate_stream(out)
    assert env_of(workloads_of(out)[0], "app") == [
        {"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF}
    ]


def test_values_the_edit_does_not_touch_stay_byte_for_byte(fixtures, schema):
    """Multi-line plain and quoted scalars, a flow list across lines, a folded scalar and a
    line wider than ruamel's width are not reflowed when another entry is edited."""
    original = (fixtures / "multiline-scalars.yaml").read_text()
    result = run([fixtures / "multiline-scalars.yaml"])
    out = result.files[0].output
    removed, added = line_changes(original, out)
    assert list(removed) == ['          value: "Mz4Ry8TwQ1nVb6Kc0Xe3Ls7Hp2Ud9Gj5"\n']
    assert list(added) == [
        "          valueFrom:\n",
        "            secretKeyRef:\n",
        "              name: erlang-cookie\n",
        "              key: cookie\n",
    ]
    schema.validate_stream(out)
    assert run([fixtures / "multiline-scalars.yaml"]).files[0].output == out
    path = fixtures / "multiline-scalars.yaml"
    assert inject([load_file(str(path), out, True)], InjectOptions()).files[0].output == out


def test_duplicates_collapse_to_one_entry_and_literals_are_fingerprinted():
    env = [
        {"name": "RELEASE_COOKIE", "value": "first-dup-value-aaaa"},
        {"name": "X", "value": "1"},
        {"name": "RELEASE_COOKIE", "value": "second-dup-value-bbbb"},
    ]
    result = inject_text(stream(env))
    out = result.files[0].output
    assert env_of(workloads_of(out)[0], "app") == [
        {"name": "X", "value": "1"},
        {"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF},
    ]
    fps = {c.action: c.fingerprint for c in result.changes}
    expected = {
        "replace-env": fp("second-dup-value-bbbb"),
        "remove-duplicate": fp("first-dup-value-aaaa"),
    }
    assert fps == expected


def test_envfrom_of_the_secret_with_the_right_key_is_already_wired():
    text = stream([], extra={"envFrom": [{"secretRef": {"name": "erlang-cookie"}}]})
    result = inject_text(text, key="RELEASE_COOKIE")
    assert not result.changed


def test_envfrom_configmap_holding_the_cookie_is_overridden_and_reported():
    cm = (
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "env"},
                "data": {"RELEASE_COOKIE": "Zq3e9XbW0pLkT7uYv2RmNs8AcDf5GhJ1"},
            }
        )
        + "\n"
    )
    text = cm + "---\n" + stream([], extra={"envFrom": [{"configMapRef": {"name": "env"}}]})
    result = inject_text(text)
    assert [c.action for c in result.changes] == ["add-env"]
    assert [(f.code, f.fingerprint) for f in result.findings] == [("configmap-cookie", CM_FP)]


def test_setcookie_in_args_and_erl_flags_is_reported_not_rewritten():
    env = [
        {
            "name": "ERL_AFLAGS",
            "value": "-kernel shell_history enabled -setcookie clearcookievalue1",
        }
    ]
    extra = {"args": ["foreground", "-setcookie", "clearcookievalue2"]}
    result = inject_text(stream(env, extra=extra))
    plain = sorted(
        f.message.split(" in clear in ")[1].split(":")[0]
        for f in result.findings
        if f.code == "plain-cookie"
    )
    assert plain == ["args (-setcookie)", "env ERL_AFLAGS (-setcookie)"]
    assert result.has_errors
    expected = {fp("clearcookievalue1"), fp("clearcookievalue2")}
    assert {f.fingerprint for f in result.findings} == expected


def test_references_are_not_clear_cookies():
    extra = {
        "args": ["-setcookie", "$(RELEASE_COOKIE)"],
        "command": ["sh", "-c", 'exec erl -setcookie "$RELEASE_COOKIE"'],
    }
    result = inject_text(stream([], extra=extra))
    assert result.findings == []


# -- choosing containers and workloads -----------------------------------------------------------


def two_containers(first_env=None):
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"app": "p"}},
        "spec": {
            "initContainers": [{"name": "init", "image": "i"}],
            "containers": [
                {"name": "app", "image": "a", **({"env": first_env} if first_env else {})},
                {"name": "proxy", "image": "b"},
            ],
        },
    }
    return json.dumps(doc) + "\n"


def wired(result):
    return sorted((c.container or "") for c in result.changes if c.action.endswith("env"))


def test_with_no_hint_all_app_containers_are_wired_with_a_warning():
    result = inject_text(two_containers())
    assert wired(result) == ["app", "proxy"]
    assert [f.code for f in result.findings] == ["all-containers"]
    assert not result.has_errors


def test_container_option_and_init_containers():
    assert wired(inject_text(two_containers(), containers=("proxy",))) == ["proxy"]
    assert wired(inject_text(two_containers(), containers=("init", "app"))) == ["app", "init"]
    with pytest.raises(UsageError, match="nosuch"):
        inject_text(two_containers(), containers=("nosuch",))


def test_selector_limits_the_workloads(fixtures):
    result = run(
        [fixtures / "helm-rendered.yaml"],
        selector=parse_selector("app.kubernetes.io/component=worker"),
    )
    assert {c.workload for c in result.changes} == {"StatefulSet/chat-worker"}


def test_other_env_name(fixtures):
    result = run(
        [fixtures / "rabbitmq.yaml"],
        env="RABBITMQ_ERLANG_COOKIE",
        key=".erlang.cookie",
        secret="rabbitmq-erlang-cookie",
    )
    out = result.files[0].output
    env = env_of(workloads_of(out)[0], "rabbitmq")
    assert env == [
        {
            "name": "RABBITMQ_ERLANG_COOKIE",
            "valueFrom": {
                "secretKeyRef": {"name": "rabbitmq-erlang-cookie", "key": ".erlang.cookie"}
            },
        }
    ]
    expected = fp("rabbit-cookie-in-clear-2f9d8c7b")
    assert result.changes[0].fingerprint == expected


def test_several_env_variables_are_all_wired(run_cli, tmp_path, schema):
    """`--env A --env B` wires both (each replacing its own literal), in the order given."""
    path = tmp_path / "app.yaml"
    path.write_text(
        stream(
            [
                {"name": "ERLANG_COOKIE", "value": "Mz4Ry8TwQ1nVb6Kc0Xe3Ls7Hp2Ud9Gj5"},
                {"name": "PORT", "value": "4000"},
            ]
        )
    )
    result = run_cli(
        "k8s",
        "inject",
        "--env",
        "RELEASE_COOKIE",
        "--env",
        "ERLANG_COOKIE",
        "--env",
        "RELEASE_COOKIE",
        str(path),
    )
    assert result.exit_code == 0, result.stderr
    no_literal_in(result.stdout + result.stderr)
    schema.validate_stream(result.stdout)
    env = env_of(workloads_of(result.stdout)[0], "app")
    assert env == [
        {"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF},
        {"name": "ERLANG_COOKIE", "valueFrom": SECRET_REF},
        {"name": "PORT", "value": "4000"},
    ]
    expected = fp("Mz4Ry8TwQ1nVb6Kc0Xe3Ls7Hp2Ud9Gj5")
    assert "added RELEASE_COOKIE from Secret" in result.stderr
    assert f"replaced a literal value of ERLANG_COOKIE ({expected})" in result.stderr
    assert "plain-cookie" not in result.stderr and "error:" not in result.stderr
    again = inject_text(result.stdout, env=("RELEASE_COOKIE", "ERLANG_COOKIE"))
    assert again.changes == [] and again.files[0].output == result.stdout


# -- file-mount mode ---------------------------------------------------------------------------


def test_mount_mode_rabbitmq(fixtures, schema):
    path = fixtures / "rabbitmq.yaml"
    result = run([path], env=None, mount="/var/lib/rabbitmq/.erlang.cookie")
    out = result.files[0].output
    schema.validate_stream(out)
    sts = workloads_of(out)[0]
    spec = pod_spec(sts)
    container = spec["containers"][0]
    assert spec["volumes"] == [
        {
            "name": "erlang-cookie",
            "secret": {
                "secretName": "erlang-cookie",
                "defaultMode": 0o400,
                "items": [{"key": "cookie", "path": ".erlang.cookie"}],
            },
        }
    ]
    assert container["volumeMounts"] == [
        {"name": "data", "mountPath": "/var/lib/rabbitmq/mnesia"},
        {
            "name": "erlang-cookie",
            "mountPath": "/var/lib/rabbitmq/.erlang.cookie",
            "subPath": ".erlang.cookie",
            "readOnly": True,
        },
    ]
    binding = mount_binding(
        spec, container, "/var/lib/rabbitmq/.erlang.cookie", "erlang-cookie", "cookie"
    )
    assert (binding.state, binding.mode) == ("secret", 0o400)
    assert {c.action for c in result.changes} == {"add-volume", "replace-mount", "remove-volume"}
    codes = {f.code for f in result.findings}
    assert codes == {
        "configmap-cookie",
        "plain-cookie",
    }  # the old ConfigMap, RABBITMQ_ERLANG_COOKIE in clear
    assert "defaultMode: 256  # 0400\n" in out
    assert no_literal_in(json.dumps(result.to_dict()))


def test_mount_mode_fixes_an_existing_volume_written_in_octal():
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {
                    "name": "a",
                    "image": "i",
                    "volumeMounts": [
                        {
                            "name": "c",
                            "mountPath": "/home/app/.erlang.cookie",
                            "subPath": ".erlang.cookie",
                        }
                    ],
                }
            ],
            "volumes": [
                {"name": "c", "secret": {"secretName": "erlang-cookie", "defaultMode": "MODE"}}
            ],
        },
    }
    text = json.dumps(doc).replace('"MODE"', "0644") + "\n"
    result = inject_text(text, env=None, mount="/home/app/.erlang.cookie", volume_name="c")
    spec = pod_spec(workloads_of(result.files[0].output)[0])
    assert spec["volumes"][0]["secret"]["defaultMode"] == 0o400
    assert spec["volumes"][0]["secret"]["items"] == [{"key": "cookie", "path": ".erlang.cookie"}]
    # YAML 1.1 (Kubernetes) reads 0400 as octal: already private, nothing to fix
    ok = inject_text(
        text.replace("0644", "0400"), env=None, mount="/home/app/.erlang.cookie", volume_name="c"
    )
    assert [c.action for c in ok.changes] == ["fix-volume"]  # only the items projection


def test_mount_mode_warns_when_the_file_would_be_unusable():
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "securityContext": {"runAsUser": 999, "fsGroup": 999},
            "containers": [{"name": "a", "image": "i"}],
        },
    }
    result = inject_text(json.dumps(doc) + "\n", env=None, mount="/var/lib/rabbitmq/.erlang.cookie")
    warning = next(f for f in result.findings if f.code == "mount-permissions")
    assert warning.level == "warning" and "fsGroup" in warning.message


def test_mount_volume_name_clash_is_reported():
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "a", "image": "i"}],
            "volumes": [{"name": "erlang-cookie", "emptyDir": {}}],
        },
    }
    result = inject_text(json.dumps(doc) + "\n", env=None, mount="/x/.erlang.cookie")
    assert [f.code for f in result.findings] == ["volume-name-taken"] and result.has_errors
    assert not result.changed
    # one finding type: inject's findings are the shared layer's, with their own rule (a
    # wiring inject cannot do, not a cookie in clear)
    from erlcookie.findings.model import Finding
    from erlcookie.k8s.inject.findings import inject_findings

    (taken,) = result.findings
    assert isinstance(taken, Finding) and taken.rule_id == "k8s/wiring-error"
    assert (taken.level, str(taken.severity), taken.workload) == ("error", "medium", "Pod/p")
    assert [f.rule_id for f in inject_findings(result)] == ["k8s/wiring-error"]


@pytest.mark.parametrize("mount", ["relative/.erlang.cookie", "/dir/", "/a/../b"])
def test_mount_path_must_be_an_absolute_file(mount):
    with pytest.raises(UsageError):
        InjectOptions(env=None, mount=mount)


# -- the CLI -------------------------------------------------------------------------------


def copy_fixture(fixtures, tmp_path, name):
    target = tmp_path / name
    shutil.copy(fixtures / name, target)
    return target


def test_cli_default_prints_the_result_and_reports_on_stderr(run_cli, fixtures):
    result = run_cli("k8s", "inject", str(fixtures / "kinds.yaml"))
    assert result.exit_code == 0
    assert (
        result.stdout
        == inject_paths([str(fixtures / "kinds.yaml")], InjectOptions()).files[0].output
    )
    assert "3 workload(s) wired" in result.stderr


def test_cli_diff_is_redacted(run_cli, fixtures):
    result = run_cli(
        "k8s", "inject", "--diff", str(fixtures / "helm-rendered.yaml"), str(fixtures / "list.yaml")
    )
    assert result.exit_code == 1  # the init container's clear cookie remains
    assert no_literal_in(result.stdout + result.stderr)
    assert "-              value: <redacted>\n" in result.stdout
    assert result.stdout.count("--- a/") == 2
    assert WEB_FP in result.stderr


def test_cli_in_place_check_and_json(run_cli, fixtures, tmp_path, schema):
    target = copy_fixture(fixtures, tmp_path, "list.yaml")
    os.chmod(target, 0o640)
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    check = run_cli("k8s", "inject", "--check", str(link))
    assert check.exit_code == 1 and target.read_text() == (fixtures / "list.yaml").read_text()
    done = run_cli("k8s", "inject", "--in-place", "--json", str(link))
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["files"] == [{"path": str(link), "changed": True, "skipped": None}]
    assert link.is_symlink() and stat.S_IMODE(target.stat().st_mode) == 0o640
    schema.validate_stream(target.read_text())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files
    again = run_cli("k8s", "inject", "--check", "--json", str(link))
    assert again.exit_code == 0 and json.loads(again.stdout)["changes"] == []


def test_cli_stdin_helm_pipeline(run_cli, fixtures, schema):
    text = (fixtures / "list.yaml").read_text()
    result = run_cli("k8s", "inject", "-", input=text)
    assert result.exit_code == 0
    schema.validate_stream(result.stdout)
    assert run_cli("k8s", "inject", "--in-place", "-", input=text).exit_code == 2


def test_cli_directory_skips_templates_and_hidden_dirs(run_cli, fixtures, tmp_path):
    chart = tmp_path / "deploy"
    (chart / "templates").mkdir(parents=True)
    (chart / ".git").mkdir()
    shutil.copy(fixtures / "kinds.yaml", chart / "app.yaml")
    shutil.copy(fixtures / "list.yaml", chart / ".git" / "ignored.yaml")
    (chart / "templates" / "deployment.yaml").write_text(
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  labels: {{ include "x" . }}\n'
    )
    (chart / "notes.txt").write_text("not yaml")
    result = run_cli("k8s", "inject", "--in-place", str(chart))
    assert result.exit_code == 0, result.stderr
    assert "warning: " in result.stderr and "helm template" in result.stderr
    assert (chart / ".git" / "ignored.yaml").read_text() == (fixtures / "list.yaml").read_text()
    assert (chart / "app.yaml").read_text() != (fixtures / "kinds.yaml").read_text()


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["/nonexistent/x.yaml"], 2, "no such file"),
        (["--json", "FIXTURE"], 2, "--json reports on"),
        (["--container", "nosuch", "FIXTURE"], 2, "nosuch"),
        (["--secret", "Bad", "FIXTURE"], 2, "invalid Secret name"),
        (["--mount", "rel/path", "FIXTURE"], 2, "absolute path"),
        (["--env", "1=x", "FIXTURE"], 2, "environment variable"),
    ],
)
def test_cli_usage_errors(run_cli, fixtures, args, code, message):
    args = [str(fixtures / "kinds.yaml") if a == "FIXTURE" else a for a in args]
    result = run_cli("k8s", "inject", *args)
    assert result.exit_code == code and message in result.stderr and result.stdout == ""


def test_cli_unparseable_file_is_exit_3_and_nothing_is_written(run_cli, fixtures, tmp_path):
    good = copy_fixture(fixtures, tmp_path, "kinds.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Values.name }}\n")
    result = run_cli("k8s", "inject", "--in-place", str(good), str(bad))
    assert (
        result.exit_code == 3 and f"{bad}:4" in result.stderr and "helm template" in result.stderr
    )
    assert good.read_text() == (fixtures / "kinds.yaml").read_text()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("bomb", ["laughs", "deep"])
def test_cli_yaml_bombs_are_exit_3_in_bounded_time_and_nothing_is_written(
    run_cli, fixtures, tmp_path, bomb
):
    from tests.k8s.test_yamlstream import billion_laughs, deeply_nested

    tree = tmp_path / "deploy"
    tree.mkdir()
    good = copy_fixture(fixtures, tree, "kinds.yaml")
    bad = tree / "z-bomb.yaml"  # after the good file: it is read (and edited in memory) first
    bad.write_text(billion_laughs() if bomb == "laughs" else deeply_nested(5000))
    for args in (["--in-place", str(tree)], [str(bad)], ["--check", str(good), str(bad)]):
        result = run_cli("k8s", "inject", *args)
        assert result.exit_code == 3, result.stderr
        assert f"{bad}:" in result.stderr and "refused" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert good.read_text() == (fixtures / "kinds.yaml").read_text()
    piped = run_cli("k8s", "inject", "-", input=bad.read_text())
    assert piped.exit_code == 3 and piped.stdout == "" and "erlcookie: error: -:" in piped.stderr


def shop_deployment(
    env_value: str | None, *, name: str = "shop", namespace: str | None = "shop"
) -> str:
    env = [{"name": "RELEASE_COOKIE", "value": env_value}] if env_value is not None else []
    doc = json.loads(stream(env))
    doc["metadata"]["name"] = name
    if namespace:
        doc["metadata"]["namespace"] = namespace
    return json.dumps(doc, indent=2) + "\n"


def test_cli_summary_says_what_each_mode_did(run_cli, tmp_path):
    path = tmp_path / "shop.json"
    path.write_text(shop_deployment(None))
    original = path.read_text()
    printed = run_cli("k8s", "inject", str(path))
    assert printed.exit_code == 0 and "valueFrom" in printed.stdout
    assert (
        "1 workload(s) wired; 1 edit(s); printed the result on stdout, 1 of 1 file(s) "
        "edited; no file written (--in-place rewrites them)"
    ) in printed.stderr
    assert "changed 1 of 1" not in printed.stderr
    for mode, says in (
        ("--check", "would change 1 of 1 file(s); nothing written"),
        ("--diff", "would change 1 of 1 file(s) (the diff above); nothing written"),
    ):
        result = run_cli("k8s", "inject", mode, str(path))
        assert says in result.stderr and "next: apply the edits with --in-place" in result.stderr
    assert path.read_text() == original
    done = run_cli("k8s", "inject", "--in-place", str(path))
    assert done.exit_code == 0 and "rewrote 1 of 1 file(s)" in done.stderr
    again = run_cli("k8s", "inject", "--in-place", str(path))
    assert "0 edit(s); rewrote 0 of 1 file(s)" in again.stderr and "next:" not in again.stderr


def test_cli_next_step_after_wiring_and_the_split_warning_after_replacing_a_literal(
    run_cli, tmp_path
):
    literal = "Mz4Ry8TwQ1nVb6Kc0Xe3Ls7Hp2Ud9Gj5"
    expected = fp(literal)
    wired = tmp_path / "new.json"
    wired.write_text(shop_deployment(None))
    result = run_cli("k8s", "inject", str(wired))
    assert (
        "next: create Secret erlang-cookie in namespace shop: erlcookie k8s secret -n shop --apply"
    ) in result.stderr
    assert "splits the cluster" not in result.stderr and "pods run today" not in result.stderr

    live = tmp_path / "live.json"
    live.write_text(shop_deployment(literal))
    result = run_cli("k8s", "inject", "--in-place", str(live))
    assert result.exit_code == 0, result.stderr
    no_literal_in(result.stdout + result.stderr + live.read_text())
    assert (
        "next: create Secret erlang-cookie in namespace shop: erlcookie k8s secret -n shop --apply"
    ) in result.stderr
    assert f"with the cookie the pods run today ({expected})" in result.stderr
    assert "--cookie-file FILE" in result.stderr and "erlcookie rotate" in result.stderr
    warning = next(line for line in result.stderr.splitlines() if "splits the cluster" in line)
    assert warning.startswith(
        f"warning: Deployment/shop (namespace shop) ran a cookie in clear ({expected})"
    )
    assert (
        "rolling out pods with a new Secret-backed cookie while old pods still run the literal"
        in warning
    )

    other = tmp_path / "other.json"
    other.write_text(shop_deployment(literal, name="billing", namespace=None))
    result = run_cli(
        "k8s",
        "inject",
        "--check",
        "--json",
        "--secret",
        "shop-cookie",
        "--key",
        "erlang",
        str(other),
    )
    report = json.loads(result.stdout)
    no_literal_in(result.stdout)
    assert report["next_steps"][0] == (
        "create Secret shop-cookie in the namespace you deploy to: "
        "erlcookie k8s secret -n NAMESPACE --name shop-cookie "
        "--key erlang --apply"
    )
    assert expected in report["next_steps"][1]
    assert (
        len(report["split_warnings"]) == 1
        and "Deployment/billing ran" in report["split_warnings"][0]
    )


def test_split_warning_for_every_source_of_the_running_cookie(fixtures):
    """A cookie the pods run today comes from a literal, a ConfigMap (its value known when
    the ConfigMap is in the input) or another Secret, through env or a mounted file."""
    other = inject_text(
        stream(
            [{"name": "RELEASE_COOKIE", "valueFrom": {"secretKeyRef": {"name": "old", "key": "c"}}}]
        )
    )
    assert [w.split(", which")[0] for w in other.split_warnings()] == [
        "Deployment/d read its cookie from Secret old key c"
    ]
    assert "pods run today (Secret old key c)" in other.next_steps()[1]

    rabbit = run([fixtures / "rabbitmq.yaml"], env=None, mount="/var/lib/rabbitmq/.erlang.cookie")
    assert [w.split(", which")[0] for w in rabbit.split_warnings()] == [
        "StatefulSet/rabbitmq read its cookie from ConfigMap rabbitmq-cookie key .erlang.cookie"
    ]

    cm = (
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "rabbitmq-cookie"},
                "data": {".erlang.cookie": "Zq3e9XbW0pLkT7uYv2RmNs8AcDf5GhJ1"},
            }
        )
        + "\n"
    )
    known = inject(
        [load_file("both.yaml", cm + "---\n" + (fixtures / "rabbitmq.yaml").read_text(), True)],
        InjectOptions(env=None, mount="/var/lib/rabbitmq/.erlang.cookie"),
    )
    warnings = known.split_warnings()
    assert len(warnings) == 1 and warnings[0].startswith(
        f"StatefulSet/rabbitmq ran a cookie in clear ({CM_FP}), which now comes from Secret"
    )
    assert "still run the literal one splits the cluster" in warnings[0]
    assert CM_FP in known.next_steps()[1]
    assert no_literal_in(json.dumps(known.to_dict()))

    already = inject_text(stream([{"name": "RELEASE_COOKIE", "valueFrom": SECRET_REF}]))
    assert already.split_warnings() == [] and already.next_steps() == []


def test_next_step_quotes_a_namespace_from_the_input():
    doc = json.loads(shop_deployment(None, namespace="shop; rm -rf ~"))
    steps = inject_text(json.dumps(doc) + "\n").next_steps()
    assert steps == [
        "create Secret erlang-cookie in namespace shop; rm -rf ~: erlcookie k8s "
        "secret -n 'shop; rm -rf ~' --apply"
    ]


def test_cli_names_from_the_input_cannot_drive_the_terminal(run_cli, tmp_path):
    """A file name or object name with ESC/OSC or a newline is escaped in every text line."""
    tree = tmp_path / "deploy"
    tree.mkdir()
    evil_file = tree / "a\x1b]0;owned\x07\nforged: line.yaml"
    doc = json.loads(shop_deployment("Mz4Ry8TwQ1nVb6Kc0Xe3Ls7Hp2Ud9Gj5"))
    doc["metadata"]["namespace"] = "shop\x1b[2J"
    doc["spec"]["template"]["spec"]["containers"][0]["name"] = "app\x1b[31m"
    evil_file.write_text(json.dumps(doc) + "\n")
    for args in ([str(tree)], ["--diff", str(tree)], ["--in-place", str(tree)]):
        result = run_cli("k8s", "inject", *args)
        assert result.exit_code == 0, result.stderr
        assert "\x1b" not in result.stderr and "\x07" not in result.stderr
        assert "\\x1b]0;owned\\x07\\nforged: line.yaml" in result.stderr
        assert "container app\\x1b[31m" in result.stderr and "-n 'shop\\x1b[2J'" in result.stderr
        assert not any(line.startswith("forged") for line in result.stderr.splitlines())
        if args[0] == "--diff":
            assert "\x1b" not in result.stdout.split("\n", 2)[0]  # the --- a/... header
    bad = tree / "b\x1b[2Jbad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Values.name }}\n")
    result = run_cli("k8s", "inject", str(bad))
    assert (
        result.exit_code == 3
        and "\x1b" not in result.stderr
        and "\\x1b[2Jbad.yaml:4" in result.stderr
    )


def test_cli_not_utf8_is_exit_3(run_cli, tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"a: \xe9\n")
    result = run_cli("k8s", "inject", str(bad))
    assert result.exit_code == 3 and "not UTF-8" in result.stderr


def test_cli_crlf_and_bom_files_keep_their_bytes(run_cli, tmp_path):
    path = tmp_path / "win.yaml"
    text = "\ufeffapiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: i\r\n"
    path.write_bytes(text.encode())
    assert run_cli("k8s", "inject", "--in-place", str(path)).exit_code == 0
    raw = path.read_bytes().decode()
    assert raw.startswith("\ufeffapiVersion: v1\r\n") and "\n" not in raw.replace("\r\n", "")
    assert (
        env_binding(
            workloads_of(raw.lstrip("\ufeff"))[0]["spec"]["containers"][0],
            "RELEASE_COOKIE",
            "erlang-cookie",
            "cookie",
        ).state
        == "secret"
    )


# -- init-copy mode (non-root images, fsGroup) -------------------------------------------------


def test_init_copy_mode(fixtures, schema):
    opts = dict(env=None, mount="/var/lib/rabbitmq/.erlang.cookie", init_copy=True)
    result = run([fixtures / "rabbitmq.yaml"], **opts)
    out = result.files[0].output
    schema.validate_stream(out)
    spec = pod_spec(workloads_of(out)[0])
    init = spec["initContainers"][0]
    assert init["name"] == "erlang-cookie-copy" and init["image"] == "rabbitmq:3.13-management"
    assert init["command"][-2:] == [
        "/erlcookie/secret/.erlang.cookie",
        "/erlcookie/cookie/.erlang.cookie",
    ]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert (
        volumes["erlang-cookie"]["secret"]["defaultMode"] == 0o444
    )  # mounted in the init container only
    assert volumes["erlang-cookie-file"] == {
        "name": "erlang-cookie-file",
        "emptyDir": {"medium": "Memory"},
    }
    app = spec["containers"][0]
    assert {
        "name": "erlang-cookie-file",
        "mountPath": "/var/lib/rabbitmq/.erlang.cookie",
        "subPath": ".erlang.cookie",
        "readOnly": True,
    } in app["volumeMounts"]
    assert all(
        m["name"] != "erlang-cookie" for m in app["volumeMounts"]
    )  # the Secret stays out of the app
    binding = mount_binding(
        spec, app, "/var/lib/rabbitmq/.erlang.cookie", "erlang-cookie", "cookie"
    )
    assert binding.state == "secret-copy" and "erlang-cookie-copy" in binding.source
    assert "mount-permissions" not in {f.code for f in result.findings}


def test_init_copy_keeps_the_security_context_and_needs_mount():
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "securityContext": {"fsGroup": 1001},
            "containers": [
                {
                    "name": "a",
                    "image": "bitnami/rabbitmq:3.13",
                    "securityContext": {"runAsUser": 1001, "runAsNonRoot": True},
                }
            ],
        },
    }
    text = json.dumps(doc) + "\n"
    direct = inject_text(text, env=None, mount="/opt/bitnami/rabbitmq/.rabbitmq/.erlang.cookie")
    assert "mount-permissions" in {f.code for f in direct.findings}
    copied = inject_text(
        text, env=None, mount="/opt/bitnami/rabbitmq/.rabbitmq/.erlang.cookie", init_copy=True
    )
    init = pod_spec(workloads_of(copied.files[0].output)[0])["initContainers"][0]
    assert init["securityContext"] == {"runAsUser": 1001, "runAsNonRoot": True}
    with pytest.raises(UsageError, match="--init-copy goes with --mount"):
        InjectOptions(init_copy=True)


RABBIT_COPY = dict(env=None, mount="/var/lib/rabbitmq/.erlang.cookie", init_copy=True)


def copy_script(result) -> str:
    return pod_spec(workloads_of(result.files[0].output)[0])["initContainers"][0]["command"][2]


def test_init_copy_without_run_as_user_warns_and_an_owner_makes_it_chown(fixtures, schema):
    """No runAsUser anywhere: the init container runs as the image's user (root for the
    official RabbitMQ image), so the copy would be root's 0400: warned; --init-copy-owner
    chowns it, and a later run without the option keeps that owner."""
    plain = run([fixtures / "rabbitmq.yaml"], **RABBIT_COPY)
    warned = [f for f in plain.findings if f.code == "copy-as-root"]
    assert [(f.level, f.container) for f in warned] == [("warning", "rabbitmq")]
    assert "--init-copy-owner UID[:GID]" in warned[0].message and "chown" not in copy_script(plain)

    owned = run([fixtures / "rabbitmq.yaml"], **RABBIT_COPY, init_copy_owner=(999, 999))
    out = owned.files[0].output
    schema.validate_stream(out)
    assert 'cp "$0" "$1.tmp" && chown 999:999 "$1.tmp" && chmod 0400' in copy_script(owned)
    assert not {"copy-as-root", "copy-chown"} & {f.code for f in owned.findings}
    assert any("with mode 0400 owned by 999:999" in c.detail for c in owned.changes)
    for options in (dict(RABBIT_COPY, init_copy_owner=(999, 999)), RABBIT_COPY):
        again = inject_text(out, **options)
        assert again.changes == [] and again.files[0].output == out
        assert not {"copy-as-root", "copy-chown"} & {f.code for f in again.findings}
    other = inject_text(out, **RABBIT_COPY, init_copy_owner=(1000, None))
    assert [c.action for c in other.changes] == ["fix-init-container"]
    assert 'chown 1000 "$1.tmp"' in copy_script(other)


@pytest.mark.parametrize(
    "context, code, severity",
    [
        ({"runAsUser": 1001}, "copy-chown", "error"),  # cannot chown to another user
        ({"runAsNonRoot": True}, "copy-chown", "error"),
        ({"capabilities": {"drop": ["ALL"]}}, "copy-chown", "warning"),  # root without CAP_CHOWN
        ({"capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}}, None, None),
        ({"runAsUser": 0}, None, None),
        ({"runAsUser": 999}, None, None),  # the copy is already its own
    ],
)
def test_init_copy_owner_against_the_security_context(context, code, severity, schema):
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "a", "image": "rabbitmq:3.13", "securityContext": context}]
        },
    }
    result = inject_text(json.dumps(doc) + "\n", **RABBIT_COPY, init_copy_owner=(999, 999))
    schema.validate_stream(result.files[0].output)
    found = [(f.code, f.level) for f in result.findings if f.code.startswith("copy-")]
    assert found == ([(code, severity)] if code else [])


@pytest.mark.parametrize("value", ["rabbitmq", "-1", "999:", ":999", "1:x", "99999999999", "1.5"])
def test_init_copy_owner_must_be_numbers(run_cli, fixtures, value):
    result = run_cli(
        "k8s",
        "inject",
        "--mount",
        "/var/lib/rabbitmq/.erlang.cookie",
        "--init-copy",
        "--init-copy-owner",
        value,
        str(fixtures / "rabbitmq.yaml"),
    )
    assert result.exit_code == 2 and "--init-copy-owner needs UID or UID:GID" in result.stderr


def test_init_copy_owner_goes_with_init_copy(run_cli, fixtures):
    result = run_cli(
        "k8s",
        "inject",
        "--mount",
        "/var/lib/rabbitmq/.erlang.cookie",
        "--init-copy-owner",
        "999",
        str(fixtures / "rabbitmq.yaml"),
    )
    assert result.exit_code == 2 and "--init-copy-owner goes with --init-copy" in result.stderr


@pytest.mark.interop
def test_init_copy_owner_run_as_root_gives_the_server_user_a_file_erlang_accepts(
    fixtures, tmp_path
):
    """The rendered script run as root (what an image without runAsUser does) leaves a
    root-owned copy that another user cannot read; with --init-copy-owner the copy is that
    user's, 0400, and a real OTP node running as that user starts with it."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None or shutil.which("erl") is None:
        pytest.skip("needs root, setpriv (util-linux) and erl (erlang-base)")
    import subprocess
    import tempfile

    base = tempfile.mkdtemp(prefix="erlcookie-owner-")
    try:
        os.chmod(base, 0o755)
        source = os.path.join(base, "secret-file")
        with open(source, "w") as handle:
            handle.write("Interop-Owner-Test-Cookie-8c2e4b")
        os.chmod(source, 0o444)
        for owner, expected_uid in ((None, 0), ((65534, 65534), 65534)):
            options = dict(RABBIT_COPY, init_copy_owner=owner)
            script = copy_script(run([fixtures / "rabbitmq.yaml"], **options))
            home = os.path.join(base, f"copy-{expected_uid}")
            os.mkdir(home)
            os.chmod(home, 0o777)  # an emptyDir
            target = os.path.join(home, ".erlang.cookie")
            done = subprocess.run(
                ["sh", "-c", script, source, target], capture_output=True, text=True, timeout=30
            )
            assert done.returncode == 0, done.stderr
            copied = os.stat(target)
            assert (copied.st_uid, stat.S_IMODE(copied.st_mode)) == (expected_uid, 0o400)
            name = f"ownercheck{os.getpid()}x{expected_uid}"
            node = _as_nobody(
                ["erl", "-noshell", "-sname", name, "-eval", 'io:format("started~n"), halt().'],
                env={"HOME": home, "PATH": os.environ["PATH"]},
            )
            if expected_uid == 65534:
                assert "started" in node.stdout, node.stdout + node.stderr
            else:  # root's 0400 file: the server user cannot read its cookie
                assert "started" not in node.stdout
    finally:
        subprocess.run(["rm", "-rf", base], check=False)


def _as_nobody(argv, **kwargs):
    import subprocess

    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


@pytest.mark.interop
def test_init_copy_command_gives_a_cookie_file_erlang_accepts(fixtures, tmp_path):
    """Run the rendered init command as a non-root user on a Secret file as the kubelet
    leaves it under fsGroup (0440), then start a real OTP node on the copy; the file as the
    plain Secret mount would give it is refused by the same node."""
    import subprocess
    import tempfile

    if shutil.which("setpriv") is None or shutil.which("erl") is None:
        pytest.skip("needs setpriv (util-linux) and erl (erlang-base)")
    result = run(
        [fixtures / "rabbitmq.yaml"],
        env=None,
        mount="/var/lib/rabbitmq/.erlang.cookie",
        init_copy=True,
    )
    command = pod_spec(workloads_of(result.files[0].output)[0])["initContainers"][0]["command"]
    base = tempfile.mkdtemp(prefix="erlcookie-copy-")
    try:
        os.chmod(base, 0o755)
        secret_dir, file_dir = os.path.join(base, "secret"), os.path.join(base, "cookie")
        os.mkdir(secret_dir, 0o755)
        os.mkdir(file_dir)
        os.chmod(file_dir, 0o777)  # an emptyDir
        source = os.path.join(secret_dir, ".erlang.cookie")
        with open(source, "w") as handle:
            handle.write("Interop-Copy-Test-Cookie-5d3f1a")
        os.chmod(source, 0o444)
        argv = [
            command[0],
            command[1],
            command[2],
            source,
            os.path.join(file_dir, ".erlang.cookie"),
        ]
        for _ in range(2):  # a restarted pod runs the init container again over the old copy
            done = _as_nobody(argv)
            assert done.returncode == 0, done.stderr
        copied = os.stat(os.path.join(file_dir, ".erlang.cookie"))
        assert (copied.st_uid, stat.S_IMODE(copied.st_mode)) == (65534, 0o400)

        def start_node(home):
            name = f"copycheck{os.getpid()}"
            return _as_nobody(
                ["erl", "-noshell", "-sname", name, "-eval", 'io:format("started~n"), halt().'],
                env={"HOME": home, "PATH": os.environ["PATH"]},
            )

        node = start_node(file_dir)
        assert (
            "started" in node.stdout and "accessible by owner only" not in node.stdout + node.stderr
        )
        kubelet_dir = os.path.join(base, "kubelet")  # what a Secret volume file is under fsGroup
        os.mkdir(kubelet_dir, 0o755)
        shutil.copy(source, os.path.join(kubelet_dir, ".erlang.cookie"))
        os.chown(os.path.join(kubelet_dir, ".erlang.cookie"), 65534, 65534)
        os.chmod(os.path.join(kubelet_dir, ".erlang.cookie"), 0o440)
        refused = start_node(kubelet_dir)
        assert "accessible by owner only" in refused.stdout + refused.stderr
    finally:
        subprocess.run(["rm", "-rf", base], check=False)


# -- any mix of documents ---------------------------------------------------------------------


def _fixture_documents():
    from tests.k8s.conftest import FIXTURES

    docs = []
    for name in ("helm-rendered.yaml", "list.yaml", "kinds.yaml", "rabbitmq.yaml"):
        for doc in split_documents((FIXTURES / name).read_text()):
            text = doc.text if doc.text.startswith("---") else "---\n" + doc.text
            if text.rstrip().endswith("..."):
                text = text.rstrip()[:-3]
            docs.append(text if text.endswith("\n") else text + "\n")
    return docs


DOCUMENTS = _fixture_documents()


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(DOCUMENTS), min_size=1, max_size=8), st.booleans())
def test_any_stream_keeps_untouched_documents_and_is_idempotent(docs, mount):
    text = "".join(docs)
    opts = InjectOptions(env="RELEASE_COOKIE", mount="/data/.erlang.cookie" if mount else None)
    first = inject([load_file("s.yaml", text, True)], opts)
    out = first.files[0].output
    before, after = split_documents(text), split_documents(out)
    assert len(before) == len(after)
    for a, b in zip(before, after):
        if a.text != b.text:  # only documents with a workload change, and their header stays
            assert b.prefix == a.prefix and workloads_of(a.body)
    second = inject([load_file("s.yaml", out, True)], opts)
    assert not second.changed
    assert no_literal_in(json.dumps(first.to_dict()))
    from tests.k8s.conftest import validate_stream

    validate_stream(out)


def test_check_reports_through_the_findings_layer(tmp_path, run_cli):
    """--check --format json|sarif: the finding shape and SARIF writer of every command."""
    from tests.scan.test_cli_scan import sarif_validator

    literal = "injFmtC00kieQw8e7r6t5y4u3i2o1pAs"
    (tmp_path / "d.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers:\n        - name: web\n          image: web:1\n"
        "          env:\n            - name: RELEASE_COOKIE\n"
        f"              value: {literal}\n"
    )
    result = run_cli("k8s", "inject", str(tmp_path / "d.yaml"), "--check", "--format", "json")
    assert result.exit_code == 1
    assert literal not in result.stdout + result.stderr
    finding = json.loads(result.stdout)["findings"][0]
    assert finding["rule"] == "k8s/env-literal-cookie" and finding["line"] == 13
    assert finding["key"] == "RELEASE_COOKIE" and finding["fixable"] is True
    sarif = run_cli("k8s", "inject", str(tmp_path / "d.yaml"), "--check", "--format", "sarif")
    sarif_validator().validate(json.loads(sarif.stdout))
    assert run_cli("k8s", "inject", str(tmp_path / "d.yaml"), "--format", "json").exit_code == 2
