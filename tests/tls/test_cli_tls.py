"""`erlcookie tls ...` end to end through click: files, modes, exit codes, no key in output."""

from __future__ import annotations

import json
import os

from erlcookie.tls import store


def _mode(path):
    return os.stat(path).st_mode & 0o777


def _keys_text(directory):
    return [p.read_text() for p in directory.glob("*.key")]


def test_init_issue_optfile_status(tmp_path, run_cli):
    d = tmp_path / "tls"
    init = run_cli("tls", "init", d, "--json")
    assert init.exit_code == 0, init.output
    info = json.loads(init.stdout)
    assert info["key_mode"] == "0600" and len(info["sha256"]) == 64
    assert _mode(d / "ca.key") == 0o600

    issue = run_cli(
        "tls",
        "issue",
        d,
        "app",
        "--san",
        "app-0.app.prod.svc.cluster.local",
        "--san",
        "10.0.0.7",
        "--days",
        "60",
    )
    assert issue.exit_code == 0, issue.output
    assert "app-0.app.prod.svc.cluster.local, 10.0.0.7" in issue.stdout
    assert _mode(d / "app.key") == 0o600

    opt = run_cli("tls", "optfile", d, "app", "--cert-dir", "/etc/erlang/tls")
    assert opt.exit_code == 0, opt.output
    assert '{keyfile, "/etc/erlang/tls/app.key"}' in opt.stdout
    assert '{cacertfile, "/etc/erlang/tls/ca.pem"}' in opt.stdout
    default_dir = run_cli("tls", "optfile", d, "app")
    assert f'{{certfile, "{d.resolve()}/app.pem"}}' in default_dir.stdout

    out = tmp_path / "app.conf"
    written = run_cli("tls", "optfile", d, "app", "-o", out)
    assert written.exit_code == 0 and _mode(out) == 0o644
    assert "-proto_dist inet_tls -ssl_dist_optfile" in written.stderr
    assert run_cli("tls", "optfile", d, "app", "-o", out).exit_code == 2
    assert run_cli("tls", "optfile", d, "app", "-o", out, "--force").exit_code == 0

    st = run_cli("tls", "status", d)
    assert st.exit_code == 0, st.output
    assert "app-0.app.prod.svc.cluster.local" in st.stdout
    warn = run_cli("tls", "status", d, "--warn-days", "90", "--json")
    assert warn.exit_code == 1
    states = {c["name"]: c["state"] for c in json.loads(warn.stdout)["certificates"]}
    assert states == {"ca": "ok", "app": "expiring"}

    outputs = [r.output for r in (init, issue, opt, default_dir, written, st, warn)]
    for key in _keys_text(d):
        body = key.splitlines()[1]
        assert not any(body in o for o in outputs), "a private key appears in output"


def test_refusals_and_usage_errors(tmp_path, run_cli):
    d = tmp_path / "tls"
    assert run_cli("tls", "issue", d, "app").exit_code == 2  # no CA yet
    assert run_cli("tls", "init", d).exit_code == 0
    again = run_cli("tls", "init", d)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert "Traceback" not in again.output
    bad = run_cli("tls", "issue", d, "app", "--san", "not a host")
    assert bad.exit_code == 2 and "--san" in bad.stderr
    assert run_cli("tls", "issue", d, "../escape").exit_code == 2
    assert run_cli("tls", "optfile", d, "missing").exit_code == 2
    assert run_cli("tls", "issue", d, "app").exit_code == 0
    assert run_cli("tls", "issue", d, "app").exit_code == 2
    rel = run_cli("tls", "optfile", d, "app", "--cert-dir", "relative/dir")
    assert rel.exit_code == 2 and "absolute" in rel.stderr
    assert run_cli("tls", "status", tmp_path / "none").exit_code == 2


def test_wildcards_come_with_a_note_about_otp(tmp_path, run_cli):
    d = tmp_path / "tls"
    run_cli("tls", "init", d)
    result = run_cli("tls", "issue", d, "app", "--san", "*.app-headless.prod.svc.cluster.local")
    assert result.exit_code == 0
    assert "does not match wildcard" in result.stderr


def test_status_exit_code_on_a_readable_key(tmp_path, run_cli):
    d = tmp_path / "tls"
    store.init_ca(d, "CA")
    store.issue_node(d, "app", [])
    os.chmod(d / "app.key", 0o640)
    result = run_cli("tls", "status", d, "--json")
    assert result.exit_code == 1
    app = [c for c in json.loads(result.stdout)["certificates"] if c["name"] == "app"][0]
    assert app["state"] == "invalid" and "chmod 600" in app["problems"][0]


def test_help_lists_tls(run_cli):
    result = run_cli("--help")
    assert "tls" in result.stdout
    sub = run_cli("tls", "--help")
    assert all(cmd in sub.stdout for cmd in ("init", "issue", "optfile", "status"))


def test_issue_says_when_the_ca_caps_the_validity(tmp_path, run_cli):
    d = tmp_path / "tls"
    assert run_cli("tls", "init", d, "--days", "10").exit_code == 0
    result = run_cli("tls", "issue", d, "app", "--days", "90")
    assert result.exit_code == 0 and "never outlives its CA" in result.stderr


def test_optfile_warns_when_otp_could_match_no_name(tmp_path, run_cli):
    d = tmp_path / "tls"
    run_cli("tls", "init", d)
    run_cli("tls", "issue", d, "wild", "--san", "*.app-headless.prod.svc.cluster.local")
    run_cli("tls", "issue", d, "named", "--san", "app-0")
    wild = run_cli("tls", "optfile", d, "wild")
    assert wild.exit_code == 0 and "names no host OTP can match" in wild.stderr
    assert "names no host" not in run_cli("tls", "optfile", d, "wild", "--no-hostname-check").stderr
    assert "names no host" not in run_cli("tls", "optfile", d, "named").stderr
    root = run_cli("tls", "optfile", d, "named", "--cert-dir", "/")
    assert '{certfile, "/named.pem"}' in root.stdout
