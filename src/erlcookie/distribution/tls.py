"""TLS distribution (`-proto_dist inet_tls`): the client side, with Python's ssl module.

A node running TLS distribution wants a TLS connection on its distribution port (EPMD
stays plain) and then the usual handshake with 4-byte length prefixes. Mutual TLS is the
normal setup, so we present a client certificate and check the node's against a CA.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from erlcookie.errors import UsageError

# OpenSSL reasons that mean "the node refused us" rather than "we refused the node".
_PEER_REFUSALS = (
    "ALERT_UNKNOWN_CA",
    "ALERT_BAD_CERTIFICATE",
    "ALERT_CERTIFICATE_REQUIRED",
    "ALERT_HANDSHAKE_FAILURE",
    "ALERT_CERTIFICATE_UNKNOWN",
    "ALERT_ACCESS_DENIED",
    "ALERT_UNSUPPORTED_CERTIFICATE",
    "ALERT_CERTIFICATE_EXPIRED",
    "ALERT_CERTIFICATE_REVOKED",
)


@dataclass(frozen=True)
class TlsOptions:
    """Client certificate, its key, and the CA that signed the nodes' certificates.

    `verify_hostname` checks the node's certificate against the host we dial (or
    `server_name`); turn it off for clusters whose certificates name no hosts, as OTP's
    `{server_name_indication, disable}` does. The CA check always stays on.
    """

    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    verify_hostname: bool = True
    server_name: str | None = None

    def context(self) -> ssl.SSLContext:
        for label, path in (
            ("--tls-cert", self.certfile),
            ("--tls-key", self.keyfile),
            ("--tls-ca", self.cafile),
        ):
            if path is not None and not Path(path).is_file():
                raise UsageError(f"{label} {path}: no such file")
        if self.keyfile and not self.certfile:
            raise UsageError("--tls-key needs --tls-cert")
        if not self.cafile:
            raise UsageError("TLS distribution needs --tls-ca (the CA of the nodes' certificates)")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_verify_locations(cafile=self.cafile)
            if self.certfile:
                ctx.load_cert_chain(self.certfile, self.keyfile)
        except ssl.SSLError as exc:
            raise UsageError(
                f"cannot load the TLS certificate, key or CA: {exc.reason or exc}"
            ) from None
        ctx.check_hostname = self.verify_hostname
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def is_peer_refusal(exc: BaseException) -> bool:
    """True when an ssl error is the node's alert refusing our certificate."""
    reason = getattr(exc, "reason", None) or ""
    return any(r in str(reason) for r in _PEER_REFUSALS)


def describe(exc: BaseException, *, has_client_cert: bool = True) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the node's TLS certificate is not trusted: {exc.verify_message or exc.reason}"
    reason = getattr(exc, "reason", None) or type(exc).__name__
    if is_peer_refusal(exc):
        if has_client_cert:
            return f"the node refused our TLS client certificate ({reason})"
        return (
            f"the node refused the TLS connection ({reason}); it probably requires a "
            "client certificate: give --tls-cert and --tls-key"
        )
    return f"TLS failed: {reason}"
