"""Certificates made by erlcookie.tls.pki, checked with `cryptography` and Python's ssl."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from erlcookie.errors import UsageError
from erlcookie.tls import pki


def test_ca_is_a_constrained_ca():
    key, cert = pki.make_ca("test CA", days=10)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert pki.key_matches(key, cert)
    span = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert span == dt.timedelta(days=10)


def test_node_certificate_serves_both_ends_and_names_its_hosts():
    ca_key, ca_cert = pki.make_ca("test CA")
    sans = pki.general_names(
        [
            "app-0.app.prod.svc.cluster.local",
            "10.1.2.3",
            "::1",
            "*.app-headless.prod.svc.cluster.local",
            "10.1.2.3",
        ]
    )
    key, cert = pki.issue(ca_key, ca_cert, "app", sans)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    facts = pki.facts(cert)
    assert facts.sans == (
        "app-0.app.prod.svc.cluster.local",
        "10.1.2.3",
        "::1",
        "*.app-headless.prod.svc.cluster.local",
    )
    # an IPv4 address is also DNS text, which OTP checks for IP-named nodes
    raw = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert x509.DNSName("10.1.2.3") in raw
    assert x509.IPAddress(ipaddress.ip_address("10.1.2.3")) in raw
    assert x509.DNSName("::1") not in raw and len(raw) == 5
    assert pki.signed_by(cert, ca_cert) and pki.key_matches(key, cert)
    assert round(facts.days_left()) == pki.NODE_DAYS
    _, other_ca = pki.make_ca("other CA")
    assert not pki.signed_by(cert, other_ca)
    assert not pki.key_matches(ca_key, cert)


def test_validity_is_capped_at_the_ca():
    ca_key, ca_cert = pki.make_ca("short CA", days=3)
    _, cert = pki.issue(ca_key, ca_cert, "n", [], days=90)
    assert cert.not_valid_after_utc == ca_cert.not_valid_after_utc


@pytest.mark.parametrize(
    "text,kind",
    [
        ("10.0.0.1", x509.IPAddress),
        ("fd00::1", x509.IPAddress),
        ("vm", x509.DNSName),
        ("App-0.Example.COM.", x509.DNSName),
        ("*.app-headless.prod.svc.cluster.local", x509.DNSName),
    ],
)
def test_parse_san_accepts(text, kind):
    name = pki.parse_san(text)
    assert isinstance(name, kind)
    if kind is x509.DNSName:
        assert name.value == text.lower().rstrip(".")
    else:
        assert name.value == ipaddress.ip_address(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a*.b.c",
        "*.com",
        "a..b",
        "-a.b",
        "a b",
        "*.*.b.c",
        "a\n.b.c",
        "a.b\n.c",
        "x" * 64 + ".com",
        "a_b.c",
        "http://a.b",
    ],
)
def test_parse_san_refuses(text):
    with pytest.raises(UsageError):
        pki.parse_san(text)


def test_python_ssl_accepts_the_pair_for_mutual_tls(tmp_path):
    """A TLS server and client, both on erlcookie certificates, complete a mutual handshake."""
    ca_key, ca_cert = pki.make_ca("test CA")
    server_key, server = pki.issue(ca_key, ca_cert, "node", [pki.parse_san("localhost")])
    client_key, client = pki.issue(ca_key, ca_cert, "cli", [])
    for name, data in (
        ("ca.pem", pki.cert_pem(ca_cert)),
        ("s.pem", pki.cert_pem(server)),
        ("s.key", pki.key_pem(server_key)),
        ("c.pem", pki.cert_pem(client)),
        ("c.key", pki.key_pem(client_key)),
    ):
        (tmp_path / name).write_bytes(data)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(tmp_path / "s.pem", tmp_path / "s.key")
    sctx.load_verify_locations(tmp_path / "ca.pem")
    sctx.verify_mode = ssl.CERT_REQUIRED
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(tmp_path / "ca.pem")
    cctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "c.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    seen = {}

    def serve():
        conn, _ = listener.accept()
        with sctx.wrap_socket(conn, server_side=True) as tls:
            seen["peer"] = tls.getpeercert()["subject"]
            tls.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(listener.getsockname(), timeout=10) as raw:
        with cctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.recv(2) == b"ok"
    thread.join(10)
    listener.close()
    assert seen["peer"] == ((("commonName", "cli"),),)
