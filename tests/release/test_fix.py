"""`erlcookie release fix`: the right edits, nothing else, idempotent, untouched on error."""

from __future__ import annotations

import difflib
import json
import os
import stat

import pytest

from erlcookie.release import check, plan_fix
from tests.release.conftest import FIXTURES, assert_no_leak, expect_equal, expect_in, snapshot

FIXABLE = [
    "rebar3_template",
    "rebar3_commented",
    "rebar3_per_node",
    "rebar3_no_vm_args",
    "rebar3_old",
    "rebar3_unrendered",
    "rebar3_default_literal",
    "rebar3_one_line",
    "mix_basic",
    "mix_several",
    "mix_umbrella",
    "mix_releases_exs",
]
# Findings a fix leaves for a human, by fixture.
MANUAL = {
    "rebar3_commented": {"release/set-cookie-literal"},
    "rebar3_per_node": {"release/vm-args-per-node-cookie"},
    "mix_umbrella": {"release/set-cookie-literal"},
    "mix_releases_exs": {"release/set-cookie-literal"},
}
# Words a changed (removed or rewritten) line of an existing file may contain.
COOKIE_WORDS = ("setcookie", "cookie:", "vm_args", "RELEASE_COOKIE", "-name", "-sname")


@pytest.mark.parametrize("name", FIXABLE)
def test_fix_then_check_is_clean_and_a_second_fix_changes_nothing(name, project, run_cli):
    root = project(name)
    result = run_cli("release", "fix", str(root))
    assert result.exit_code == (1 if name in MANUAL else 0), result.stderr
    assert_no_leak(result.output)
    after = check(root)
    assert {f.rule_id for f in after.findings} == MANUAL.get(name, set())
    assert not after.errors
    state = snapshot(root)
    again = run_cli("release", "fix", str(root))
    assert "nothing to change" in again.stderr and again.stdout == ""
    assert snapshot(root) == state


@pytest.mark.parametrize("name", FIXABLE)
def test_only_cookie_lines_change(name, project):
    root = project(name)
    fix_plan, _ = plan_fix(root)
    for change in fix_plan.changes:
        if change.old_text is None or change.new_text is None:
            continue
        old, new = change.old_text.splitlines(), change.new_text.splitlines()
        for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
            if tag in ("replace", "delete"):
                for line in old[i1:i2]:
                    touched = (
                        any(word in line for word in COOKIE_WORDS)
                        or line.rstrip().endswith(",")
                        or line.rstrip().endswith("]}.")
                        or "{sys_config" in line
                        or "{release," in line
                        or "{mode," in line
                    )
                    assert touched, f"{change.path}: an unrelated line changed"


def test_rebar3_template_exact_result(project):
    root = project("rebar3_template")
    old_config = (root / "rebar.config").read_text()
    old_vm = (root / "config" / "vm.args").read_text()
    fix_plan, _ = plan_fix(root)
    by_path = {c.path: c for c in fix_plan.changes}
    assert set(by_path) == {
        "config/vm.args.src",
        "rebar.config",
        "config/hooks/erlcookie_require_cookie.sh",
    }
    assert by_path["config/vm.args.src"].old_path == "config/vm.args"
    expect_equal(
        by_path["config/vm.args.src"].new_text,
        old_vm.replace("-setcookie myrel_cookie", "-setcookie ${RELEASE_COOKIE}"),
        "config/vm.args.src",
    )
    expected = old_config.replace(
        '        {vm_args, "./config/vm.args"}\n',
        '        {vm_args_src, "./config/vm.args.src"},\n'
        "        {extended_start_script_hooks, [{pre_start, [{custom, "
        '"hooks/erlcookie_require_cookie.sh"}]}]},\n'
        '        {overlay, [{copy, "config/hooks/erlcookie_require_cookie.sh", '
        '"bin/hooks/erlcookie_require_cookie.sh"}]}\n',
    )
    expect_equal(by_path["rebar.config"].new_text, expected, "rebar.config")


def test_mix_several_exact_result(project):
    root = project("mix_several")
    old = (root / "mix.exs").read_text()
    fix_plan, _ = plan_fix(root)
    by_path = {c.path: c for c in fix_plan.changes}
    assert set(by_path) == {"mix.exs", "rel/env.sh.eex", "rel/env.bat.eex"}
    new = by_path["mix.exs"].new_text
    kept = [
        line for line in old.splitlines(keepends=True) if "cookie:" not in line or "tools:" in line
    ]
    expected = "".join(kept).replace(
        'tools: [applications: [platform: :load], cookie: "tools-cookie-inline", quiet: true]',
        "tools: [applications: [platform: :load], quiet: true]",
    )
    expect_equal(new, expected, "mix.exs")
    bat = by_path["rel/env.bat.eex"].new_text
    assert_no_leak(bat)
    expect_in("erlcookie:begin release-cookie-guard", bat, "env.bat.eex")
    expect_equal(
        bat[:55], "@echo off\nrem Set the release to work across nodes.\nrem", "env.bat.eex"
    )


