"""`release fix --tls` and the release/tls-* findings: mutual TLS distribution in releases.

mix: a block in rel/env.sh.eex exports the flags in ERL_FLAGS (every erl the release
script starts: the node, `remote`, `rpc`) and `:ssl` joins extra_applications. relx: the
flags go into vm.args.src and ssl into the release. Half setups are findings; what we
cannot edit with certainty is refused before anything is written.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from erlcookie.release import FixOptions, check, exlex, plan_fix
from erlcookie.release import erlterms as et
from erlcookie.release.mix import TLS_BLOCK_RE
from tests.release.conftest import assert_no_leak, snapshot

TLS = FixOptions(tls=True)
FLAGS = "-proto_dist inet_tls -ssl_dist_optfile /etc/erlang/tls/ssl_dist.conf"


def rules(report) -> set[str]:
    return {f.rule_id for f in report.findings}


@pytest.mark.parametrize("name", ["mix_basic", "mix_umbrella", "rebar3_template", "rebar3_old"])
def test_fix_tls_then_check_tls_is_clean_and_fixes_are_idempotent(name, project, run_cli):
    root = project(name)
    assert "release/tls-not-configured" in rules(check(root, TLS))
    result = run_cli("release", "fix", "--tls", str(root))
    assert result.exit_code in (0, 1), result.stderr
    assert_no_leak(result.output)
    after = check(root, TLS)
    assert not {r for r in rules(after) if r.startswith("release/tls-")}
    state = snapshot(root)
    for args in (("--tls",), ()):
        again = run_cli("release", "fix", *args, str(root))
        assert "nothing to change" in again.stderr and again.stdout == "", again.output
        assert snapshot(root) == state


def test_mix_fix_tls_writes_erl_flags_block_and_ssl(project):
    root = project("mix_basic")
    fix_plan, _ = plan_fix(root, TLS)
    by_path = {c.path: c for c in fix_plan.changes}
    env_sh = by_path["rel/env.sh.eex"].new_text
    block = TLS_BLOCK_RE.search(env_sh).group(0)
    assert FLAGS in block
    mix_exs = by_path["mix.exs"].new_text
    assert "extra_applications: [:logger, :ssl]" in mix_exs
    exlex.match_brackets(exlex.code(exlex.tokenize(mix_exs)), mix_exs)
    assert any("remote" in n and "rpc" in n for n in fix_plan.notes)


@pytest.mark.parametrize(
    "before, after",
    [
        (None, FLAGS),
        ("+S 2", "+S 2 " + FLAGS),
        (
            "-proto_dist inet6_tls -ssl_dist_optfile /x",
            "-proto_dist inet6_tls -ssl_dist_optfile /x",
        ),
    ],
)
def test_mix_block_sets_erl_flags_in_sh(project, tmp_path, before, after):
    """The block as /bin/sh runs it: appends the flags, leaves a chosen carrier alone."""
    root = project("mix_basic")
    fix_plan, _ = plan_fix(root, TLS)
    env_sh = next(c for c in fix_plan.changes if c.path == "rel/env.sh.eex").new_text
    script = tmp_path / "block.sh"
    script.write_text(TLS_BLOCK_RE.search(env_sh).group(0) + 'printf "%s" "$ERL_FLAGS"\n')
    env = {k: v for k, v in os.environ.items() if k != "ERL_FLAGS"}
    if before is not None:
        env["ERL_FLAGS"] = before
    out = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout == after, out.stderr


def test_optfile_path_is_used_and_changed_in_place(project, run_cli):
    root = project("mix_basic")
    assert run_cli("release", "fix", "--tls", str(root)).exit_code == 0
    result = run_cli("release", "fix", "--tls", "--optfile-path", "/srv/tls/d.conf", str(root))
    assert result.exit_code == 0, result.stderr
    env_sh = (root / "rel" / "env.sh.eex").read_text()
    assert env_sh.count("erlcookie:begin release-tls-dist") == 1
    assert "-ssl_dist_optfile /srv/tls/d.conf" in env_sh and "/etc/erlang" not in env_sh
    # Without --optfile-path the path in the block stays.
    again = run_cli("release", "fix", "--tls", str(root))
    assert "nothing to change" in again.stderr
    assert "-ssl_dist_optfile /srv/tls/d.conf" in again.stderr  # the note names the block's path


def test_rebar_fix_tls_vm_args_and_release_apps(project, run_cli):
    root = project("rebar3_template")
    result = run_cli("release", "fix", "--tls", "--optfile-path", "/etc/d.conf", str(root))
    assert result.exit_code == 0, result.stderr
    assert "foreground" in result.stderr and "erl_call" in result.stderr
    vm_args = (root / "config" / "vm.args.src").read_text()
    assert "\n-proto_dist inet_tls\n-ssl_dist_optfile /etc/d.conf\n" in vm_args
    terms = et.parse_terms((root / "rebar.config").read_text())
    relx = next(t for t in terms if isinstance(t, et.Tuple) and t.tag() == "relx")
    release = et.proplist_get(relx.items[1], "release")[0]
    assert [a.name for a in release.items[2].items] == ["myrel", "sasl", "ssl"]


def test_half_mix_setup_findings_and_what_fix_leaves(project, run_cli):
    """-proto_dist inet_tls in vm.args.eex, no optfile, no :ssl: the fix adds :ssl even
    without --tls, and leaves the missing optfile to a human."""
    root = project("mix_basic")
    (root / "rel").mkdir()
    (root / "rel" / "vm.args.eex").write_text("## by hand\n-proto_dist inet_tls\n")
    found = check(root)
    assert {"release/tls-no-optfile", "release/tls-no-ssl-app"} <= rules(found)
    no_optfile = next(f for f in found.findings if f.rule_id == "release/tls-no-optfile")
    assert (no_optfile.path, no_optfile.line) == ("rel/vm.args.eex", 2)
    result = run_cli("release", "fix", "--json", str(root))
    assert result.exit_code == 1
    remaining = {f["rule"] for f in json.loads(result.stdout)["remaining"]}
    assert remaining == {"release/tls-no-optfile"}
    assert ":ssl]" in (root / "mix.exs").read_text()
    # --tls does not add a second carrier next to the user's own.
    tls = run_cli("release", "fix", "--tls", str(root))
    assert "already set TLS distribution" in tls.stderr
    assert "release-tls-dist" not in (root / "rel" / "env.sh.eex").read_text()


def test_optfile_without_proto_dist_is_a_finding(project):
    root = project("rebar3_template")
    vm_args = root / "config" / "vm.args"
    vm_args.write_text(vm_args.read_text() + "-ssl_dist_optfile /etc/d.conf\n")
    found = check(root)
    assert {"release/tls-optfile-without-proto-dist", "release/tls-no-ssl-app"} <= rules(found)


def test_ssl_from_an_app_src_counts(project):
    root = project("rebar3_template")
    app_src = root / "apps" / "myrel" / "src" / "myrel.app.src"
    app_src.write_text(app_src.read_text().replace("stdlib", "stdlib,\n ssl", 1))
    vm_args = root / "config" / "vm.args"
    vm_args.write_text(vm_args.read_text() + "-proto_dist inet_tls\n-ssl_dist_optfile /d\n")
    assert not {r for r in rules(check(root)) if r.startswith("release/tls-")}


def test_computed_extra_applications_is_left_to_a_human(project, run_cli):
    root = project("mix_basic")
    mix_exs = root / "mix.exs"
    mix_exs.write_text(
        mix_exs.read_text().replace("extra_applications: [:logger]", "extra_applications: extra()")
    )
    result = run_cli("release", "fix", "--tls", str(root))
    assert result.exit_code == 1
    assert "release/tls-no-ssl-app" in result.stderr
    assert "extra()" in mix_exs.read_text()


@pytest.mark.parametrize("path", ["relative/d.conf", "/with space/d.conf", "/a/$(x)", "/a/../b"])
def test_bad_optfile_path_is_a_usage_error_and_writes_nothing(project, run_cli, path):
    root = project("mix_basic")
    state = snapshot(root)
    result = run_cli("release", "fix", "--tls", "--optfile-path", path, str(root))
    assert result.exit_code == 2 and "optfile-path" in result.stderr
    assert snapshot(root) == state


def test_optfile_path_needs_tls(project, run_cli):
    result = run_cli("release", "fix", "--optfile-path", "/d", str(project("mix_basic")))
    assert result.exit_code == 2


def test_another_carrier_in_vm_args_is_refused(project, run_cli):
    root = project("rebar3_template")
    vm_args = root / "config" / "vm.args"
    vm_args.write_text(vm_args.read_text() + "-proto_dist inet6_tcp\n")
    state = snapshot(root)
    result = run_cli("release", "fix", "--tls", str(root))
    assert result.exit_code == 3 and "nothing was changed" in result.stderr
    assert snapshot(root) == state


def test_check_tls_cli_reports_plain_tcp(project, run_cli):
    root = project("rebar3_template")
    result = run_cli("release", "check", "--tls", "--json", str(root))
    assert result.exit_code == 1
    found = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert "release/tls-not-configured" in found
