"""TLS distribution against real OTP 25 and OTP 27 nodes with mutual TLS.

Certificates are made in the test with `cryptography`; the nodes run
`-proto_dist inet_tls -ssl_dist_optfile F` with verify_peer and fail_if_no_peer_cert.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from erlcookie.distribution import terms
from erlcookie.distribution.client import TlsOptions, atom, connect, ping
from erlcookie.distribution.info import node_info
from tests.support.certs import make_pki, write_optfile
from tests.support.redaction import assert_not_shown

pytestmark = pytest.mark.interop


@pytest.fixture(params=["otp25", pytest.param("otp27", marks=pytest.mark.otp27)])
def tls_node(request, start_node, cookie):
    root = request.getfixturevalue("otp27_root") if request.param == "otp27" else None
    tmp = Path(tempfile.mkdtemp(prefix="erlcookie-pki-", dir=str(root / "tmp") if root else None))
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    pki = make_pki(tmp, ["localhost", "127.0.0.1", socket.gethostname()])
    optfile = write_optfile(pki, inside=root)
    inner = "/" + str(optfile.relative_to(root)) if root else str(optfile)
    node = start_node(
        cookie,
        kind=request.param,
        otp_root=root,
        extra_args=["-proto_dist", "inet_tls", "-ssl_dist_optfile", inner],
    )
    return node, pki


def tls_options(pki, **kw):
    return TlsOptions(str(pki.client_cert), str(pki.client_key), str(pki.ca_cert), **kw)


def test_mutual_tls_ping_and_rpc(tls_node, cookie, other_cookie):
    node, pki = tls_node
    ok = asyncio.run(ping(node.name, cookie, tls=tls_options(pki), timeout=10))
    assert ok.verdict == "accepted", ok.detail
    assert ok.transport == "tls"

    wrong = asyncio.run(ping(node.name, other_cookie, tls=tls_options(pki), timeout=10))
    assert wrong.verdict == "rejected", wrong.detail

    async def rpc():
        async with await connect(node.name, cookie, tls=tls_options(pki), timeout=10) as conn:
            return (
                terms.text(await conn.rpc("erlang", "system_info", [atom("otp_release")])),
                terms.to_python(await conn.rpc("init", "get_argument", [atom("proto_dist")])),
            )

    release, proto = asyncio.run(rpc())
    assert release == node.eval("erlang:system_info(otp_release).").decode()
    assert proto == ("ok", [["inet_tls"]])


def test_tls_refusals(tls_node, cookie):
    node, pki = tls_node
    plain = asyncio.run(ping(node.name, cookie, timeout=5))
    assert plain.verdict == "protocol_error" and "TLS distribution" in plain.detail

    no_cert = asyncio.run(ping(node.name, cookie, tls=TlsOptions(cafile=str(pki.ca_cert))))
    assert no_cert.verdict == "not_allowed"
    assert "requires a client certificate" in no_cert.detail

    rogue = asyncio.run(
        ping(
            node.name,
            cookie,
            tls=TlsOptions(str(pki.rogue_client_cert), str(pki.rogue_client_key), str(pki.ca_cert)),
        )
    )
    assert rogue.verdict == "not_allowed" and "refused our TLS client certificate" in rogue.detail

    untrusted = asyncio.run(
        ping(
            node.name,
            cookie,
            tls=TlsOptions(str(pki.client_cert), str(pki.client_key), str(pki.other_ca_cert)),
        )
    )
    assert untrusted.verdict == "protocol_error" and "not trusted" in untrusted.detail


def test_hostname_check(tls_node, cookie):
    node, pki = tls_node
    # The certificate names vm/localhost/127.0.0.1, not this name: refused unless told.
    strict = asyncio.run(
        ping(node.name, cookie, tls=tls_options(pki, server_name="elsewhere.example"))
    )
    assert strict.verdict == "protocol_error" and "not trusted" in strict.detail
    relaxed = asyncio.run(
        ping(
            node.name,
            cookie,
            tls=tls_options(pki, server_name="elsewhere.example", verify_hostname=False),
        )
    )
    assert relaxed.verdict == "accepted", relaxed.detail


def test_info_over_tls_and_without(tls_node, cookie):
    node, pki = tls_node
    over_tls = asyncio.run(node_info(node.name, cookie, tls=tls_options(pki)))
    assert over_tls.verdict == "accepted" and over_tls.tls.startswith("yes")
    assert over_tls.proto_dist == "inet_tls"
    plain = asyncio.run(node_info(node.name, cookie))
    assert plain.verdict == "protocol_error" and plain.tls.startswith("required")


def test_cli_ping_and_info_over_tls(tls_node, cookie, tmp_path):
    import json
    import os

    from click.testing import CliRunner

    from erlcookie.cli import cli

    node, pki = tls_node
    cookie_path = tmp_path / "cookie"
    fd = os.open(cookie_path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(cookie.reveal())
    tls_args = [
        "--tls-cert",
        str(pki.client_cert),
        "--tls-key",
        str(pki.client_key),
        "--tls-ca",
        str(pki.ca_cert),
        "--cookie-file",
        str(cookie_path),
    ]
    result = CliRunner().invoke(cli, ["ping", node.name, "--json", *tls_args])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["transport"] == "tls"
    info = CliRunner().invoke(cli, ["info", node.name, *tls_args])
    assert info.exit_code == 0, info.output
    assert "inet_tls" in info.stdout and "yes: connected over TLS" in info.stdout
    assert "peer check" in info.stdout and "client certificate required" in info.stdout
    as_json = CliRunner().invoke(cli, ["info", node.name, "--json", *tls_args])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["nodes"][0]["cookie_only"] is False
    assert_not_shown(cookie, info.output, result.output, as_json.output)


def test_blocking_driver_over_tls(tls_node, cookie, other_cookie):
    from erlcookie.distribution.blocking import ping_blocking

    node, pki = tls_node
    assert ping_blocking(node.name, cookie, tls=tls_options(pki)).verdict == "accepted"
    assert ping_blocking(node.name, other_cookie, tls=tls_options(pki)).verdict == "rejected"
    plain = ping_blocking(node.name, cookie)
    assert plain.verdict == "protocol_error" and "TLS distribution" in plain.detail
    no_cert = ping_blocking(node.name, cookie, tls=TlsOptions(cafile=str(pki.ca_cert)))
    assert no_cert.verdict == "not_allowed", no_cert.detail
    untrusted = ping_blocking(
        node.name,
        cookie,
        tls=TlsOptions(str(pki.client_cert), str(pki.client_key), str(pki.other_ca_cert)),
    )
    assert untrusted.verdict == "protocol_error" and "not trusted" in untrusted.detail


def test_info_says_a_client_certificate_is_required(tls_node, cookie):
    node, pki = tls_node
    info = asyncio.run(node_info(node.name, cookie, tls=tls_options(pki)))
    assert info.complete, info.errors
    assert info.cookie_only is False
    assert info.peer_check.startswith("client certificate required")


def test_info_sees_a_relaxed_server_through_ssl_dist_opt(start_node, cookie, tmp_path):
    """The optfile demands a certificate, `-ssl_dist_opt server_fail_if_no_peer_cert
    false` takes it back (OTP applies -ssl_dist_opt over the file): the cookie is the only
    check, and info says so without showing anything of the optfile."""
    pki = make_pki(tmp_path, ["localhost", "127.0.0.1", socket.gethostname()])
    optfile = write_optfile(pki)
    node = start_node(
        cookie,
        extra_args=[
            "-proto_dist", "inet_tls", "-ssl_dist_optfile", str(optfile),
            "-ssl_dist_opt", "server_fail_if_no_peer_cert", "false",
        ],
    )  # fmt: skip
    info = asyncio.run(node_info(node.name, cookie, tls=tls_options(pki)))
    assert info.complete, info.errors
    assert info.cookie_only is True and "fail_if_no_peer_cert" in info.peer_check
    shown = json.dumps(info.to_dict())
    assert str(pki.node_key) not in shown and "BEGIN" not in shown


def test_info_on_a_plain_tcp_node_says_cookie_only(start_node, cookie):
    node = start_node(cookie)
    info = asyncio.run(node_info(node.name, cookie))
    assert info.verdict == "accepted" and info.cookie_only is True
    assert info.peer_check.startswith("none: plain TCP")