def test_existing_env_sh_keeps_its_lines_and_gets_the_guard_last(project):
    root = project("mix_releases_exs")
    before = (root / "rel" / "env.sh.eex").read_text().splitlines()
    plan_fix(root)
    from erlcookie.release import apply

    apply(plan_fix(root)[0])
    after = (root / "rel" / "env.sh.eex").read_text()
    assert_no_leak(after)
    for line in before:
        if "RELEASE_COOKIE=" not in line:
            expect_in(line, after, "env.sh.eex")
    assert after.rstrip().endswith("# erlcookie:end release-cookie-guard")
    from erlcookie.release import vmargs

    vm_args = (root / "rel" / "vm.args.eex").read_text()
    assert_no_leak(vm_args)
    remaining = len(vmargs.find(vmargs.flags(vm_args), "-setcookie"))
    assert remaining == 0 and "+Q 65536" in vm_args


def test_guard_block_options_are_remembered_and_replaced(project, run_cli):
    root = project("mix_basic")
    assert run_cli("release", "fix", str(root), "--dist-port", "9100").exit_code == 0
    env_sh = root / "rel" / "env.sh.eex"
    assert "inet_dist_listen_min 9100 inet_dist_listen_max 9100" in env_sh.read_text()
    assert "nothing to change" in run_cli("release", "fix", str(root)).stderr
    assert (
        run_cli(
            "release", "fix", str(root), "--dist-port", "9200", "--node-name", "pod-ip"
        ).exit_code
        == 0
    )
    text = env_sh.read_text()
    assert "9100" not in text and "inet_dist_listen_max 9200" in text
    assert 'RELEASE_NODE="<%= @release.name %>@${POD_IP}"' in text
    assert text.count("erlcookie:begin release-cookie-guard") == 1


def test_dry_run_writes_nothing_and_shows_a_redacted_diff(project, run_cli):
    root = project("rebar3_commented")
    state = snapshot(root)
    result = run_cli("release", "fix", str(root), "--dry-run")
    assert snapshot(root) == state
    assert "--- a/config/vm.args\n+++ b/config/vm.args.src\n" in result.stdout
    assert "+-setcookie ${RELEASE_COOKIE} # quoted, with a space" in result.stdout
    assert '-setcookie "<cookie fp1:' in result.stdout
    assert "dry run" in result.stderr
    assert_no_leak(result.output)
    assert result.exit_code == 1  # the set_cookie call in shop_app.erl needs a human


def test_json_output(project, run_cli):
    root = project("mix_basic")
    result = run_cli("release", "fix", str(root), "--json", "--dry-run")
    data = json.loads(result.stdout)
    assert data["dry_run"] is True and data["written"] is False
    assert [(c["action"], c["path"]) for c in data["changes"]] == [
        ("edit", "mix.exs"),
        ("create", "rel/env.sh.eex"),
    ]
    assert data["changes"][0]["diff"].startswith("--- a/mix.exs\n+++ b/mix.exs\n")
    assert data["remaining"] == []
    assert_no_leak(result.stdout)
    written = json.loads(run_cli("release", "fix", str(root), "--json").stdout)
    assert written["written"] is True


def test_modes_are_kept_and_new_files_are_readable(project, run_cli):
    root = project("rebar3_template")
    os.chmod(root / "config" / "vm.args", 0o640)
    assert run_cli("release", "fix", str(root)).exit_code == 0
    assert stat.S_IMODE((root / "config" / "vm.args.src").stat().st_mode) == 0o640
    hook = root / "config" / "hooks" / "erlcookie_require_cookie.sh"
    assert stat.S_IMODE(hook.stat().st_mode) == 0o644
    assert not list(root.rglob(".*.tmp"))  # no temporary files left behind


@pytest.mark.parametrize(
    "name, where",
    [
        ("broken_rebar", "rebar.config: line 3, column 1"),
        ("broken_mix", "mix.exs: line 5, column 67"),
    ],
)
def test_unparseable_files_are_left_untouched(name, where, project, run_cli):
    root = project(name)
    state = snapshot(root)
    result = run_cli("release", "fix", str(root))
    assert result.exit_code == 3
    assert f"cannot parse {where}" in result.stderr and "nothing was changed" in result.stderr
    assert snapshot(root) == state
    assert_no_leak(result.output)


