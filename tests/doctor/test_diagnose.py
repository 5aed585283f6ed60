"""`erlcookie doctor`: one report over a real project (mix + rebar3 + k8s/, in git)."""

from __future__ import annotations

import json
import re

import pytest

from erlcookie.doctor import diagnose
from tests.k8s.conftest import assert_hidden, fp
from tests.scan.test_cli_scan import sarif_validator

pytestmark = pytest.mark.timeout(180)


def doctor(run_cli, *args):
    return run_cli("doctor", *map(str, args))


def test_one_report_every_problem_once(project, run_cli):
    root, cookie = project
    result = doctor(run_cli, root, "--format", "json")
    assert result.exit_code == 1, result.stderr
    assert_hidden(result.stdout + result.stderr, cookie)
    report = json.loads(result.stdout)
    rules = {f["rule"]: f for f in report["findings"]}
    literal = fp(cookie)
    # release check: the mix literal (scan's EC003 told once, here), the build-time
    # releases/COOKIE fallback, the relx template cookie of the rebar3 release
    assert rules["release/mix-literal-cookie"]["found_by"] == [
        "release/mix-literal-cookie",
        "EC003",
    ]
    assert rules["release/mix-literal-cookie"]["fingerprint"] == literal
    assert "release/mix-cookie-fallback" in rules
    assert rules["release/relx-template-cookie"]["path"] == "billing/config/vm.args"
    # k8s inject --check: the literal RELEASE_COOKIE (scan's EC008 told once, here)
    env = rules["k8s/env-literal-cookie"]
    assert env["found_by"] == ["k8s/env-literal-cookie", "EC008"] and env["fingerprint"] == literal
    assert env["path"] == "k8s/deployment.yaml" and env["git"] == "tracked"
    # envFrom: ERLANG_COOKIE poured in from the ConfigMap, whatever --env says
    envfrom = rules["k8s/envfrom-cookie"]
    assert envfrom["key"] == "ERLANG_COOKIE" and envfrom["fingerprint"] == literal
    assert rules["EC009"]["path"] == "k8s/configmap.yaml"  # the ConfigMap holding it
    places = [(f["path"], f["line"], f["fingerprint"]) for f in report["findings"]]
    assert len(places) == len(set(places))
    assert not {"EC003", "EC008", "EC001"} & set(rules)  # each told by its fixer
    assert all(f["doctor_fix"] for f in report["findings"])
    steps = report["next_steps"]
    assert steps[0].startswith("apply the ") and "erlcookie doctor --fix" in steps[0]
    adopt = next(i for i, s in enumerate(steps) if "--adopt-from" in s)
    roll = next(i for i, s in enumerate(steps) if s.startswith("roll out"))
    rotate = next(i for i, s in enumerate(steps) if "erlcookie rotate -n shop -l app=shop" in s)
    assert 0 < adopt < roll < rotate
    assert literal in steps[adopt]
    assert re.search(r"k8s secret -n shop --adopt-from \S*k8s --apply", steps[adopt])


def test_text_is_grouped_with_fixes_and_fits_80_columns(project, run_cli):
    root, cookie = project
    result = doctor(run_cli, root)
    assert result.exit_code == 1
    text = result.stdout
    assert_hidden(text + result.stderr, cookie)
    literal = fp(cookie)
    long_lines = [line for line in text.splitlines() if len(line) > 80]
    # only a line holding one unbreakable token may be longer (a path:line, a command)
    for line in long_lines:
        assert " " not in line.strip().removeprefix("- "), line
    assert re.search(rf"^   - k8s/deployment\.yaml:\d+  {literal} ok tracked$", text, re.M)
    assert re.search(r"^\d+\. HIGH a workload sets the cookie variable to a literal", text, re.M)
    assert "fix: read it from the cookie Secret" in text
    assert text.index("What to do next, in this order:") > text.index("fix:")
    assert " 1. apply the " in text


def test_sarif_and_the_library_agree(project, run_cli):
    root, cookie = project
    result = doctor(run_cli, root, "--format", "sarif")
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    sarif_validator().validate(sarif)
    run = sarif["runs"][0]
    assert run["automationDetails"]["id"] == "erlcookie/doctor/"
    ids = {r["ruleId"] for r in run["results"]}
    assert {"release/mix-literal-cookie", "k8s/env-literal-cookie", "k8s/envfrom-cookie"} <= ids
    assert_hidden(result.stdout, cookie)
    diagnosis = diagnose(root)
    assert sorted(r["ruleId"] for r in run["results"]) == sorted(
        f.rule_id for f in diagnosis.findings
    )


def test_clean_project_exits_0(tmp_path, run_cli):
    (tmp_path / "README.md").write_text("nothing here\n")
    result = doctor(run_cli, tmp_path)
    assert result.exit_code == 0, result.stdout
    assert "No cookie problems found: nothing to do." in result.stdout


def test_usage_and_operational_errors(tmp_path, run_cli):
    assert doctor(run_cli, tmp_path / "missing").exit_code == 2
    assert doctor(run_cli, tmp_path, "--yes").exit_code == 2  # --yes goes with --fix
    assert doctor(run_cli, tmp_path, "--env", "1BAD").exit_code == 2
    (tmp_path / "k8s").mkdir()
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
    )
    (tmp_path / "k8s" / "bomb.yaml").write_text("kind: ConfigMap\n" + bomb)
    result = doctor(run_cli, tmp_path)
    assert result.exit_code == 3, result.stdout
    assert "bomb.yaml" in result.stdout and "refused" in result.stdout


