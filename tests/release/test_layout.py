"""Projects and their files: `release fix` never writes, creates or deletes outside the project."""

from __future__ import annotations

import os
import shutil

import pytest

from erlcookie.release import OutsideProjectError, check, plan_fix
from tests.release.conftest import FIXTURES, snapshot


def _outside_and_project(tmp_path, name: str):
    """A copy of a fixture project, and a directory beside it that is not part of it."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / name, root)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    return root, outside


def _refused(run_cli, root, outside, *extra):
    before = snapshot(root), snapshot(outside)
    result = run_cli("release", "fix", str(root), *extra)
    assert result.exit_code == 3, result.output
    assert "refusing to change" in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert (snapshot(root), snapshot(outside)) == before
    return result


def test_symlinked_config_directory_out_of_the_project_is_refused(tmp_path, run_cli):
    root, outside = _outside_and_project(tmp_path, "rebar3_template")
    shutil.move(str(root / "config"), str(outside / "config"))
    (root / "config").symlink_to(outside / "config", target_is_directory=True)
    result = _refused(run_cli, root, outside)
    assert "config is a symbolic link out of the project" in result.stderr
    # nothing was created through the link, nothing deleted behind it
    assert not (outside / "config" / "hooks").exists()
    assert (outside / "config" / "vm.args").is_file()
    # the dry run refuses the same way: it would not be a plan we could carry out
    _refused(run_cli, root, outside, "--dry-run")


def test_symlinked_mix_rel_directory_out_of_the_project_is_refused(tmp_path, run_cli):
    root, outside = _outside_and_project(tmp_path, "mix_basic")
    (root / "rel").symlink_to(outside, target_is_directory=True)
    _refused(run_cli, root, outside)
    assert list(outside.iterdir()) == []


def test_symlinked_vm_args_file_out_of_the_project_is_refused(tmp_path, run_cli):
    root, outside = _outside_and_project(tmp_path, "rebar3_template")
    shutil.move(str(root / "config" / "vm.args"), str(outside / "vm.args"))
    (root / "config" / "vm.args").symlink_to(outside / "vm.args")
    result = _refused(run_cli, root, outside)
    assert "config/vm.args is a symbolic link out of the project" in result.stderr
    assert (root / "config" / "vm.args").is_symlink()


def test_a_relx_path_that_climbs_out_of_the_project_is_refused(tmp_path, run_cli):
    root, outside = _outside_and_project(tmp_path, "rebar3_template")
    shutil.move(str(root / "config" / "vm.args"), str(outside / "vm.args"))
    config = root / "rebar.config"
    config.write_text(config.read_text().replace('"./config/vm.args"', '"../elsewhere/vm.args"'))
    result = _refused(run_cli, root, outside)
    assert "the path leaves the project" in result.stderr


def test_the_library_raises_before_planning_anything(tmp_path):
    root, outside = _outside_and_project(tmp_path, "mix_basic")
    (root / "rel").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutsideProjectError) as raised:
        plan_fix(root)
    assert raised.value.exit_code == 3
    assert check(root).findings  # check only reads: it still reports


def test_symlinks_that_stay_inside_the_project_are_followed(tmp_path, run_cli):
    root, _ = _outside_and_project(tmp_path, "rebar3_template")
    (root / "config").rename(root / "release-config")
    (root / "config").symlink_to("release-config", target_is_directory=True)
    result = run_cli("release", "fix", str(root))
    assert result.exit_code == 0, result.stderr
    assert (root / "release-config" / "vm.args.src").is_file()
    assert (root / "release-config" / "hooks" / "erlcookie_require_cookie.sh").is_file()
    assert not check(root).findings


@pytest.mark.timeout(60)
def test_fifos_and_devices_are_refused_not_read(tmp_path, run_cli):
    """A FIFO would block the read forever and /dev/zero would fill memory."""
    root, _ = _outside_and_project(tmp_path, "mix_basic")
    os.mkfifo(root / "lib" / "stuck.ex")  # code scan: skipped
    (root / "lib" / "zero.ex").symlink_to("/dev/zero")  # code scan: skipped
    result = run_cli("release", "check", str(root))
    assert result.exit_code == 1 and "mix-literal-cookie" in result.stdout
    (root / "mix.exs").unlink()
    os.mkfifo(root / "mix.exs")  # the project file itself
    before = snapshot(root)
    for command in ("check", "fix"):
        result = run_cli("release", command, str(root))
        assert result.exit_code == 3
        assert "mix.exs: cannot read it (not a regular file)" in result.stderr
    assert snapshot(root) == before


def test_each_directory_goes_to_one_build_tool_and_options_travel_as_one_object(tmp_path):
    from erlcookie.release import BUILD_TOOLS, FixOptions
    from erlcookie.release.layout import Tree, find_projects

    root, _ = _outside_and_project(tmp_path, "mix_basic")
    (root / "rebar.config").write_text("{deps, []}.\n")  # a mix project's rebar deps
    shutil.copytree(FIXTURES / "rebar3_template", root / "tools" / "relx")
    projects = find_projects(Tree.walk(root.resolve()), BUILD_TOOLS)
    assert [(p.kind, p.root.name) for p in projects] == [("mix", "project"), ("rebar3", "relx")]

    options = FixOptions(node_name="pod-ip", dist_port=9100)
    by_object, _ = plan_fix(root, options)
    by_keywords, _ = plan_fix(root, node_name="pod-ip", dist_port=9100)
    assert [(c.path, c.new_text) for c in by_object.changes] == [
        (c.path, c.new_text) for c in by_keywords.changes
    ]
    assert any("-kernel inet_dist_listen_min 9100" in (c.new_text or "") for c in by_object.changes)
    with pytest.raises(TypeError):
        plan_fix(root, options, dist_port=9100)


def test_an_edited_file_that_is_a_symlink_inside_the_project_stays_one(tmp_path, run_cli):
    root, _ = _outside_and_project(tmp_path, "mix_basic")
    (root / "shared").mkdir()
    (root / "shared" / "env.sh.eex").write_text("#!/bin/sh\nexport RELEASE_MODE=interactive\n")
    (root / "rel").mkdir()
    (root / "rel" / "env.sh.eex").symlink_to("../shared/env.sh.eex")
    result = run_cli("release", "fix", str(root))
    assert result.exit_code == 0, result.stderr
    assert (root / "rel" / "env.sh.eex").is_symlink()
    assert "erlcookie:begin release-cookie-guard" in (root / "shared" / "env.sh.eex").read_text()
    assert not check(root).findings