def test_one_broken_project_stops_the_whole_fix(tmp_path, run_cli):
    import shutil

    for name in ("broken_mix", "rebar3_template"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    state = snapshot(tmp_path)
    assert run_cli("release", "fix", str(tmp_path)).exit_code == 3
    assert snapshot(tmp_path) == state


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda r: (r / "rebar.config").write_text(
                '{relx, [{release, {myrel, "0.1.0"}, [myrel]}, {vm_args, "./config/vm.args"},\n'
                "        {overlay, not_a_list}]}.\n"
            ),
            "unexpected relx section shape",
        ),
        (
            lambda r: (r / "config" / "vm.args.src").write_text("-sname myrel\n"),
            "both config/vm.args",
        ),
        (
            lambda r: (
                (r / "config" / "hooks").mkdir(),
                (r / "config" / "hooks" / "erlcookie_require_cookie.sh").write_text("echo mine\n"),
            ),
            "was not written by erlcookie",
        ),
        (
            lambda r: (r / "config" / "vm.args").write_text(
                '-sname myrel\n-setcookie "unterminated\n'
            ),
            "unterminated quote",
        ),
        (lambda r: (r / "rebar.config.script").write_text("CONFIG.\n"), "rebar.config.script"),
    ],
)
def test_shapes_we_will_not_guess_about(mutate, message, project, run_cli):
    root = project("rebar3_template")
    mutate(root)
    state = snapshot(root)
    result = run_cli("release", "fix", str(root))
    assert result.exit_code == 3 and message in result.stderr, result.stderr
    assert snapshot(root) == state


def test_dist_port_validation(project, run_cli):
    root = project("mix_basic")
    assert run_cli("release", "fix", str(root), "--dist-port", "4369").exit_code == 2
    assert run_cli("release", "fix", str(root), "--dist-port", "70000").exit_code == 2
    assert run_cli("release", "fix", str(root), "--node-name", "pod-name").exit_code == 2


def test_old_rebar3_gets_vm_args_src_named(project, run_cli):
    root = project("rebar3_old")
    assert run_cli("release", "fix", str(root)).exit_code == 0
    assert '{vm_args_src, "./config/vm.args.src"}' in (root / "rebar.config").read_text()
    modern = project("rebar3_default_literal")
    assert run_cli("release", "fix", str(modern), "--rebar3-version", "3.19.0").exit_code == 0
    assert "vm_args_src" not in (modern / "rebar.config").read_text()


def test_default_vm_args_is_created(project, run_cli):
    root = project("rebar3_no_vm_args")
    assert run_cli("release", "fix", str(root), "--rebar3-version", "3.19.0").exit_code == 0
    text = (root / "config" / "vm.args.src").read_text()
    assert "-sname ledger\n" in text and "-setcookie ${RELEASE_COOKIE}\n" in text


def test_rel_templates_path_and_umbrella_children(tmp_path, run_cli):
    (tmp_path / "apps" / "jobs").mkdir(parents=True)
    (tmp_path / "mix.exs").write_text(
        "defmodule U.MixProject do\n  use Mix.Project\n\n  def project do\n    [\n"
        '      apps_path: "apps",\n      releases: [\n        web: [applications: [jobs: :permanent]],\n'
        '        jobs: [applications: [jobs: :permanent], rel_templates_path: "rel/jobs"]\n'
        "      ]\n    ]\n  end\nend\n"
    )
    (tmp_path / "apps" / "jobs" / "mix.exs").write_text(
        "defmodule Jobs.MixProject do\n  use Mix.Project\n\n  def project do\n"
        '    [app: :jobs, releases: [jobs: [cookie: "childAppCookie5"]]]\n  end\nend\n'
    )
    before = {(f.path, f.rule_id) for f in check(tmp_path).findings}
    assert ("apps/jobs/mix.exs", "release/mix-literal-cookie") in before
    result = run_cli("release", "fix", str(tmp_path))
    assert_no_leak(result.output, ("childAppCookie5",))
    assert result.exit_code == 0
    for env_sh in ("rel/env.sh.eex", "rel/jobs/env.sh.eex"):
        expect_in("erlcookie:begin release-cookie-guard", (tmp_path / env_sh).read_text(), env_sh)
    child = (tmp_path / "apps" / "jobs" / "mix.exs").read_text()
    assert_no_leak(child, ("childAppCookie5",))
    assert "releases: [jobs: []]" in child
    assert check(tmp_path).findings == []


# -- cookies the fix does not rewrite still never reach the diff --------------------------
def _generated(n: int) -> list[str]:
    """Fresh cookies: the suite's leak guard fails the test if any reaches its output."""
    import erlcookie.cookie.generate as generate

    return [generate.generate().reveal() for _ in range(n)]


