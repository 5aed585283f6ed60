"""`erlcookie release check` on fixture projects of real-world shapes."""

from __future__ import annotations

import json
import os
import subprocess

import jsonschema
import pytest

from erlcookie.cookie.fingerprint import fingerprint
from erlcookie.release import RULES, check
from tests.release.conftest import FIXTURES, assert_no_leak

# fixture -> {(file, line, rule)} it must report, exactly.
EXPECTED = {
    "rebar3_template": {("config/vm.args", 3, "release/relx-template-cookie")},
    "rebar3_commented": {
        ("config/vm.args", 5, "release/vm-args-literal-cookie"),
        ("config/prod/vm.args", 2, "release/vm-args-literal-cookie"),
        ("apps/shop/src/shop_app.erl", 7, "release/set-cookie-literal"),
    },
    "rebar3_per_node": {
        ("config/vm.args.src", 4, "release/vm-args-per-node-cookie"),
        ("rebar.config", 1, "release/relx-no-cookie-guard"),
    },
    "rebar3_no_vm_args": {("rebar.config", 2, "release/relx-default-vm-args")},
    "rebar3_old": {
        ("rebar.config", 1, "release/relx-vm-args-src-ignored"),
        ("rebar.config", 1, "release/relx-no-cookie-guard"),
    },
    "rebar3_unrendered": {("config/vm.args", 2, "release/vm-args-unrendered-variable")},
    "rebar3_one_line": {
        ("config/vm.args.src", 2, "release/relx-setcookie-not-at-line-start"),
        ("rebar.config", 1, "release/relx-no-cookie-guard"),
    },
    "rebar3_default_literal": {
        ("config/vm.args.src", 2, "release/vm-args-cookie-default"),
        ("rebar.config", 1, "release/relx-no-cookie-guard"),
    },
    "mix_basic": {
        ("mix.exs", 12, "release/mix-cookie-fallback"),
        ("mix.exs", 14, "release/mix-literal-cookie"),
    },
    "mix_several": {
        ("mix.exs", 21, "release/mix-cookie-fallback"),
        ("mix.exs", 23, "release/mix-literal-cookie"),
        ("mix.exs", 27, "release/mix-cookie-fallback"),
        ("mix.exs", 29, "release/mix-literal-cookie"),  # a literal fallback after ||
        ("mix.exs", 32, "release/mix-cookie-fallback"),
        ("mix.exs", 32, "release/mix-literal-cookie"),
        ("rel/env.bat.eex", 4, "release/env-script-literal-cookie"),
    },
    "mix_umbrella": {
        ("mix.exs", 11, "release/mix-cookie-fallback"),
        ("mix.exs", 11, "release/mix-literal-cookie"),
        ("apps/core/lib/core.ex", 5, "release/set-cookie-literal"),
    },
    "mix_releases_exs": {
        ("config/releases.exs", 6, "release/set-cookie-literal"),
        ("mix.exs", 5, "release/mix-cookie-fallback"),
        ("rel/env.sh.eex", 5, "release/env-script-literal-cookie"),
        ("rel/vm.args.eex", 3, "release/mix-vm-args-setcookie"),
    },
    "mix_user_guard": set(),
}

# The literal each finding's fingerprint must match (file, line, rule) -> value.
LITERALS = {
    ("rebar3", "config/vm.args", "release/relx-template-cookie"): "myrel_cookie",
    ("rebar3_commented", "config/vm.args", "release/vm-args-literal-cookie"): "dev shop cookie",
    (
        "rebar3_commented",
        "config/prod/vm.args",
        "release/vm-args-literal-cookie",
    ): "Zq7_prodShopCookie_Lw2",
    (
        "rebar3_commented",
        "apps/shop/src/shop_app.erl",
        "release/set-cookie-literal",
    ): "shop_hardcoded_cookie",
    (
        "rebar3_per_node",
        "config/vm.args.src",
        "release/vm-args-per-node-cookie",
    ): "legacyBillingCookie42",
    (
        "rebar3_default_literal",
        "config/vm.args.src",
        "release/vm-args-cookie-default",
    ): "searchDevFallback",
    ("mix_umbrella", "mix.exs", "release/mix-literal-cookie"): "bazaar_charlist_cookie",
    ("mix_umbrella", "apps/core/lib/core.ex", "release/set-cookie-literal"): "bazaar_core_cookie",
    (
        "mix_releases_exs",
        "config/releases.exs",
        "release/set-cookie-literal",
    ): "checkoutFallbackCookie",
    (
        "mix_releases_exs",
        "rel/env.sh.eex",
        "release/env-script-literal-cookie",
    ): "checkoutEnvShCookie",
    (
        "mix_releases_exs",
        "rel/vm.args.eex",
        "release/mix-vm-args-setcookie",
    ): "checkoutVmArgsCookie",
}

