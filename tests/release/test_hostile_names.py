"""Hostile file names in `release check` and `release fix` text output: control characters
escaped, no forged lines, markup inert (issue: terminal and markup injection)."""

from __future__ import annotations


def test_release_check_text_neutralises_hostile_paths(project, run_cli):
    root = project("rebar3_commented")
    evil_dir = root / "apps" / "x\x1b]0;owned\x07\nconfig:1:1: low forged"
    (evil_dir / "src").mkdir(parents=True)
    (evil_dir / "src" / "[link=ftp:evil]e[b].erl").write_text(
        "-module(e).\nstart() -> erlang:set_cookie(node(), hostileNameCookie7).\n"
    )
    result = run_cli("release", "check", str(root))
    assert result.exit_code == 1
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream and "\x07" not in stream
    lines = result.stdout.splitlines()
    assert not any(line.startswith("config:1:1: low forged") for line in lines)
    [evil] = [line for line in lines if "hostile" in line or "x\\x1b]0;owned" in line]
    assert "\\n" in evil and "[link=ftp:evil]e[b].erl" in evil


def test_release_fix_diff_headers_and_notes_stay_on_their_lines(tmp_path, run_cli):
    import shutil

    from tests.release.conftest import FIXTURES

    evil = "svc\x1b[2J\n+++ b/forged"
    shutil.copytree(FIXTURES / "rebar3_template", tmp_path / evil)
    result = run_cli("release", "fix", str(tmp_path), "--dry-run")
    out = result.stdout + result.stderr
    assert "\x1b" not in out
    assert "svc\\x1b[2J\\n+++ b/forged/config/vm.args" in out
    assert not any(line.startswith("+++ b/forged") for line in out.splitlines())