def _unrecognised_literals_project(root, cookies):
    attr, escaped, commented_vm, vm, commented_env, env, commented_rebar, rebar, per_node = cookies
    (root / "shop" / "rel").mkdir(parents=True)
    (root / "shop" / "mix.exs").write_text(
        "defmodule Shop.MixProject do\n  use Mix.Project\n\n"
        f'  @cookie "{attr}"\n  @other "not a cookie"\n\n'
        '  def project do\n    [\n      app: :shop,\n      version: "0.1.0",\n'
        "      releases: [\n        shop: [\n          include_executables_for: [:unix],\n"
        "          # All nodes in the cluster must share this cookie\n"
        "          cookie: @cookie\n        ],\n"
        f'        admin: [cookie: "{escaped}\\"", steps: [:assemble]]\n'
        "      ]\n    ]\n  end\nend\n"
    )
    (root / "shop" / "rel" / "vm.args.eex").write_text(
        f"## -setcookie {commented_vm}\n+Q 65536\n## Cookie for distributed erlang\n"
        f"-setcookie {vm}\n+K true\n"
    )
    (root / "shop" / "rel" / "env.sh.eex").write_text(
        f"#!/bin/sh\n# export RELEASE_COOKIE={commented_env}\nexport RELEASE_MODE=interactive\n"
        f"# the cluster cookie\nexport RELEASE_COOKIE={env}\n"
    )
    (root / "relx" / "config").mkdir(parents=True)
    (root / "relx" / "rebar.config").write_text(
        '{relx, [{release, {shop, "0.1.0"}, [shop]},\n        {vm_args, "./config/vm.args"}]}.\n'
    )
    (root / "relx" / "config" / "vm.args").write_text(
        f"-name shop@127.0.0.1\n## -setcookie {commented_rebar}\n-setcookie {rebar}\n"
        f"-setcookie billing@10.0.0.1 {per_node}\n+K true\n"
    )


def test_diff_redacts_every_cookie_also_ones_it_does_not_rewrite(tmp_path, run_cli):
    from erlcookie.cookie.fingerprint import fingerprint

    cookies = _generated(9)
    _unrecognised_literals_project(tmp_path, cookies)
    attr = cookies[0]
    report = check(tmp_path)
    literal = [f for f in report.findings if f.rule == "release/mix-literal-cookie"]
    assert {f.cookie.fingerprint for f in literal} == {
        fingerprint(attr),
        fingerprint(cookies[1] + '"'),
    }
    assert any("module attribute @cookie" in f.message for f in literal)

    for args in (["--dry-run"], ["--dry-run", "--json"], []):
        result = run_cli("release", "fix", str(tmp_path), *args)
        out = result.output
        assert_no_leak(out, cookies + [c[:12] for c in cookies])
        assert "Traceback" not in out
        if "--json" not in args:
            for cookie in (attr, cookies[2], cookies[4], cookies[6], cookies[8]):
                assert f"<cookie {fingerprint(cookie)}>" in out  # shown, by fingerprint
    assert result.exit_code == 1  # the per-node cookie is left for a human

    mix_exs = (tmp_path / "shop" / "mix.exs").read_text()
    assert "@cookie" not in mix_exs and attr not in mix_exs  # the attribute went with its use
    assert '@other "not a cookie"' in mix_exs
    assert "must share this cookie" not in mix_exs  # its comment too
    vm_args = (tmp_path / "shop" / "rel" / "vm.args.eex").read_text()
    assert vm_args == f"## -setcookie {cookies[2]}\n+Q 65536\n+K true\n"
    env_sh = (tmp_path / "shop" / "rel" / "env.sh.eex").read_text()
    assert "the cluster cookie" not in env_sh and cookies[5] not in env_sh
    assert f"# export RELEASE_COOKIE={cookies[4]}\nexport RELEASE_MODE=interactive\n" in env_sh
    assert not [f for f in check(tmp_path).findings if f.fixable]


def test_a_used_attribute_stays_and_fallbacks_through_attributes_are_literals(tmp_path):
    cookie, fallback = _generated(2)
    (tmp_path / "mix.exs").write_text(
        f'defmodule A.MixProject do\n  @cookie "{cookie}"\n'
        f'  @fallback System.get_env("C") || "{fallback}"\n'
        "  def project, do: [app: :a, releases: [a: [cookie: @cookie], b: [cookie: @fallback]]]\n"
        "  def cookie, do: @cookie\nend\n"
    )
    findings = [f for f in check(tmp_path).findings if f.rule == "release/mix-literal-cookie"]
    assert sorted(f.message for f in findings) == [
        "the release :cookie option falls back to a literal (module attribute @fallback)",
        "the release :cookie option is a literal (module attribute @cookie)",
    ]
    fix_plan, _ = plan_fix(tmp_path)
    [mix_change] = [c for c in fix_plan.changes if c.path == "mix.exs"]
    assert f'@cookie "{cookie}"' in mix_change.new_text  # still used by cookie/0
    assert "@fallback" not in mix_change.new_text