REPORT_SCHEMA = {
    "type": "object",
    "required": ["path", "projects", "findings", "errors", "summary"],
    "properties": {
        "projects": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind", "root", "releases"],
                "properties": {"kind": {"enum": ["rebar3", "mix", "mix-umbrella"]}},
            },
        },
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                # the keys release check always had, and the shape every finding shares
                "required": [
                    "file",
                    "line",
                    "column",
                    "rule",
                    "severity",
                    "message",
                    "fix",
                    "fixable",
                    "cookie",
                    "path",
                    "name",
                    "end_line",
                    "end_column",
                    "key",
                    "fingerprint",
                    "verdict",
                    "audit",
                    "identity",
                ],
                "additionalProperties": False,
                "properties": {
                    "file": {"type": "string"},
                    "line": {"type": "integer", "minimum": 1},
                    "column": {"type": "integer", "minimum": 1},
                    "rule": {"enum": sorted(RULES)},
                    "severity": {"enum": ["critical", "high", "medium", "low"]},
                    "message": {"type": "string"},
                    "fix": {"type": "string"},
                    "fixable": {"type": "boolean"},
                    "path": {"type": "string"},
                    "name": {"type": "string"},
                    "end_line": {"type": "integer", "minimum": 1},
                    "end_column": {"type": "integer", "minimum": 1},
                    "key": {"type": ["string", "null"]},
                    "fingerprint": {"type": ["string", "null"]},
                    "verdict": {"enum": [None, "ok", "weak", "predictable", "invalid"]},
                    "audit": {"type": ["object", "null"]},
                    "identity": {"type": "string"},
                    "cookie": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["fingerprint", "verdict", "bits", "reasons"],
                                "additionalProperties": False,
                                "properties": {
                                    "fingerprint": {
                                        "type": "string",
                                        "pattern": "^fp1:[0-9a-f]{16}$",
                                    },
                                    "verdict": {"enum": ["ok", "weak", "predictable", "invalid"]},
                                    "bits": {"type": "number"},
                                    "reasons": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        ]
                    },
                },
            },
        },
        "errors": {"type": "array"},
        "summary": {"type": "object", "required": ["findings"]},
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_findings(name, run_cli):
    result = run_cli("release", "check", str(FIXTURES / name), "--json")
    data = json.loads(result.stdout)
    jsonschema.validate(data, REPORT_SCHEMA)
    got = {(f["file"], f["line"], f["rule"]) for f in data["findings"]}
    assert got == EXPECTED[name]
    assert result.exit_code == (1 if EXPECTED[name] else 0)
    assert_no_leak(result.stdout + result.stderr)
    for f in data["findings"]:
        # one severity policy with scan: the rule's, one step up for a weak cookie
        assert f["severity"] == RULES[f["rule"]].severity_for(f["verdict"])
        assert f["path"] == f["file"] and f["fingerprint"] == (f["cookie"] or {}).get("fingerprint")
        literal = LITERALS.get((name, f["file"], f["rule"]))
        if literal is not None:
            assert f["cookie"]["fingerprint"] == fingerprint(literal)
            assert f["cookie"]["verdict"] in ("ok", "weak", "predictable", "invalid")


def test_template_cookie_is_judged_weak():
    report = check(FIXTURES / "rebar3_template")
    [f] = report.findings
    assert f.cookie.fingerprint == fingerprint("myrel_cookie")
    assert f.cookie.verdict == "weak" and "relx-template" in f.cookie.reasons


def test_projects_and_releases_are_reported():
    several = check(FIXTURES / "mix_several").projects
    assert [(p.kind, p.releases) for p in several] == [("mix", ["api", "worker", "tools"])]
    umbrella = check(FIXTURES / "mix_umbrella").projects
    assert [(p.kind, p.root, p.releases) for p in umbrella] == [("mix-umbrella", ".", ["bazaar"])]


