"""A mutual-TLS cluster of real OTP 25, OTP 27 and (when its sid root exists) OTP 29 nodes,
built from `erlcookie tls` output.

The CA, the node certificates and the optfiles come from the CLI, as a user would make
them; the nodes run `-proto_dist inet_tls -ssl_dist_optfile FILE`, form one cluster, and
refuse plain TCP, a foreign CA, an expired certificate and no certificate (their logs
say so). `erlcookie ping`/`info` with a client certificate of the same CA get in.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from erlcookie.distribution.terms import atom_text, to_python
from erlcookie.tls import store
from tests.support import nodes as node_support
from tests.support.otp_roots import require_or_skip
from tests.support.redaction import assert_not_shown
from tests.tls.conftest import launch_chrooted, otp29_root_or_none

pytestmark = [pytest.mark.interop, pytest.mark.otp27]

HOSTS = ["localhost", "127.0.0.1", socket.gethostname()]


def _inner(root: Path, path: Path) -> str:
    return "/" + str(path.relative_to(root))


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """Two OTP 25 nodes, one OTP 27 node and, with a sid root, one OTP 29 node, all on TLS
    distribution and one cookie."""
    from click.testing import CliRunner

    from erlcookie.cli import cli
    from erlcookie.cookie.generate import generate

    root = require_or_skip()
    cookie = generate("elixir")
    pki = Path(tempfile.mkdtemp(prefix="erlcookie-tls-", dir=str(root / "tmp")))
    os.chmod(pki, 0o755)  # the certificate directory of a node is readable by its user
    ca = pki / "ca"

    def cli_ok(*args):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result

    cli_ok("tls", "init", ca)
    sans = [arg for host in HOSTS for arg in ("--san", host)]
    cli_ok("tls", "issue", ca, "node", *sans)
    cli_ok("tls", "issue", ca, "erlcookie-cli")  # a client-only certificate, no names
    host_opt = pki / "host.conf"
    cli_ok("tls", "optfile", ca, "node", "-o", host_opt)
    chroot_opt = pki / "chroot.conf"
    cli_ok("tls", "optfile", ca, "node", "--cert-dir", _inner(root, ca), "-o", chroot_opt)
    dist = ["-proto_dist", "inet_tls", "-ssl_dist_optfile"]
    started = []
    cleanup = [pki]
    try:
        started += node_support.launch_many(
            cookie, 2, kind="otp25", extra_args=[*dist, str(host_opt)]
        )
        started.append(
            node_support.launch(
                cookie, kind="otp27", otp_root=root, extra_args=[*dist, _inner(root, chroot_opt)]
            )
        )
        sid = otp29_root_or_none()
        if sid is not None:  # the files are copied in: a chroot sees only its own tree
            sid_pki = Path(tempfile.mkdtemp(prefix="erlcookie-tls-", dir=str(sid / "tmp")))
            cleanup.append(sid_pki)
            os.chmod(sid_pki, 0o755)
            shutil.copytree(ca, sid_pki / "ca", copy_function=shutil.copy2)
            sid_opt = sid_pki / "sid.conf"
            cli_ok(
                "tls",
                "optfile",
                sid_pki / "ca",
                "node",
                "--cert-dir",
                _inner(sid, sid_pki / "ca"),
                "-o",
                sid_opt,
            )
            started.append(
                launch_chrooted(cookie, sid, "otp29", extra_args=[*dist, _inner(sid, sid_opt)])
            )
        yield {"nodes": started, "cookie": cookie, "ca": ca, "pki": pki, "root": root}
    finally:
        for node in started:
            node.stop()
        for directory in cleanup:
            shutil.rmtree(directory, ignore_errors=True)


def _cookie_file(tmp_path, cookie) -> Path:
    path = tmp_path / "cookie"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(cookie.reveal())
    return path


def _release(node) -> str:
    value = node.eval("erlang:system_info(otp_release).")
    return value.decode() if isinstance(value, bytes) else str(value)


def test_nodes_form_one_cluster_over_tls(tls_cluster):
    nodes = tls_cluster["nodes"]
    expected = {"25", "27"} | ({"29"} if len(nodes) == 4 else set())
    assert {_release(n) for n in nodes} == expected
    for i, src in enumerate(nodes):
        for dst in nodes[i + 1 :]:
            connected = src.eval(f"net_kernel:connect_node('{dst.name}').", timeout=30)
            assert atom_text(connected) == "true", (src.name, dst.name, src.log_text()[-2000:])
    for node in nodes:
        peers = {atom_text(p) for p in node.eval("nodes().")}
        assert peers == {n.name for n in nodes} - {node.name}
        proto = to_python(node.eval("init:get_argument(proto_dist)."))
        assert proto == ("ok", [["inet_tls"]])
        # the distribution controller of every connection is a TLS one (a pid, not a port)
        controllers = node.eval(
            "[element(2, lists:keyfind(N, 1, erlang:system_info(dist_ctrl))) || N <- nodes()]."
        )
        assert len(controllers) == len(nodes) - 1 and all(
            type(c).__name__ == "OtpErlangPid" for c in controllers
        ), controllers


def test_ping_and_info_with_a_client_certificate(tls_cluster, run_cli, tmp_path):
    ca, cookie = tls_cluster["ca"], tls_cluster["cookie"]
    cookie_path = _cookie_file(tmp_path, cookie)
    tls_args = [
        "--tls-cert",
        ca / "erlcookie-cli.pem",
        "--tls-key",
        ca / "erlcookie-cli.key",
        "--tls-ca",
        ca / "ca.pem",
        "--cookie-file",
        cookie_path,
    ]
    names = [n.name for n in tls_cluster["nodes"]]
    ping = run_cli("ping", *names, "--json", "--timeout", "15", *tls_args)
    assert ping.exit_code == 0, ping.output
    results = json.loads(ping.stdout)["results"]
    assert [r["verdict"] for r in results] == ["accepted"] * len(names)
    assert {r["transport"] for r in results} == {"tls"}
    for name in names[2:]:  # OTP 27 and OTP 29
        info = run_cli("info", name, "--timeout", "15", *tls_args)
        assert info.exit_code == 0, info.output
        assert "inet_tls" in info.stdout and "yes: connected over TLS" in info.stdout
    assert_not_shown(cookie, ping.output, info.output)


def _refused(run_cli, node, tls_args, cookie_path):
    return run_cli(
        "ping", node.name, "--json", "--timeout", "15", "--cookie-file", cookie_path, *tls_args
    )


def test_the_nodes_refuse_plain_tcp(tls_cluster, run_cli, tmp_path):
    nodes, cookie = tls_cluster["nodes"], tls_cluster["cookie"]
    target = nodes[0]
    # an ordinary (TCP distribution) node with the right cookie is kept out
    with node_support.start_node(cookie, kind="otp25") as plain:
        answer = plain.eval(f"net_adm:ping('{target.name}').", timeout=30)
        assert atom_text(answer) == "pang"
    # the node's TLS server got a plain distribution message where a ClientHello belongs
    assert target.wait_for_log("Unexpected Message", timeout=10), target.log_text()[-2000:]
    plain_ping = _refused(run_cli, target, [], _cookie_file(tmp_path, cookie))
    assert plain_ping.exit_code == 3, plain_ping.output
    verdict = json.loads(plain_ping.stdout)["results"][0]
    assert verdict["verdict"] == "protocol_error" and "TLS distribution" in verdict["detail"]


def test_the_nodes_refuse_foreign_expired_and_missing_certificates(tls_cluster, run_cli, tmp_path):
    nodes, cookie, ca, pki = (tls_cluster[k] for k in ("nodes", "cookie", "ca", "pki"))
    cookie_path = _cookie_file(tmp_path, cookie)
    other = pki / "other-ca"
    assert run_cli("tls", "init", other).exit_code == 0
    assert run_cli("tls", "issue", other, "intruder").exit_code == 0
    now = dt.datetime.now(dt.UTC)
    store.issue_node(
        ca,
        "expired",
        [],
        not_before=now - dt.timedelta(days=10),
        not_after=now - dt.timedelta(days=1),
    )
    cases = {
        "foreign CA": (
            [
                "--tls-cert",
                other / "intruder.pem",
                "--tls-key",
                other / "intruder.key",
                "--tls-ca",
                ca / "ca.pem",
            ],
            "Unknown CA",
        ),
        "expired": (
            [
                "--tls-cert",
                ca / "expired.pem",
                "--tls-key",
                ca / "expired.key",
                "--tls-ca",
                ca / "ca.pem",
            ],
            "Certificate Expired",
        ),
        # OTP 27 logs the TLS 1.3 alert; OTP 25 refuses without a log line
        "no certificate": (["--tls-ca", ca / "ca.pem"], "certificate_required"),
    }
    for node in [nodes[0], *nodes[2:]]:
        for label, (tls_args, logged) in cases.items():
            result = _refused(run_cli, node, tls_args, cookie_path)
            assert result.exit_code == 1, (label, node.kind, result.output)
            verdict = json.loads(result.stdout)["results"][0]
            assert verdict["verdict"] == "not_allowed", (label, node.kind, verdict)
            if logged and not (label == "no certificate" and node.kind == "otp25"):
                assert node.wait_for_log(logged, timeout=10), (label, node.log_text()[-3000:])
    assert_not_shown(cookie, result.output)


def test_an_otp29_node_is_part_of_it(tls_cluster):
    if len(tls_cluster["nodes"]) < 4:
        pytest.skip("no OTP 29 root (Debian sid; ERLCOOKIE_OTP29_ROOT)")
    node = tls_cluster["nodes"][3]
    assert _release(node) == "29"
    assert to_python(node.eval("init:get_argument(proto_dist).")) == ("ok", [["inet_tls"]])
