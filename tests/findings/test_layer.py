"""The shared findings layer: one severity scale, one registry, one finding shape, one SARIF
writer, used by `scan` and `release check` alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from erlcookie.cli import cli
from erlcookie.findings import RULES, Finding, Severity, rules_of
from erlcookie.findings import rules as rule_ids
from erlcookie.findings.formats import FORMATS
from tests.release.conftest import FIXTURES

SARIF_SCHEMA = Path(__file__).parent.parent / "scan" / "data" / "sarif-schema-2.1.0.json"
# What every finding says, whichever command reports it (issue: one shape for findings).
COMMON_KEYS = {
    "rule",
    "name",
    "severity",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "message",
    "fix",
    "fixable",
    "key",
    "fingerprint",
    "verdict",
    "audit",
    "identity",
}


def test_severity_is_ordered_by_rank_not_alphabet():
    assert Severity.LOW < Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    assert sorted(["critical", "low", "high", "medium"], key=Severity) == [
        "low",
        "medium",
        "high",
        "critical",
    ]
    assert Severity.HIGH >= "high" and Severity.MEDIUM < "high"
    assert Severity.HIGH == "high" and json.dumps(Severity.HIGH) == '"high"'
    assert Severity.HIGH.raised() is Severity.CRITICAL
    assert Severity.CRITICAL.raised() is Severity.CRITICAL


def test_registry_ids_are_unique_named_and_stable():
    scan_ids = [r.id for r in rules_of(rule_ids.SCAN)]
    assert scan_ids[:13] == [f"EC{n:03d}" for n in range(1, 14)] and scan_ids[-1] == "EC100"
    assert all(r.id.startswith("release/") for r in rules_of(rule_ids.RELEASE))
    assert all(r.id.startswith("k8s/") for r in rules_of(rule_ids.K8S))
    assert all(r.id.startswith("k8s-status/") for r in rules_of(rule_ids.K8S_STATUS))
    assert len(RULES) == (
        len(scan_ids)
        + len(rules_of(rule_ids.RELEASE))
        + len(rules_of(rule_ids.TLS))
        + len(rules_of(rule_ids.K8S))
        + len(rules_of(rule_ids.K8S_STATUS))
    )
    assert rule_ids.VM_ARGS_SETCOOKIE == "EC001"
    assert rule_ids.RELEASE_MIX_LITERAL_COOKIE == "release/mix-literal-cookie"
    for rule in RULES.values():
        assert isinstance(rule.severity, Severity) and rule.help and rule.short


def test_unknown_rule_ids_are_refused():
    with pytest.raises(ValueError, match="unknown rule id"):
        Finding("EC999", "x", 1, 1)


def _run(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


@pytest.fixture
def mix_app(tmp_path, monkeypatch):
    """The mix_basic fixture, as the current directory (scan shows paths relative to it)."""
    root = tmp_path / "mix_basic"
    shutil.copytree(FIXTURES / "mix_basic", root)
    monkeypatch.chdir(root)
    return root


def test_the_same_problem_has_the_same_severity_in_scan_and_release(mix_app):
    """mix.exs `cookie: "..."`: EC003 in scan, release/mix-literal-cookie in release check."""
    scanned = json.loads(_run("scan", "--format", "json", str(mix_app)).stdout)
    checked = json.loads(_run("release", "check", "--format", "json", str(mix_app)).stdout)
    [s] = [f for f in scanned["findings"] if f["rule"] == "EC003"]
    [r] = [f for f in checked["findings"] if f["rule"] == "release/mix-literal-cookie"]
    assert s["fingerprint"] == r["fingerprint"] and s["verdict"] == r["verdict"]
    assert s["severity"] == r["severity"]
    assert s["line"] == r["line"]


def test_one_json_shape_for_scan_and_release(mix_app):
    scanned = json.loads(_run("scan", "--json", str(mix_app)).stdout)
    checked = json.loads(_run("release", "check", "--json", str(mix_app)).stdout)
    assert scanned["findings"] and checked["findings"]
    for f in scanned["findings"] + checked["findings"]:
        assert COMMON_KEYS <= set(f), COMMON_KEYS - set(f)
        assert f["severity"] in [s.value for s in Severity]
    for doc in (scanned, checked):
        assert doc["tool"]["name"] == "erlcookie" and doc["command"] in ("scan", "release check")


@pytest.mark.parametrize("command", [["scan"], ["release", "check"]])
def test_format_flags_and_aliases(mix_app, command):
    as_format = _run(*command, "--format", "sarif", str(mix_app))
    as_alias = _run(*command, "--sarif", str(mix_app))
    assert as_format.exit_code == as_alias.exit_code == 1
    strip = lambda doc: {**doc, "runs": [{**doc["runs"][0], "properties": None}]}  # noqa: E731
    assert strip(json.loads(as_format.stdout)) == strip(json.loads(as_alias.stdout))
    clash = _run(*command, "--json", "--format", "sarif", str(mix_app))
    assert clash.exit_code == 2 and "conflicts" in clash.stderr


@pytest.mark.parametrize("command", [["scan"], ["release", "check"]])
def test_one_sarif_writer_valid_for_both(mix_app, command):
    schema = json.loads(SARIF_SCHEMA.read_text())
    doc = json.loads(_run(*command, "--format", "sarif", str(mix_app)).stdout)
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "erlcookie"
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for res in run["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert (
            res["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        )
        # partial fingerprints keep their old keys: scan by identity, release by cookie
        key = "erlcookieFinding/v1" if command == ["scan"] else "cookieFingerprint/v1"
        if command == ["scan"] or res["properties"].get("fingerprint"):
            assert res["partialFingerprints"][key]


def test_formatters_take_any_findings_report(mix_app):
    from erlcookie.release import check

    report = check(mix_app)
    assert json.loads(FORMATS["json"].format(report))["findings"]
    assert json.loads(FORMATS["sarif"].format(report))["runs"][0]["results"]


def test_a_plain_report_for_other_commands_renders_through_the_same_layer(tmp_path):
    """What `k8s inject --check` or `doctor` would hand to the formatters."""
    from erlcookie.findings import CookieInfo, Report

    cookie = CookieInfo("fp1:0123456789abcdef", "weak", 20.0, ("low-entropy",))
    report = Report(
        "doctor",
        str(tmp_path),
        [
            Finding(rule_ids.MIX_RELEASE_COOKIE, "mix.exs", 14, 19, cookie=cookie),
            Finding(
                rule_ids.RELEASE_MIX_LITERAL_COOKIE,
                "mix.exs",
                14,
                19,
                cookie=cookie,
                detail="mix.exs gives the release a literal cookie",
                fixable=True,
            ),
        ],
    )
    data = json.loads(FORMATS["json"].format(report))
    assert [f["severity"] for f in data["findings"]] == ["critical", "critical"]
    assert all(COMMON_KEYS <= set(f) for f in data["findings"])
    doc = json.loads(FORMATS["sarif"].format(report))
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    run = doc["runs"][0]
    assert run["automationDetails"]["id"] == "erlcookie/doctor/"
    assert {r["ruleId"] for r in run["results"]} == {"EC003", "release/mix-literal-cookie"}


def test_a_finding_rule_is_known_by_its_id():
    f = Finding(rule_ids.RELEASE_MIX_LITERAL_COOKIE, "mix.exs", 1, 1)
    assert f.rule == "release/mix-literal-cookie" == f.rule_id and f"{f.rule}" == f.rule_id
    assert {f.rule} == {"release/mix-literal-cookie"} and f.rule.severity == "high"
    assert f.rule != RULES["EC003"]
