"""`tls check`: judge an existing -ssl_dist_optfile for the mistakes made by hand.

The file is read as `file:consult/1` would (pure Python, no Erlang needed). Findings:
a server that does not demand client certificates (`verify_peer` without
`fail_if_no_peer_cert`, or no `verify_peer` at all), a client that does not check the
node it dials, no CA, old protocol versions, weak ciphers, and, for files that exist on
this machine, keys readable by others, keys that do not match their certificate, and
certificates that are expired or about to be.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from erlcookie.errors import OperationalError, UsageError
from erlcookie.release import erlterms as et

OLD_VERSIONS = {"sslv3", "tlsv1", "tlsv1.1"}


def weak_cipher(name: str) -> bool:
    """A TLS 1.2 suite without AEAD or without forward secrecy (OpenSSL or RFC name)."""
    upper = name.upper()
    if upper.startswith(("TLS_AES_", "TLS_CHACHA20_")):  # TLS 1.3 suites are all AEAD
        return False
    aead = any(part in upper for part in ("GCM", "CHACHA20", "CCM"))
    forward_secret = "DHE" in upper  # ECDHE and DHE
    return not (aead and forward_secret) or any(p in upper for p in ("ANON", "NULL", "PSK"))


@dataclass
class Finding:
    severity: str          # "error" (exit 1) or "warning"
    section: str           # "server", "client", "file"
    message: str

    def to_json(self) -> dict:
        return {"severity": self.severity, "section": self.section, "message": self.message}


@dataclass
class Report:
    path: Path
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def add(self, severity: str, section: str, message: str) -> None:
        self.findings.append(Finding(severity, section, message))


def _value(term: et.Term):
    if isinstance(term, et.Atom):
        return term.name
    if isinstance(term, et.Str):
        return term.value
    if isinstance(term, et.Num):
        return term.value
    if isinstance(term, et.List):
        return [_value(item) for item in term.items]
    if isinstance(term, et.Tuple):
        return tuple(_value(item) for item in term.items)
    return None


def _options(section: et.Term) -> dict:
    """A section's options as {name: value}; the first occurrence wins, as in proplists."""
    options: dict = {}
    if isinstance(section, et.List):
        for item in section.items:
            if isinstance(item, et.Tuple) and len(item.items) == 2 and item.tag():
                options.setdefault(item.tag(), _value(item.items[1]))
            elif isinstance(item, et.Atom):
                options.setdefault(item.name, True)
    return options


def read_sections(path: Path) -> dict[str, dict]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationalError(f"cannot read {path}: {exc}") from None
    try:
        terms = et.parse_terms(text)
    except et.ErlangSyntaxError as exc:
        raise OperationalError(f"{path}: not an optfile this checker can read ({exc})") from None
    if len(terms) != 1 or not isinstance(terms[0], et.List):
        raise OperationalError(f"{path}: an optfile is one list, [{{server, [...]}}, "
                               "{client, [...]}].")
    sections: dict[str, dict] = {}
    for item in terms[0].items:
        if isinstance(item, et.Tuple) and len(item.items) == 2 \
                and item.tag() in ("server", "client"):
            sections.setdefault(item.tag(), _options(item.items[1]))
    return sections


def _common(report: Report, role: str, opts: dict) -> None:
    versions = opts.get("versions")
    if isinstance(versions, list):
        old = sorted(v for v in versions if v in OLD_VERSIONS)
        if old:
            report.add("error", role, f"allows {', '.join(old)}: use ['tlsv1.3', 'tlsv1.2']")
    elif role == "server":
        report.add("warning", role, "no versions: OTP 25's distribution then uses TLS 1.2 only")
    ciphers = opts.get("ciphers")
    if isinstance(ciphers, list):
        weak = [c for c in ciphers if isinstance(c, str) and weak_cipher(c)]
        if weak:
            report.add("error", role, f"weak ciphers: {', '.join(weak[:5])}")
    if opts.get("verify") == "verify_peer" and "cacertfile" not in opts and "cacerts" not in opts:
        report.add("error", role, "verify_peer without cacertfile: no CA to check peers against")
    if "certfile" not in opts and "cert" not in opts:
        report.add("error" if role == "server" else "warning", role,
                   "no certfile: this side shows no certificate"
                   + (" (the peer's server will refuse it under mutual TLS)" if role == "client"
                      else ""))