def test_ignored_and_build_output_are_not_committed_leaks(project, run_cli):
    root, cookie = project
    (root / "_build" / "prod" / "rel" / "shop" / "releases").mkdir(parents=True)
    (root / "_build" / "prod" / "rel" / "shop" / "releases" / "COOKIE").write_text(cookie)
    (root / "local.env").write_text(f"RELEASE_COOKIE={cookie}\n")
    (root / ".gitignore").write_text((root / ".gitignore").read_text() + "local.env\n")
    report = json.loads(doctor(run_cli, root, "--format", "json").stdout)
    assert not any(f["path"].startswith(("_build/", "local.env")) for f in report["findings"])


def test_same_line_same_cookie_is_one_problem_not_two(tmp_path):
    """A one-line release: the fallback finding (no cookie) shares the line of the literal;
    scan's EC003 joins the literal (same cookie), not the fallback."""
    (tmp_path / "mix.exs").write_text(
        "defmodule App.MixProject do\n  use Mix.Project\n\n"
        '  def project, do: [app: :app, version: "0.1.0", '
        'releases: [app: [cookie: "xK3jd8s7dkfjs9dkfjskdjf3Qw"]]]\nend\n'
    )
    diagnosis = diagnose(tmp_path)
    by_rule = {i.finding.rule_id: i for i in diagnosis.items}
    assert by_rule["release/mix-literal-cookie"].also == ["EC003"]
    assert by_rule["release/mix-cookie-fallback"].also == []
    assert "EC003" not in by_rule


def test_hostile_file_names_reach_the_terminal_escaped(tmp_path, run_cli):
    evil = "k8s\x1b]0;owned\x07\n9. CRITICAL forged.yaml"
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / f"{evil}.yaml".replace("k8s", "", 1)).write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: app\n      image: app:1\n      env:\n        - name: RELEASE_COOKIE\n"
        "          value: hostileNameC00kieQw8e7r6t5y4u3i2\n"
    )
    result = run_cli("doctor", str(tmp_path))
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert not any(line.startswith("9. CRITICAL forged") for line in result.stdout.splitlines())
    assert "\\x1b]0;owned\\x07\\n9. CRITICAL forged.yaml" in result.stdout


def test_a_workload_without_the_cookie_variable_is_not_wired(tmp_path, run_cli):
    """inject would add the variable: the finding points at the container (the new entry
    has no line in the file)."""
    (tmp_path / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
        "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n"
        "    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
        "        - name: web\n          image: web:1\n          env:\n"
        "            - name: PORT\n              value: '4000'\n"
    )
    result = run_cli("doctor", str(tmp_path), "--format", "json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    (finding,) = report["findings"]
    assert finding["rule"] == "k8s/not-wired" and finding["line"] == 10
    assert any("erlcookie k8s secret -n shop --apply" in s for s in report["next_steps"])


def test_a_long_path_stays_whole_and_the_fingerprint_moves_down(tmp_path, run_cli):
    deep = tmp_path / "deploy" / ("very-long-directory-name-" * 3) / "overlays" / "production"
    deep.mkdir(parents=True)
    (deep / "vm.args").write_text("-setcookie longPathC00kieQw8e7r6t5y4u3i2o1p\n")
    result = run_cli("doctor", str(tmp_path))
    literal = fp("longPathC00kieQw8e7r6t5y4u3i2o1p")
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "overlays/production/vm.args:1" in line)
    assert lines[at].strip().startswith("- deploy/very-long") and lines[at].endswith("vm.args:1")
    assert lines[at + 1].strip().startswith(literal)
    assert all(len(line) <= 80 or " " not in line.strip().removeprefix("- ") for line in lines)


def test_env_names_the_variables_to_wire(tmp_path, run_cli):
    """RabbitMQ reads RABBITMQ_ERLANG_COOKIE: by default a cookie in clear left to a human;
    with --env it is wired (and moved to the Secret) like RELEASE_COOKIE."""
    (tmp_path / "rabbit.yaml").write_text(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: rabbit, namespace: mq}\n"
        "spec:\n  serviceName: rabbit\n  selector: {matchLabels: {app: rabbit}}\n  template:\n"
        "    metadata: {labels: {app: rabbit}}\n    spec:\n      containers:\n"
        "        - name: rabbit\n          image: rabbitmq:3\n          env:\n"
        "            - name: RABBITMQ_ERLANG_COOKIE\n"
        "              value: rabbitC00kieQw8e7r6t5y4u3i2o1pAs\n"
    )
    default = json.loads(run_cli("doctor", str(tmp_path), "--format", "json").stdout)
    plain = [f for f in default["findings"] if f["rule"] == "k8s/plain-cookie"]
    assert plain and not plain[0]["doctor_fix"] and plain[0]["found_by"][1:] == ["EC008"]
    wired = json.loads(
        run_cli(
            "doctor", str(tmp_path), "--format", "json", "--env", "RABBITMQ_ERLANG_COOKIE"
        ).stdout
    )
    (finding,) = wired["findings"]
    assert finding["rule"] == "k8s/env-literal-cookie" and finding["doctor_fix"]
    assert finding["key"] == "RABBITMQ_ERLANG_COOKIE"
