"""Host names under TLS distribution, on real OTP 25 and OTP 27 nodes.

A dialing node checks the certificate of the node it dials against the host part of that
node's name. The nodes here have long names under `app-headless.test` (resolved through
an inetrc file, as a headless Service would), like StatefulSet pods. Measured: OTP does
not match wildcard SANs there, explicit names work, and `--no-hostname-check` accepts any
certificate of the cluster CA. Nodes named by IP address need the IP's text as a DNS SAN
for OTP 25.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from erlcookie.cookie.files import atomic_write
from erlcookie.distribution.terms import atom_text
from erlcookie.tls import store
from tests.support import nodes as node_support
from tests.support.otp_roots import require_or_skip

pytestmark = [pytest.mark.interop, pytest.mark.otp27]

DOMAIN = "app-headless.test"


@pytest.fixture
def pki(run_cli):
    root = require_or_skip()
    base = Path(tempfile.mkdtemp(prefix="erlcookie-tls-", dir=str(root / "tmp")))
    os.chmod(base, 0o755)
    (base / "inetrc").write_text(
        f'{{host, {{127,0,0,1}}, ["a.{DOMAIN}", "b.{DOMAIN}", "c.{DOMAIN}", "d.{DOMAIN}"]}}.\n'
        "{lookup, [file, native]}.\n"
    )
    ca = base / "ca"
    assert run_cli("tls", "init", ca).exit_code == 0
    yield root, base, ca
    shutil.rmtree(base, ignore_errors=True)


def _inner(root, path):
    return "/" + str(Path(path).relative_to(root))


def _start(start_node, cookie, root, base, optfile, kind, host):
    inside = root if kind == "otp27" else None
    path = (lambda p: _inner(root, p)) if inside else str
    return start_node(
        cookie,
        kind=kind,
        otp_root=inside,
        long_names=True,
        host=host,
        extra_args=[
            "-proto_dist",
            "inet_tls",
            "-ssl_dist_optfile",
            path(optfile),
            "-kernel",
            "inetrc",
            f'"{path(base / "inetrc")}"',
        ],
    )


def _optfiles(run_cli, root, ca, base, name, *extra):
    host, chroot = base / f"{name}.conf", base / f"{name}-chroot.conf"
    assert run_cli("tls", "optfile", ca, name, "-o", host, *extra).exit_code == 0
    assert (
        run_cli(
            "tls", "optfile", ca, name, "--cert-dir", _inner(root, ca), "-o", chroot, *extra
        ).exit_code
        == 0
    )
    return host, chroot


@pytest.fixture
def start_node():
    started = []

    def factory(cookie, **kwargs):
        node = node_support.launch(cookie, **kwargs)
        started.append(node)
        return node

    yield factory
    for node in started:
        node.stop()


def test_wildcards_fail_otp_host_name_check_and_explicit_names_pass(
    pki, run_cli, start_node, cookie
):
    root, base, ca = pki
    wild = run_cli("tls", "issue", ca, "wild", "--san", f"*.{DOMAIN}")
    assert wild.exit_code == 0 and "does not match wildcard" in wild.stderr
    assert run_cli("tls", "issue", ca, "named", "--san", f"b.{DOMAIN}").exit_code == 0
    wild_host, _ = _optfiles(run_cli, root, ca, base, "wild")
    _, named_chroot = _optfiles(run_cli, root, ca, base, "named")
    a = _start(start_node, cookie, root, base, wild_host, "otp25", f"a.{DOMAIN}")
    b = _start(start_node, cookie, root, base, named_chroot, "otp27", f"b.{DOMAIN}")
    # b dials a: a's certificate names only *.app-headless.test -> b refuses it
    assert atom_text(b.eval(f"net_kernel:connect_node('{a.name}').", timeout=30)) == "false"
    assert b.wait_for_log("hostname_check_failed", timeout=10), b.log_text()[-2000:]
    # a dials b: b's certificate names b.app-headless.test -> accepted
    assert atom_text(a.eval(f"net_kernel:connect_node('{b.name}').", timeout=30)) == "true"
    assert [atom_text(n) for n in b.eval("nodes().")] == [a.name]


def test_no_hostname_check_accepts_any_certificate_of_the_ca(pki, run_cli, start_node, cookie):
    root, base, ca = pki
    assert run_cli("tls", "issue", ca, "anon").exit_code == 0  # names no host at all
    host, chroot = _optfiles(run_cli, root, ca, base, "anon", "--no-hostname-check")
    c = _start(start_node, cookie, root, base, host, "otp25", f"c.{DOMAIN}")
    d = _start(start_node, cookie, root, base, chroot, "otp27", f"d.{DOMAIN}")
    assert atom_text(d.eval(f"net_kernel:connect_node('{c.name}').", timeout=30)) == "true"
    assert [atom_text(n) for n in c.eval("nodes().")] == [d.name]


def test_ip_named_nodes_need_the_ip_as_dns_text(pki, run_cli, start_node, cookie):
    """`app@127.0.0.1`: OTP sends "127.0.0.1" as SNI; OTP 25 then checks DNS names only, so
    an IP-address SAN alone fails there (OTP 27 matches it). `tls issue --san IP` writes the
    IP's text as a DNS name too, which both accept."""
    from erlcookie.tls import pki as pki_mod

    root, base, ca = pki
    ca_key, ca_cert = store.load_ca(ca)
    key, cert = pki_mod.issue(
        ca_key, ca_cert, "iponly", [pki_mod.parse_san("127.0.0.1")]
    )  # an IP SAN and nothing else
    atomic_write(ca / "iponly.key", pki_mod.key_pem(key), mode=0o600)
    atomic_write(ca / "iponly.pem", pki_mod.cert_pem(cert), mode=0o644)
    assert run_cli("tls", "issue", ca, "ipnode", "--san", "127.0.0.1").exit_code == 0
    both_host, _ = _optfiles(run_cli, root, ca, base, "ipnode")
    _, ip_only_chroot = _optfiles(run_cli, root, ca, base, "iponly")
    a = _start(start_node, cookie, root, base, both_host, "otp25", "127.0.0.1")
    b = _start(start_node, cookie, root, base, ip_only_chroot, "otp27", "127.0.0.1")
    c = _start(start_node, cookie, root, base, both_host, "otp25", "127.0.0.1")
    # OTP 25 dialing b (an IP SAN only): refused; OTP 27 matches the IP SAN
    assert atom_text(a.eval(f"net_kernel:connect_node('{b.name}').", timeout=30)) == "false"
    assert atom_text(b.eval(f"net_kernel:connect_node('{a.name}').", timeout=30)) == "true"
    # OTP 25 dialing a node whose certificate has the IP's text as a DNS name: accepted
    assert atom_text(c.eval(f"net_kernel:connect_node('{a.name}').", timeout=30)) == "true"
