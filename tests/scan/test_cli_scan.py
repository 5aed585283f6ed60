"""`erlcookie scan` from the command line: formats, SARIF validity, baselines, exit codes,
and the promise that no output ever contains a cookie."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from erlcookie.findings.rules import SCAN, rules_of
from tests.scan.conftest import commit_all, fresh_cookie, git
from tests.scan.test_detectors import POSITIVE, generic_secret, render

RULES = {r.id: r for r in rules_of(SCAN)}  # the scan's rules, in registry order

pytestmark = pytest.mark.timeout(180)

DATA = Path(__file__).parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def sarif_validator():
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def plant_tree(root: Path) -> list[str]:
    """Every positive fixture, each with its own fresh cookie; returns the secrets planted
    (cookies, and the base64 text of the Secret whose data is encoded)."""
    planted = []
    for i, (_case_id, path, template, rule) in enumerate(POSITIVE):
        c, g = fresh_cookie(), generic_secret()
        planted.append(g if rule == "EC100" else c)
        target = root / f"case{i:02d}" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(template, c, g))
    c = fresh_cookie()
    encoded = base64.b64encode(c.encode()).decode()
    (root / "k8s-data").mkdir()
    (root / "k8s-data" / "secret.yaml").write_text(f"kind: Secret\ndata:\n  cookie: {encoded}\n")
    planted += [c, encoded]
    return planted


def assert_no_secret(texts: dict[str, str], planted: list[str]) -> None:
    for where, text in texts.items():
        leaked = [i for i, secret in enumerate(planted) if secret in text]
        assert not leaked, f"{where} contains planted cookie(s) number {leaked} (values withheld)"


def test_clean_tree_exits_0_and_findings_exit_1(tmp_path, run_scan):
    (tmp_path / "ok.sh").write_text('export RELEASE_COOKIE="$(cat /run/secrets/cookie)"\n')
    result = run_scan([str(tmp_path)], cwd=tmp_path)
    assert result.exit_code == 0 and "No leaked cookies found." in result.stdout
    (tmp_path / ".env").write_text(f"RELEASE_COOKIE={fresh_cookie()}\n")
    result = run_scan([], cwd=tmp_path)
    assert result.exit_code == 1 and "EC005" in result.stdout and ".env:1:16" in result.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--staged", "--history"], "one at a time"),
        (["does/not/exist"], "no such file"),
        (["--max-size", "lots"], "--max-size"),
        (["--json", "--format", "sarif"], "conflicts"),
        (["--format", "xml"], "xml"),
        (["--baseline", "missing.json"], "does not exist"),
        (["--staged", "a", "b"], "at most one PATH"),
    ],
)
def test_usage_errors_exit_2(tmp_path, run_scan, args, needle):
    result = run_scan(args, cwd=tmp_path)
    assert result.exit_code == 2 and needle in result.output


def test_malformed_baseline_exits_3(tmp_path, run_scan):
    (tmp_path / "b.json").write_text("{not json")
    result = run_scan(["--baseline", "b.json"], cwd=tmp_path)
    assert result.exit_code == 3 and "not valid JSON" in result.stderr
    (tmp_path / "b.json").write_text('{"format": "something-else"}')
    result = run_scan(["--baseline", "b.json"], cwd=tmp_path)
    assert result.exit_code == 3 and "not an erlcookie scan baseline" in result.stderr


def test_baseline_accepts_known_findings_and_survives_moved_lines(tmp_path, run_scan):
    c = fresh_cookie()
    (tmp_path / "env.sh").write_text(f"export RELEASE_COOKIE={c}\n")
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel" / "vm.args").write_text(f"-setcookie {c}\n")
    wrote = run_scan(["--write-baseline", "baseline.json"], cwd=tmp_path)
    assert wrote.exit_code == 0 and "wrote 2 finding(s)" in wrote.stderr
    baseline = json.loads((tmp_path / "baseline.json").read_text())
    assert baseline["format"] == "erlcookie-scan-baseline" and len(baseline["findings"]) == 2
    assert c not in (tmp_path / "baseline.json").read_text(), "baseline holds a cookie"

    assert run_scan(["--baseline", "baseline.json"], cwd=tmp_path).exit_code == 0
    # moving lines keeps the findings accepted
    (tmp_path / "env.sh").write_text(f"#!/bin/sh\n\n# config\nexport RELEASE_COOKIE={c}\n")
    result = run_scan(["--baseline", "baseline.json", "--json"], cwd=tmp_path)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["findings"] == [] and len(data["accepted"]) == 2
    # a new cookie fails, alone
    (tmp_path / "Dockerfile").write_text(f"ENV RELEASE_COOKIE={fresh_cookie()}\n")
    result = run_scan(["--baseline", "baseline.json", "--json"], cwd=tmp_path)
    assert result.exit_code == 1
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["Dockerfile"]


def test_min_severity_filters(tmp_path, run_scan):
    (tmp_path / "a.env").write_text(f"RELEASE_COOKIE={fresh_cookie(32)}\nERLANG_COOKIE=secret\n")
    result = run_scan(["--min-severity", "critical", "--json"], cwd=tmp_path)
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and [f["key"] for f in data["findings"]] == ["ERLANG_COOKIE"]


def test_output_file_and_skip_notice(tmp_path, run_scan):
    (tmp_path / "env.sh").write_text(f"export RELEASE_COOKIE={fresh_cookie()}\n")
    (tmp_path / "huge.yaml").write_text("a: b\n" * 1000)
    result = run_scan(["--format", "sarif", "-o", "out.sarif", "--max-size", "1K"], cwd=tmp_path)
    assert result.exit_code == 1 and result.stdout == ""
    assert "huge.yaml" in result.stderr and "--max-size" in result.stderr
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("huge.yaml" in n["message"]["text"] for n in notes)
    text = run_scan(["-o", "out.txt", "--max-size", "1K"], cwd=tmp_path)
    assert text.exit_code == 1 and "huge.yaml" in (tmp_path / "out.txt").read_text()


def test_sarif_is_valid_and_what_github_reads(tmp_path, run_scan):
    plant_tree(tmp_path)
    # every positive fixture, also the build output's releases/COOKIE (skipped by default)
    result = run_scan(["--format", "sarif", "--include-build-output"], cwd=tmp_path)
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    sarif_validator().validate(sarif)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert 0 < float(rule["properties"]["security-severity"]) <= 10
    assert len(run["results"]) == len(POSITIVE) + 1
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not loc["artifactLocation"]["uri"].startswith("/")
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
        assert res["level"] in ("warning", "error")
        assert res["partialFingerprints"]["erlcookieFinding/v1"]
        assert res["properties"]["fingerprint"].startswith("fp1:")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")


def test_sarif_partial_fingerprints_do_not_move_with_lines(tmp_path, run_scan):
    c = fresh_cookie()
    (tmp_path / "Dockerfile").write_text(f"FROM x\nENV RELEASE_COOKIE={c}\n")

    def results():
        sarif = json.loads(run_scan(["--format", "sarif"], cwd=tmp_path).stdout)
        sarif_validator().validate(sarif)
        return [
            (r["partialFingerprints"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
            for r in sarif["runs"][0]["results"]
        ]

    ((before_fp, before_line),) = results()
    (tmp_path / "Dockerfile").write_text(
        f"# syntax=docker/dockerfile:1\nFROM x\nRUN true\n\nENV RELEASE_COOKIE={c}\n"
    )
    ((after_fp, after_line),) = results()
    assert before_fp == after_fp and before_line != after_line


def test_sarif_history_and_staged_validate(repo, run_scan):
    (repo / "env.sh").write_text(f"export RELEASE_COOKIE={fresh_cookie()}\n")
    commit_all(repo, "leak")
    (repo / "env.sh").unlink()
    commit_all(repo, "unleak")
    (repo / "Dockerfile").write_text(f"ENV ERLANG_COOKIE={fresh_cookie()}\n")
    git(repo, "add", "Dockerfile")
    for mode in ("--history", "--staged"):
        result = run_scan([mode, "--format", "sarif"], cwd=repo)
        assert result.exit_code == 1
        sarif = json.loads(result.stdout)
        sarif_validator().validate(sarif)
        assert sarif["runs"][0]["automationDetails"]["id"] == f"erlcookie/scan/{mode[2:]}/"
    history = json.loads(run_scan(["--history", "--format", "sarif"], cwd=repo).stdout)
    props = history["runs"][0]["results"][0]["properties"]
    assert props["inHead"] is False and props["commits"]


def test_no_output_format_contains_a_planted_cookie(repo, run_scan, monkeypatch):
    planted = plant_tree(repo)
    commit_all(repo, "every leak we know")
    extra = fresh_cookie()
    (repo / "later.env").write_text(f"RELEASE_COOKIE={extra}\n")
    commit_all(repo, "one more")
    (repo / "later.env").unlink()
    commit_all(repo, "and gone")
    staged = fresh_cookie()
    (repo / "staged.sh").write_text(f"export ERLANG_COOKIE={staged}\n")
    git(repo, "add", "staged.sh")
    planted += [extra, staged]

    outputs: dict[str, str] = {}
    for mode in ([], ["--staged"], ["--history"]):
        for fmt in ("text", "json", "sarif"):
            result = run_scan([*mode, "--format", fmt], cwd=repo)
            assert result.exit_code == 1, f"{mode} {fmt}: exit {result.exit_code}"
            outputs[f"{mode} {fmt} stdout"] = result.stdout
            outputs[f"{mode} {fmt} stderr"] = result.stderr
    result = run_scan(
        ["--history", "--write-baseline", "bl.json", "-o", "report.sarif", "--format", "sarif"],
        cwd=repo,
    )
    outputs["baseline file"] = (repo / "bl.json").read_text()
    outputs["sarif file"] = (repo / "report.sarif").read_text()
    outputs["with baseline"] = run_scan(
        ["--history", "--baseline", "bl.json", "--json"], cwd=repo
    ).stdout
    # the rich table a terminal gets
    import erlcookie.cli.common as common
    import erlcookie.cli.scan as cli_scan

    monkeypatch.setattr(common, "stdout_is_tty", lambda: True)
    monkeypatch.setattr(cli_scan, "stdout_is_tty", lambda: True)
    outputs["tty table"] = run_scan([], cwd=repo).stdout
    assert "EC001" in outputs["tty table"]
    assert_no_secret(outputs, planted)
    # and the outputs are not trivially empty
    assert all(
        len(json.loads(outputs[f"{m} json stdout"])["findings"]) >= 1
        for m in ("[]", "['--staged']", "['--history']")
    )


def test_pre_commit_hooks_manifest():
    manifest = YAML(typ="safe").load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(manifest, list) and manifest
    ids = {hook["id"] for hook in manifest}
    assert {"erlcookie-scan", "erlcookie-scan-staged"} <= ids
    for hook in manifest:
        assert hook["language"] == "python" and hook["entry"].startswith("erlcookie scan")
        assert hook["name"] and hook["description"]
    staged = next(h for h in manifest if h["id"] == "erlcookie-scan-staged")
    assert staged["pass_filenames"] is False and "--staged" in staged["entry"]


def test_pre_commit_entries_run_as_pre_commit_would(repo):
    """pre-commit runs `entry` plus file names (or none with pass_filenames: false)."""
    manifest = YAML(typ="safe").load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    (repo / "ok.txt").write_text("fine\n")
    (repo / "env.sh").write_text(f"export RELEASE_COOKIE={fresh_cookie()}\n")
    git(repo, "add", "-A")
    for hook in manifest:
        argv = hook["entry"].split() + list(hook.get("args", []))
        argv[0] = str(BIN / argv[0])
        if hook.get("pass_filenames", True):
            argv += ["ok.txt", "env.sh"]
        proc = subprocess.run(argv, cwd=repo, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and "env.sh" in proc.stdout, hook["id"]
        clean = argv[: len(argv) - 2] + ["ok.txt"] if hook.get("pass_filenames", True) else None
        if clean:
            assert subprocess.run(clean, cwd=repo, capture_output=True, timeout=60).returncode == 0


def test_rich_terminal_output(tmp_path, run_scan, monkeypatch):
    import erlcookie.cli.common as common
    import erlcookie.cli.scan as cli_scan

    monkeypatch.setattr(common, "stdout_is_tty", lambda: True)
    monkeypatch.setattr(cli_scan, "stdout_is_tty", lambda: True)
    (tmp_path / ".env").write_text("RELEASE_COOKIE=changeme\n")
    result = run_scan([], cwd=tmp_path)
    assert result.exit_code == 1 and "erlcookie scan (tree)" in result.stdout
    assert "critical" in result.stdout and "weak" in result.stdout


def test_help_lists_the_options(run_scan):
    result = run_scan(["--help"])
    for option in (
        "--staged",
        "--history",
        "--format",
        "--exclude",
        "--baseline",
        "--write-baseline",
        "--max-size",
        "erlcookie:allow",
    ):
        assert option in result.stdout