def test_whole_tree_with_several_projects(run_cli):
    """Pointed at the fixtures folder: every project found, unparseable ones make it exit 3."""
    result = run_cli("release", "check", str(FIXTURES), "--json")
    data = json.loads(result.stdout)
    roots = {p["root"] for p in data["projects"]}
    assert {"rebar3_template", "mix_umbrella", "mix_several"} <= roots
    assert "mix_umbrella/apps/web" not in roots  # umbrella children belong to it
    assert {e["file"] for e in data["errors"]} == {
        "broken_mix/mix.exs",
        "broken_rebar/rebar.config",
    }
    assert result.exit_code == 3
    assert len(data["findings"]) >= sum(len(v) for v in EXPECTED.values())


def test_text_output(run_cli):
    result = run_cli("release", "check", str(FIXTURES / "rebar3_commented"))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    # shop_hardcoded_cookie is weak: critical, as `scan` ranks the same call (EC004)
    assert lines[0].startswith(
        "apps/shop/src/shop_app.erl:7:12: critical release/set-cookie-literal:"
    )
    assert "[cookie fp1:" in lines[0]
    assert any(line.startswith("    fix: ") for line in lines)
    # and Zq7_prodShopCookie_Lw2 in config/prod/vm.args is human-chosen: weak, critical too
    assert lines[-1].startswith("3 findings (2 critical, 1 high); 2 fixable")
    assert_no_leak(result.output)


def test_sarif(run_cli):
    result = run_cli("release", "check", str(FIXTURES / "mix_several"), "--sarif")
    sarif = json.loads(result.stdout)
    schema_path = FIXTURES.parent.parent / "scan" / "data" / "sarif-schema-2.1.0.json"
    if schema_path.exists():  # the scan tests vendor the official schema (see its README)
        schema = json.loads(schema_path.read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(run["results"]) == 7
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
    assert_no_leak(result.stdout)


def test_bad_path_is_a_usage_error(run_cli, tmp_path):
    assert run_cli("release", "check", str(tmp_path / "missing")).exit_code == 2
    (tmp_path / "file").write_text("x")
    assert run_cli("release", "check", str(tmp_path / "file")).exit_code == 2
    empty = run_cli("release", "check", str(tmp_path))
    assert empty.exit_code == 2 and "no rebar3 or mix project" in empty.stderr


def _git(*args, cwd):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=30,
    )


def test_committed_and_stray_cookie_files(project, run_cli):
    root = project("mix_user_guard")
    _git("init", "-q", cwd=root)
    (root / ".erlang.cookie").write_text("Hx4Qm8Zt2Vr6Kp9Lw3Nd\n")
    os.chmod(root / ".erlang.cookie", 0o400)
    _git("add", "-A", cwd=root)
    _git("commit", "-q", "-m", "oops", cwd=root)
    (root / "rel" / "releases").mkdir()
    (root / "rel" / "releases" / "COOKIE").write_text("strayBuildCookie3")
    (root / ".gitignore").write_text("ignored/\n")
    (root / "ignored").mkdir()
    (root / "ignored" / ".erlang.cookie").write_text("ignoredCookieValue")
    result = run_cli("release", "check", str(root), "--json")
    data = json.loads(result.stdout)
    got = {(f["file"], f["rule"]): f for f in data["findings"]}
    assert set(got) == {
        (".erlang.cookie", "release/committed-cookie-file"),
        ("rel/releases/COOKIE", "release/cookie-file-in-tree"),
    }
    assert got[(".erlang.cookie", "release/committed-cookie-file")]["cookie"][
        "fingerprint"
    ] == fingerprint("Hx4Qm8Zt2Vr6Kp9Lw3Nd")
    # high as in scan (EC002); critical only for a weak cookie
    assert got[(".erlang.cookie", "release/committed-cookie-file")]["severity"] == "high"
    assert_no_leak(
        result.output, ("Hx4Qm8Zt2Vr6Kp9Lw3Nd", "strayBuildCookie3", "ignoredCookieValue")
    )


def test_cookie_file_without_git(project, run_cli, monkeypatch):
    root = project("mix_user_guard")
    (root / ".erlang.cookie").write_text("noGitCookieValue")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(root.parent))
    data = json.loads(run_cli("release", "check", str(root), "--json").stdout)
    assert [(f["file"], f["rule"]) for f in data["findings"]] == [
        (".erlang.cookie", "release/cookie-file-in-tree")
    ]