def check_sections(report: Report, sections: dict[str, dict]) -> None:
    server, client = sections.get("server"), sections.get("client")
    if server is None:
        report.add("error", "server", "no server section: the node cannot accept TLS connections")
    else:
        if server.get("verify") != "verify_peer":
            report.add("error", "server", "no {verify, verify_peer}: client certificates are not "
                       "checked, so anyone who reaches the port gets to the cookie handshake")
        elif server.get("fail_if_no_peer_cert") not in (True, "true"):
            report.add("error", "server", "verify_peer without {fail_if_no_peer_cert, true}: a "
                       "client that shows no certificate is let in")
        _common(report, "server", server)
    if client is None:
        report.add("error", "client", "no client section: the node cannot dial other nodes "
                   "over TLS")
    else:
        verify = client.get("verify")
        if verify == "verify_none":
            report.add("error", "client", "{verify, verify_none}: the node does not check who "
                       "it dials (anyone in the path can pose as a node)")
        elif verify is None:
            report.add("warning", "client", "no verify option: before OTP 26 the default is "
                       "verify_none; set {verify, verify_peer}")
        if client.get("server_name_indication") == "disable":
            report.add("warning", "client", "server_name_indication disabled: any certificate "
                       "of the CA is accepted, whatever host it names")
        _common(report, "client", client)


def check_files(report: Report, sections: dict[str, dict], *, warn_days: float) -> None:
    """The files the options name, when they exist on this machine."""
    from erlcookie.tls import pki, store

    seen: set[tuple[str, str]] = set()
    for role, opts in sections.items():
        cert_path, key_path = opts.get("certfile"), opts.get("keyfile") or opts.get("certfile")
        for kind, path in (("certfile", cert_path), ("keyfile", opts.get("keyfile")),
                           ("cacertfile", opts.get("cacertfile"))):
            if isinstance(path, str) and (kind, path) not in seen:
                seen.add((kind, path))
                if not Path(path).exists():
                    report.add("warning", "file", f"{kind} {path} is not on this machine "
                               "(not checked)")
        if isinstance(opts.get("keyfile"), str) and Path(opts["keyfile"]).exists() \
                and ("mode", opts["keyfile"]) not in seen:
            seen.add(("mode", opts["keyfile"]))
            mode = os.stat(opts["keyfile"]).st_mode & 0o777
            if mode & 0o077:
                report.add("error", "file", f"keyfile {opts['keyfile']} is mode {mode:04o}: "
                           "others can read the node's key (chmod 600)")
        if isinstance(cert_path, str) and Path(cert_path).exists() \
                and ("cert", cert_path) not in seen:
            seen.add(("cert", cert_path))
            try:
                cert = store.read_cert(Path(cert_path))
            except UsageError as exc:
                report.add("error", "file", str(exc))
                continue
            days = pki.facts(cert).days_left()
            if days <= 0:
                report.add("error", "file", f"certfile {cert_path} expired {-days:.0f} days ago")
            elif days <= warn_days:
                report.add("error", "file", f"certfile {cert_path} expires in {days:.0f} days")
            if isinstance(key_path, str) and Path(key_path).exists():
                try:
                    key = store.read_key(Path(key_path))
                except UsageError:
                    key = None  # a PEM holding both: the certificate half reads, the key may not
                if key is not None and not pki.key_matches(key, cert):
                    report.add("error", "file", f"keyfile {key_path} does not belong to "
                               f"certfile {cert_path}")
            ca_path = opts.get("cacertfile")
            if isinstance(ca_path, str) and Path(ca_path).exists():
                try:
                    ca = store.read_cert(Path(ca_path))
                except UsageError as exc:
                    report.add("error", "file", str(exc))
                    continue
                if not pki.signed_by(cert, ca):
                    report.add("error", "file", f"certfile {cert_path} is not signed by "
                               f"cacertfile {ca_path}: peers will refuse it")


def check(path: Path, *, files: bool = True, warn_days: float = 30) -> Report:
    report = Report(Path(path))
    sections = read_sections(path)
    check_sections(report, sections)
    if files:
        check_files(report, sections, warn_days=warn_days)
    return report
