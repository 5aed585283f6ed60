"""Throwaway X.509 material for TLS-distribution tests, made with `cryptography`.

`make_pki(dir, hosts)` writes a CA, a node (server) certificate for `hosts` and a client
certificate, each key 0600, and an OTP `-ssl_dist_optfile` asking for mutual TLS.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    node_cert: Path
    node_key: Path
    client_cert: Path
    client_key: Path
    optfile: Path
    other_ca_cert: Path  # a CA that signed nothing here: for "untrusted" cases
    rogue_client_cert: Path  # a client certificate from the other CA
    rogue_client_key: Path


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def _write_cert(path: Path, cert) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _ca(cn: str):
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca_key, ca_cert, cn: str, hosts: list[str], usage):
    key = _key()
    now = dt.datetime.now(dt.UTC)
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
        else:
            # inet_tls_dist checks a peer named by IP (app@10.0.0.5) against DNS names:
            # the IP's text must be a DNS SAN too, or nodes cannot connect to each other
            sans.append(x509.DNSName(host))
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def make_pki(directory: Path, hosts: list[str]) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca("erlcookie test CA")
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    node_key, node_cert = _leaf(ca_key, ca_cert, "erlcookie test node", hosts, both)
    client_key, client_cert = _leaf(
        ca_key, ca_cert, "erlcookie client", [], [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    other_key, other_cert = _ca("some other CA")
    rogue_key, rogue_cert = _leaf(
        other_key, other_cert, "rogue client", [], [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    paths = {
        name: directory / name
        for name in (
            "ca.pem",
            "node.pem",
            "node.key",
            "client.pem",
            "client.key",
            "dist.conf",
            "other-ca.pem",
            "rogue.pem",
            "rogue.key",
        )
    }
    _write_cert(paths["ca.pem"], ca_cert)
    _write_cert(paths["node.pem"], node_cert)
    _write_key(paths["node.key"], node_key)
    _write_cert(paths["client.pem"], client_cert)
    _write_key(paths["client.key"], client_key)
    _write_cert(paths["other-ca.pem"], other_cert)
    _write_cert(paths["rogue.pem"], rogue_cert)
    _write_key(paths["rogue.key"], rogue_key)
    return Pki(
        paths["ca.pem"],
        paths["node.pem"],
        paths["node.key"],
        paths["client.pem"],
        paths["client.key"],
        paths["dist.conf"],
        paths["other-ca.pem"],
        paths["rogue.pem"],
        paths["rogue.key"],
    )


def write_optfile(pki: Pki, *, inside: Path | None = None) -> Path:
    """The node's -ssl_dist_optfile: mutual TLS (verify_peer + fail_if_no_peer_cert).

    `inside` is a chroot: the file names written are then as the chroot sees them.
    """

    def p(path: Path) -> str:
        return "/" + str(path.relative_to(inside)) if inside else str(path)

    common = (
        f'{{certfile, "{p(pki.node_cert)}"}}, {{keyfile, "{p(pki.node_key)}"}}, '
        f'{{cacertfile, "{p(pki.ca_cert)}"}}, {{verify, verify_peer}}, '
        f"{{secure_renegotiate, true}}"
    )
    pki.optfile.write_text(
        f"[{{server, [{common}, {{fail_if_no_peer_cert, true}}]}},\n {{client, [{common}]}}].\n"
    )
    return pki.optfile
