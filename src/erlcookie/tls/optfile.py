"""OTP's `-ssl_dist_optfile`: mutual TLS for distribution, one commented line per option.

The file is read with `file:consult/1` by `inet_tls_dist` (OTP 25-29): a list of
`{server, Opts}` (used when a node accepts) and `{client, Opts}` (when it dials). Both
sides present the node's certificate and check the peer's against the cluster CA; the
server refuses peers without a certificate (`verify_peer` alone lets anyone in).
"""

from __future__ import annotations

from dataclasses import dataclass

from erlcookie.errors import UsageError

VERSIONS = "['tlsv1.3', 'tlsv1.2']"
# AEAD suites with forward secrecy only, RFC names (OTP 25+ accepts them for both versions).
TLS13_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256")
TLS12_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
)
DIST_FLAGS = "-proto_dist inet_tls -ssl_dist_optfile"


@dataclass(frozen=True)
class OptfilePaths:
    """Where the files are on the node (not necessarily where erlcookie wrote them)."""

    certfile: str
    keyfile: str
    cacertfile: str


def erlang_string(text: str) -> str:
    if not text.startswith("/"):
        raise UsageError(
            f"{text!r}: optfile paths must be absolute (nodes resolve relative "
            "paths against their own working directory)"
        )
    if any(ord(c) < 32 for c in text):
        raise UsageError(f"{text!r}: control characters in a path")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lines(role: str, paths: OptfilePaths, hostname_check: bool) -> list[tuple[str, str]]:
    ciphers = (",\n" + " " * 15).join(f'"{s}"' for s in TLS13_SUITES + TLS12_SUITES)
    lines = [
        (
            f"{{certfile, {erlang_string(paths.certfile)}}}",
            "this node's certificate, shown to every peer",
        ),
        (
            f"{{keyfile, {erlang_string(paths.keyfile)}}}",
            "its private key: readable by the node's user only (0600 or 0400)",
        ),
        (
            f"{{cacertfile, {erlang_string(paths.cacertfile)}}}",
            "the cluster CA: the only issuer whose certificates are trusted",
        ),
        (
            "{verify, verify_peer}",
            "check the peer's certificate against the CA"
            + (" (and, dialing, the host name)" if role == "client" and hostname_check else ""),
        ),
    ]
    if role == "server":
        lines.append(
            (
                "{fail_if_no_peer_cert, true}",
                "refuse peers that show no certificate (without it anyone connects)",
            )
        )
    elif not hostname_check:
        lines.append(
            (
                "{server_name_indication, disable}",
                "no host name check: any certificate of this CA is accepted",
            )
        )
    lines += [
        (f"{{versions, {VERSIONS}}}", "TLS 1.3 and 1.2 only (OTP 25 defaults to 1.2 alone)"),
        (f"{{ciphers, [{ciphers}]}}", "AEAD ciphers with forward secrecy only"),
        ("{secure_renegotiate, true}", "TLS 1.2: refuse insecure renegotiation"),
    ]
    if role == "server":
        lines.append(("{honor_cipher_order, true}", "the server's cipher order wins"))
    return lines


def render(
    paths: OptfilePaths,
    *,
    node: str | None = None,
    hostname_check: bool = True,
    location: str | None = None,
) -> str:
    """The optfile text; every option line carries a `%` comment saying what it does."""
    head = [
        f"%% Mutual TLS distribution options{f' for {node}' if node else ''}, made by erlcookie.",
        "%% Start every node, remote console and rpc command of the cluster with:",
        f"%%   {DIST_FLAGS} {location or '/path/to/this/file'}",
        "%% (OTP 25-29). The cookie handshake still runs inside TLS; EPMD stays plain.",
    ]
    if hostname_check:
        head.append(
            "%% Dialing nodes check the certificate against the host part of the node "
            "name: the SANs must name it."
        )
    body = []
    for index, role in enumerate(("server", "client")):
        what = (
            "used when this node accepts a connection"
            if role == "server"
            else "used when this node dials another node"
        )
        body.append(f"{'[' if index == 0 else ' '}{{{role}, [  % {what}")
        lines = _lines(role, paths, hostname_check)
        for i, (option, comment) in enumerate(lines):
            last = i == len(lines) - 1
            end = ("]}" + ("]." if role == "client" else ",")) if last else ","
            body.append(f"    %% {comment}")
            body.append(f"    {option}{end}")
    return "\n".join(head + body) + "\n"