def test_rebar3_version_sources(project, run_cli):
    root = project("rebar3_template")
    # The template names vm_args explicitly, so after the fix the version does not matter;
    # before it, an old rebar3 with only a .src file is what the rule is about.
    old = project("rebar3_old")
    data = json.loads(run_cli("release", "check", str(old), "--json").stdout)
    assert "rebar3 3.13.2 (from .tool-versions)" in data["projects"][0]["notes"]
    (old / ".tool-versions").unlink()
    (old / "rebar3").write_text("#!/usr/bin/env escript\n%% Rebar3 3.20.0\n%%! +sbtu\n")
    data = json.loads(run_cli("release", "check", str(old), "--json").stdout)
    assert "release/relx-vm-args-src-ignored" not in {f["rule"] for f in data["findings"]}
    forced = json.loads(
        run_cli("release", "check", str(old), "--json", "--rebar3-version", "3.10.0").stdout
    )
    assert "release/relx-vm-args-src-ignored" in {f["rule"] for f in forced["findings"]}
    bad = run_cli("release", "check", str(root), "--rebar3-version", "latest")
    assert bad.exit_code == 2


def test_plain_project_without_releases(tmp_path, run_cli):
    (tmp_path / "rebar.config").write_text("{deps, []}.\n")
    result = run_cli("release", "check", str(tmp_path), "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["projects"][0]["releases"] == []


REBAR = '{relx, [{release, {tiny, "0.1.0"}, [tiny]}]}.\n'
SMALL_CASES = [
    # (files, the rule check reports, whether fix clears it)
    (
        {"rebar.config": REBAR, "config/vm.args.src": "-sname tiny\n+K true\n"},
        "release/vm-args-no-cookie",
        True,
    ),
    (
        {"rebar.config": REBAR, "config/vm.args.src": "-sname tiny\n-setcookie\n"},
        "release/vm-args-empty-cookie",
        True,
    ),
    (
        {"rebar.config": REBAR, "config/vm.args": "-sname tiny\n-setcookie {{cookie}}\n"},
        "release/vm-args-build-time-cookie",
        True,
    ),
    (
        {
            "mix.exs": "defmodule T.MixProject do\n  use Mix.Project\n  def project, do: [app: :t, "
            'releases: [t: [cookie: System.fetch_env!("BUILD_COOKIE")]]]\nend\n'
        },
        "release/mix-build-time-cookie",
        True,
    ),
    (
        {
            "mix.exs": "defmodule T.MixProject do\n  use Mix.Project\n  def project, do: [app: :t]\nend\n",
            "Dockerfile": "FROM debian\nENV RELEASE_COOKIE=dockerBakedCookie1 RELEASE_DISTRIBUTION=name\n",
        },
        "release/dockerfile-literal-cookie",
        False,
    ),
    # a module attribute is the literal it holds
    (
        {
            "mix.exs": 'defmodule T.MixProject do\n  use Mix.Project\n  @cookie "dockerBakedCookie1"\n'
            "  def project, do: [app: :t, releases: [t: [cookie: @cookie]]]\nend\n"
        },
        "release/mix-literal-cookie",
        True,
    ),
    (
        {
            "mix.exs": "defmodule T.MixProject do\n  use Mix.Project\n  def project, do: [app: :t]\nend\n",
            "lib/t.ex": "defmodule T do\n  @c :dockerBakedCookie1\n  def go, do: Node.set_cookie(@c)\nend\n",
        },
        "release/set-cookie-literal",
        False,
    ),
]


@pytest.mark.parametrize("files, rule, fixable", SMALL_CASES)
def test_small_projects(files, rule, fixable, tmp_path, run_cli):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    before = json.loads(run_cli("release", "check", str(tmp_path), "--json").stdout)
    assert rule in {f["rule"] for f in before["findings"]}
    assert_no_leak(json.dumps(before), ("dockerBakedCookie1",))
    run_cli("release", "fix", str(tmp_path))
    after = {f.rule_id for f in check(tmp_path).findings}
    assert (rule in after) is not fixable


def test_the_bundled_leaky_example(run_cli):
    example = FIXTURES.parents[2] / "examples" / "leaky-cluster"
    if not example.is_dir():
        pytest.skip("examples/leaky-cluster is not in this checkout")
    data = json.loads(run_cli("release", "check", str(example), "--json").stdout)
    rules = {f["rule"] for f in data["findings"]}
    assert {
        "release/mix-literal-cookie",
        "release/mix-cookie-fallback",
        "release/mix-vm-args-setcookie",
        "release/set-cookie-literal",
        "release/dockerfile-literal-cookie",
    } <= rules
    assert rules & {"release/committed-cookie-file", "release/cookie-file-in-tree"}
