"""`tls check`: hand-written optfiles judged, erlcookie's own found clean."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from erlcookie.errors import OperationalError, UsageError
from erlcookie.tls import store
from erlcookie.tls.check import check, weak_cipher
from erlcookie.tls.optfile import OptfilePaths, render


@pytest.fixture
def pki_dir(tmp_path):
    store.init_ca(tmp_path / "pki", "CA")
    store.issue_node(tmp_path / "pki", "node", ["localhost"])
    return tmp_path / "pki"


def _paths(d):
    return OptfilePaths(str(d / "node.pem"), str(d / "node.key"), str(d / "ca.pem"))


def _rules(report):
    return [f.rule_id for f in report.findings]


@pytest.mark.parametrize("hostname_check", [True, False])
def test_our_optfile_is_clean(tmp_path, pki_dir, hostname_check):
    path = tmp_path / "dist.conf"
    path.write_text(render(_paths(pki_dir), hostname_check=hostname_check))
    report = check(path)
    assert not report.failed
    expected = [] if hostname_check else ["tls/no-hostname-check"]
    assert _rules(report) == expected


def test_the_otp_guide_minimum_is_not_mutual_tls(tmp_path):
    path = tmp_path / "guide.conf"
    path.write_text(
        '[{server, [{certfile, "/home/me/ssl/erlserver.pem"}]},\n'
        ' {client, [{cacertfile, "/home/me/ssl/client_trusted.pem"}]}].\n'
    )
    report = check(path, files=False)
    assert report.failed
    assert _rules(report) == [
        "tls/server-no-verify-peer",
        "tls/no-versions",
        "tls/client-verify-default",
        "tls/client-no-certfile",
    ]
    assert "anyone who reaches the port" in report.findings[0].message
    assert (report.findings[0].line, report.findings[2].line) == (1, 2)


def test_verify_peer_without_fail_if_no_peer_cert(tmp_path):
    path = tmp_path / "half.conf"
    path.write_text(
        "%% looks right, is not\n"
        '[{server, [{certfile, "/c.pem"}, {keyfile, "/k.pem"},\n'
        '           {cacertfile, "/ca.pem"},\n'
        "           {verify, verify_peer}, {versions, ['tlsv1.2', tlsv1]},\n"
        '           {ciphers, ["ECDHE-ECDSA-AES128-GCM-SHA256", "AES256-SHA"]}]},\n'
        " {client, [{verify, verify_none}, {fail_if_no_peer_cert, true}]}].\n"
    )
    report = check(path, files=False)
    got = {f.rule_id: (str(f.severity), f.line, f.message) for f in report.findings}
    assert got["tls/server-no-fail-if-no-peer-cert"][:2] == ("critical", 2)
    assert got["tls/old-versions"] == (
        "high",
        4,
        "server: allows tlsv1: use ['tlsv1.3', 'tlsv1.2']",
    )
    assert got["tls/weak-ciphers"] == ("medium", 5, "server: weak ciphers: AES256-SHA")
    assert got["tls/client-verify-none"][:2] == ("high", 6)


@pytest.mark.parametrize(
    "name,weak",
    [
        ("TLS_AES_256_GCM_SHA384", False),
        ("TLS_CHACHA20_POLY1305_SHA256", False),
        ("ECDHE-ECDSA-AES256-GCM-SHA384", False),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", False),
        ("ECDHE-RSA-CHACHA20-POLY1305", False),
        ("DHE-RSA-AES128-GCM-SHA256", False),
        ("ECDHE-RSA-AES128-SHA256", True),
        ("AES128-GCM-SHA256", True),
        ("RC4-SHA", True),
        ("TLS_RSA_WITH_AES_128_CBC_SHA", True),
        ("ADH-AES128-GCM-SHA256", True),
        ("ECDHE-PSK-CHACHA20-POLY1305", True),
    ],
)
def test_weak_cipher(name, weak):
    assert weak_cipher(name) is weak


def test_files_are_checked(tmp_path, pki_dir):
    path = tmp_path / "dist.conf"
    path.write_text(render(_paths(pki_dir)))
    os.chmod(pki_dir / "node.key", 0o644)
    assert "tls/key-readable" in _rules(check(path))
    os.chmod(pki_dir / "node.key", 0o600)
    # a key of another certificate
    store.issue_node(pki_dir, "other", [])
    (pki_dir / "node.key").write_bytes((pki_dir / "other.key").read_bytes())
    assert "tls/key-mismatch" in _rules(check(path))
    # a certificate another CA signed, and one that expired
    store.init_ca(tmp_path / "foreign", "Foreign")
    now = dt.datetime.now(dt.UTC)
    store.issue_node(
        tmp_path / "foreign",
        "node",
        [],
        not_before=now - dt.timedelta(days=9),
        not_after=now - dt.timedelta(days=2),
    )
    for name in ("node.pem", "node.key"):
        (pki_dir / name).write_bytes((tmp_path / "foreign" / name).read_bytes())
    report = check(path)
    assert {"tls/cert-expired", "tls/foreign-issuer"} <= set(_rules(report))
    assert "expired 2 days ago" in " | ".join(f.message for f in report.findings)
    # files that are not here are named, not judged
    missing = tmp_path / "remote.conf"
    missing.write_text(render(OptfilePaths("/nowhere/n.pem", "/nowhere/n.key", "/nowhere/ca.pem")))
    report = check(missing)
    assert not report.failed and set(_rules(report)) == {"tls/file-not-here"}


@pytest.mark.parametrize(
    "text,error",
    [
        ("[{server, [{verify_fun, {fun mydist:verify/3, []}}]}].", OperationalError),
        ("not erlang at all", OperationalError),
        ("{server, []}.", OperationalError),
    ],
)
def test_unreadable_files(tmp_path, text, error):
    path = tmp_path / "x.conf"
    path.write_text(text)
    with pytest.raises(error):
        check(path)
    with pytest.raises(UsageError):
        check(tmp_path / "missing.conf")


def test_cli_exit_codes(tmp_path, pki_dir, run_cli):
    good = tmp_path / "good.conf"
    good.write_text(render(_paths(pki_dir)))
    ok = run_cli("tls", "check", good)
    assert ok.exit_code == 0 and "no findings" in ok.stdout
    bad = tmp_path / "bad.conf"
    bad.write_text('[{server, [{certfile, "/c"}]}, {client, []}].')
    result = run_cli("tls", "check", bad, "--json", "--no-files")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["command"] == "tls check"
    assert {f["rule"] for f in doc["findings"]} >= {"tls/server-no-verify-peer"}
    assert all(f["path"] == "bad.conf" and f["fingerprint"] is None for f in doc["findings"])
    sarif = run_cli("tls", "check", bad, "--format", "sarif", "--no-files")
    assert sarif.exit_code == 1
    run = json.loads(sarif.stdout)["runs"][0]
    assert {r["ruleId"] for r in run["results"]} == {f["rule"] for f in doc["findings"]}
    broken = tmp_path / "broken.conf"
    broken.write_text("[{server")
    crashed = run_cli("tls", "check", broken)
    assert crashed.exit_code == 3 and "Traceback" not in crashed.output
    assert run_cli("tls", "check", tmp_path / "none.conf").exit_code == 2


@pytest.mark.interop
def test_the_finding_is_real_a_node_lets_a_certificateless_client_in(tmp_path, pki_dir, run_cli):
    """verify_peer without fail_if_no_peer_cert, on a real OTP 25 node: `tls check` says a
    client without a certificate is let in, and erlcookie's ping without one is accepted."""
    import asyncio
    import socket

    from erlcookie.cookie.generate import generate
    from erlcookie.distribution.client import TlsOptions, ping
    from tests.support.nodes import start_node

    store.issue_node(pki_dir, "host", ["localhost", "127.0.0.1", socket.gethostname()])
    path = tmp_path / "half.conf"
    text = render(
        OptfilePaths(str(pki_dir / "host.pem"), str(pki_dir / "host.key"), str(pki_dir / "ca.pem"))
    )
    path.write_text(text.replace("{fail_if_no_peer_cert, true},", ""))
    result = run_cli("tls", "check", path)
    assert result.exit_code == 1 and "tls/server-no-fail-if-no-peer-cert" in result.stdout
    cookie = generate("elixir")
    flags = ["-proto_dist", "inet_tls", "-ssl_dist_optfile", str(path)]
    with start_node(cookie, kind="otp25", extra_args=flags) as node:
        no_cert = TlsOptions(cafile=str(pki_dir / "ca.pem"))
        anonymous = asyncio.run(ping(node.name, cookie, tls=no_cert, timeout=15))
        assert anonymous.verdict == "accepted", anonymous.detail


def test_sarif_is_valid(tmp_path, run_cli):
    from pathlib import Path

    import jsonschema

    schema_path = Path(__file__).parent.parent / "scan" / "data" / "sarif-schema-2.1.0.json"
    schema = json.loads(schema_path.read_text())
    bad = tmp_path / "bad.conf"
    bad.write_text(
        '[{server, [{certfile, "/c"}, {verify, verify_peer}]},\n'
        " {client, [{verify, verify_none}]}]."
    )
    result = run_cli("tls", "check", bad, "--format", "sarif")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    lines = {
        r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in doc["runs"][0]["results"]
    }
    assert lines["tls/client-verify-none"] == 2
