"""Certificates for TLS distribution: a cluster CA and node certificates signed by it.

Node certificates serve both ends of a distribution connection (a node accepts and
dials), so they carry serverAuth and clientAuth. Keys are ECDSA P-256: small, fast, and
supported by every OTP release that runs TLS distribution.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from erlcookie.errors import UsageError

KeyType = ec.EllipticCurvePrivateKey
CA_DAYS = 5 * 365
NODE_DAYS = 90
# Clock skew between the issuing machine and the nodes: certificates start a bit earlier.
BACKDATE = dt.timedelta(minutes=5)

# Measured on OTP 25 and 27: inet_tls_dist checks host names with public_key's default
# match, which ignores wildcards; the https match_fun that honours them is a closure, and
# an optfile (read by file:consult) cannot hold one.
WILDCARD_NOTE = (
    "OTP's distribution host name check does not match wildcard names: also name "
    "each node's host (--san), or write the optfile with --no-hostname-check. "
    "erlcookie's own client (ping/info) does match wildcards."
)

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key) -> bytes:
    """The private key as unencrypted PKCS#8 PEM (OTP reads it without a password)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, hex: what `openssl x509 -fingerprint -sha256` shows."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def parse_san(text: str) -> x509.GeneralName:
    """A --san value: an IP address, a DNS name, or `*.` plus a DNS name (one wildcard label)."""
    value = text.strip().rstrip(".")
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        pass
    labels = value.split(".")
    check = labels[1:] if labels[0] == "*" else labels
    if labels[0] == "*" and len(check) < 2:
        raise UsageError(f"--san {text!r}: a wildcard needs at least two labels after '*.'")
    if not check or len(value) > 253 or not all(_LABEL.fullmatch(label) for label in check):
        raise UsageError(
            f"--san {text!r}: not an IP address or a DNS name "
            "(letters, digits, '-', dots; a wildcard only as the whole first label)"
        )
    return x509.DNSName(value.lower())


def general_names(texts: list[str]) -> list[x509.GeneralName]:
    """The SAN entries for --san values. An IPv4 address is written twice, as an IP and as
    DNS text: a node named `app@10.1.2.3` is dialed with "10.1.2.3" as SNI, and OTP then
    checks the certificate's DNS names only (ssl_certificate:verify_hostname)."""
    names: list[x509.GeneralName] = []
    for text in texts:
        name = parse_san(text)
        names.append(name)
        if isinstance(name, x509.IPAddress) and name.value.version == 4:
            names.append(x509.DNSName(str(name.value)))
    return list(dict.fromkeys(names))


def san_text(name: x509.GeneralName) -> str:
    return str(name.value)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(
    common_name: str, *, days: int = CA_DAYS, not_before: dt.datetime | None = None
) -> tuple[KeyType, x509.Certificate]:
    """A self-signed CA that may sign end-entity certificates only (path length 0)."""
    key = new_key()
    start = not_before or now() - BACKDATE
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(
    ca_key,
    ca_cert: x509.Certificate,
    common_name: str,
    sans: list[x509.GeneralName],
    *,
    days: int = NODE_DAYS,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[KeyType, x509.Certificate]:
    """A node certificate (server and client) for `sans`, signed by the CA.

    The validity never outlasts the CA's (a certificate whose issuer expired is refused
    anyway); `not_before`/`not_after` exist for tests of expired certificates.
    """
    key = new_key()
    start = not_before or now() - BACKDATE
    end = not_after or start + dt.timedelta(days=days)
    end = min(end, ca_cert.not_valid_after_utc)
    if end <= max(start, now()) and not_after is None:
        raise UsageError(
            f"the CA expired on {ca_cert.not_valid_after_utc:%Y-%m-%d}: make a new "
            "one (tls init --force) and issue every certificate again"
        )
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=False,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


@dataclass(frozen=True)
class CertFacts:
    """What `tls status` shows of one certificate."""

    subject: str
    issuer: str
    is_ca: bool
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint: str

    def days_left(self, at: dt.datetime | None = None) -> float:
        return (self.not_after - (at or now())).total_seconds() / 86400


def facts(cert: x509.Certificate) -> CertFacts:
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    try:
        sans = tuple(
            dict.fromkeys(
                san_text(n)
                for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            )
        )
    except x509.ExtensionNotFound:
        sans = ()
    return CertFacts(
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
        is_ca,
        sans,
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
        fingerprint(cert),
    )


def signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except Exception:  # InvalidSignature, a wrong issuer name, a key type mismatch
        return False
    return True


def key_matches(key, cert: x509.Certificate) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki)
