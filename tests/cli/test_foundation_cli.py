"""generate / audit / fingerprint from the command line, as users run them."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from erlcookie.audit.otp_generator import otp_cookie
from erlcookie.cli import cli
from erlcookie.cookie.fingerprint import fingerprint

BIN = Path(sys.executable).parent


def run(args, **kw):
    return CliRunner().invoke(cli, args, catch_exceptions=False, **kw)


def test_console_scripts_and_version():
    for name in ("erlcookie", "kubectl-erlcookie"):
        out = subprocess.run([BIN / name, "--version"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and "erlcookie" in out.stdout and "0." in out.stdout
    out = subprocess.run([BIN / "erlcookie", "--help"], capture_output=True, text=True, timeout=30)
    for command in ("generate", "audit", "fingerprint"):
        assert command in out.stdout


@pytest.mark.parametrize("command", ["generate", "audit", "fingerprint"])
def test_every_command_has_help(command):
    result = run([command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and len(result.output) > 200


def test_generate_prints_the_cookie_and_nothing_else():
    result = run(["generate"])
    assert result.exit_code == 0
    assert len(result.output.strip()) == 54 and result.output.count("\n") == 1
    assert run(["generate", "--style", "erlang", "--length", "30"]).output.strip().isupper()
    assert run(["generate", "--style", "erlang", "--bytes", "3"]).exit_code == 2


def test_generate_write_mode_refusal_and_force(tmp_path):
    target = tmp_path / ".erlang.cookie"
    result = run(["generate", "--write", str(target), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    secret = target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o400
    assert data["fingerprint"] == fingerprint(secret)
    assert secret not in result.output, "--write printed the cookie"
    again = run(["generate", "--write", str(target)])
    assert again.exit_code == 2 and "--force" in again.output
    assert target.read_text() == secret, "refused write changed the file"
    forced = run(["generate", "--write", str(target), "--force"])
    assert forced.exit_code == 0 and target.read_text() != secret
    assert target.read_text() not in forced.output


def test_audit_exit_codes_and_no_leak(tmp_path, clean_home):
    weak = tmp_path / "weak"
    weak.write_text("myapp_cookie\n")
    os.chmod(weak, 0o400)
    result = run(["audit", "--cookie-file", str(weak)])
    assert result.exit_code == 1 and "WEAK" in result.output and "relx-template" in result.output
    assert "myapp_cookie" not in result.output
    strong = run(["generate"]).output.strip()
    ok = run(["audit", "--cookie-file", "-", "--json"], input=strong + "\n")
    assert ok.exit_code == 0 and json.loads(ok.output)["verdict"] == "ok"
    assert strong not in ok.output
    predictable = otp_cookie(987654321)
    p = run(["audit", "--json"], env={"RELEASE_COOKIE": predictable})
    data = json.loads(p.output)
    assert (
        p.exit_code == 1 and data["verdict"] == "predictable" and "seed" not in data["predictable"]
    )
    assert predictable not in p.output


def test_audit_argv_cookie_warns(clean_home):
    result = CliRunner().invoke(
        cli, ["audit", "--cookie", "S3cr3t-argv-cookie-value-long-enough-x"]
    )
    assert "ps" in result.output and "S3cr3t-argv" not in result.output


def test_no_cookie_anywhere_is_a_usage_error(clean_home):
    result = run(["audit"])
    assert result.exit_code == 2 and "no cookie found" in result.output


def test_fingerprint_matches_library_and_source_order(tmp_path, clean_home):
    (clean_home / ".erlang.cookie").write_text("HOMECOOKIE")
    os.chmod(clean_home / ".erlang.cookie", 0o400)
    assert run(["fingerprint"]).output.strip() == fingerprint("HOMECOOKIE")
    env_result = run(["fingerprint", "--json"], env={"RELEASE_COOKIE": "ENVCOOKIE"})
    assert json.loads(env_result.output)["fingerprint"] == fingerprint("ENVCOOKIE")
    both = run(["fingerprint", "--cookie-env", "X", "--cookie-file", "y"])
    assert both.exit_code == 2


def test_audit_flags_a_cookie_file_otp_would_refuse(tmp_path):
    path = tmp_path / "cookie"
    path.write_text(run(["generate"]).output)
    os.chmod(path, 0o644)
    result = run(["audit", "--cookie-file", str(path)])
    assert result.exit_code == 1 and "file-mode" in result.output and "INVALID" in result.output
    os.chmod(path, 0o400)
    assert run(["audit", "--cookie-file", str(path)]).exit_code == 0
