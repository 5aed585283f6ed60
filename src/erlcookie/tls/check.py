"""`tls check`: judge an existing -ssl_dist_optfile for the mistakes made by hand.

The file is read as `file:consult/1` would (pure Python, no Erlang needed). Findings, with
the rules of the `tls` family in erlcookie.findings: a server that does not demand client
certificates (`verify_peer` without `fail_if_no_peer_cert`, or no `verify_peer` at all), a
client that does not check the node it dials, no CA, old protocol versions, weak ciphers,
and, for files that exist on this machine, keys readable by others, keys that do not
match their certificate, certificates another CA signed, expired or about to be.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from erlcookie.errors import OperationalError, UsageError
from erlcookie.findings import rules as R
from erlcookie.findings.model import Finding
from erlcookie.findings.report import Report
from erlcookie.findings.severity import Severity
from erlcookie.release import erlterms as et
from erlcookie.text import line_col

OLD_VERSIONS = {"sslv3", "tlsv1", "tlsv1.1"}
# Findings from this severity up fail the check (exit 1); lower ones are advice.
FAILING = Severity.MEDIUM


def weak_cipher(name: str) -> bool:
    """A TLS 1.2 suite without AEAD or without forward secrecy (OpenSSL or RFC name)."""
    upper = name.upper()
    if upper.startswith(("TLS_AES_", "TLS_CHACHA20_")):  # TLS 1.3 suites are all AEAD
        return False
    aead = any(part in upper for part in ("GCM", "CHACHA20", "CCM"))
    forward_secret = "DHE" in upper  # ECDHE and DHE
    return not (aead and forward_secret) or any(p in upper for p in ("ANON", "NULL", "PSK"))


@dataclass
class Section:
    """One section's options: name -> (value, offset of the option in the file)."""

    offset: int
    options: dict[str, tuple[object, int]] = field(default_factory=dict)

    def get(self, name: str, default=None):
        return self.options[name][0] if name in self.options else default

    def at(self, name: str) -> int:
        return self.options[name][1] if name in self.options else self.offset


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


def _section(term: et.Tuple) -> Section:
    """The first occurrence of an option wins, as in proplists."""
    section = Section(term.start)
    body = term.items[1]
    if isinstance(body, et.List):
        for item in body.items:
            if isinstance(item, et.Tuple) and len(item.items) == 2 and item.tag():
                section.options.setdefault(item.tag(), (_value(item.items[1]), item.start))
            elif isinstance(item, et.Atom):
                section.options.setdefault(item.name, (True, item.start))
    return section


@dataclass
class OptfileCheck:
    """The findings of one optfile, in the shared findings shape."""

    path: Path
    text: str
    report: Report

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    @property
    def failed(self) -> bool:
        return any(f.severity >= FAILING for f in self.findings)

    def add(self, rule_id: str, offset: int, detail: str | None = None) -> None:
        line, column = line_col(self.text, offset)
        self.report.findings.append(Finding(rule_id, self.path.name, line, column, detail=detail))


def read_sections(path: Path) -> tuple[str, dict[str, Section]]:
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
        raise OperationalError(
            f"{path}: an optfile is one list, [{{server, [...]}}, {{client, [...]}}]."
        )
    sections: dict[str, Section] = {}
    for item in terms[0].items:
        if (
            isinstance(item, et.Tuple)
            and len(item.items) == 2
            and item.tag() in ("server", "client")
        ):
            sections.setdefault(item.tag(), _section(item))
    return text, sections


def _common(check: OptfileCheck, role: str, s: Section) -> None:
    versions = s.get("versions")
    if isinstance(versions, list):
        old = sorted(v for v in versions if v in OLD_VERSIONS)
        if old:
            check.add(
                R.TLS_OLD_VERSIONS,
                s.at("versions"),
                f"{role}: allows {', '.join(old)}: use ['tlsv1.3', 'tlsv1.2']",
            )
    elif role == "server":
        check.add(R.TLS_NO_VERSIONS, s.offset)
    ciphers = s.get("ciphers")
    if isinstance(ciphers, list):
        weak = [c for c in ciphers if isinstance(c, str) and weak_cipher(c)]
        if weak:
            check.add(
                R.TLS_WEAK_CIPHERS, s.at("ciphers"), f"{role}: weak ciphers: {', '.join(weak[:5])}"
            )
    if (
        s.get("verify") == "verify_peer"
        and s.get("cacertfile") is None
        and s.get("cacerts") is None
    ):
        check.add(
            R.TLS_NO_CA,
            s.at("verify"),
            f"{role}: verify_peer without cacertfile: no CA to check peers against",
        )
    if s.get("certfile") is None and s.get("cert") is None:
        check.add(
            R.TLS_SERVER_NO_CERTFILE if role == "server" else R.TLS_CLIENT_NO_CERTFILE, s.offset
        )


def check_sections(check: OptfileCheck, sections: dict[str, Section]) -> None:
    server, client = sections.get("server"), sections.get("client")
    if server is None:
        check.add(R.TLS_NO_SERVER_SECTION, 0)
    else:
        if server.get("verify") != "verify_peer":
            check.add(R.TLS_SERVER_NO_VERIFY_PEER, server.at("verify"))
        elif server.get("fail_if_no_peer_cert") not in (True, "true"):
            check.add(R.TLS_SERVER_NO_FAIL_IF_NO_PEER_CERT, server.at("fail_if_no_peer_cert"))
        _common(check, "server", server)
    if client is None:
        check.add(R.TLS_NO_CLIENT_SECTION, 0)
    else:
        verify = client.get("verify")
        if verify == "verify_none":
            check.add(R.TLS_CLIENT_VERIFY_NONE, client.at("verify"))
        elif verify is None:
            check.add(R.TLS_CLIENT_VERIFY_DEFAULT, client.offset)
        if client.get("server_name_indication") == "disable":
            check.add(R.TLS_NO_HOSTNAME_CHECK, client.at("server_name_indication"))
        _common(check, "client", client)


def check_files(check: OptfileCheck, sections: dict[str, Section], *, warn_days: float) -> None:
    """The files the options name, when they exist on this machine (each judged once)."""
    from erlcookie.tls import pki, store

    seen: set[tuple[str, str]] = set()

    def once(kind: str, path: str) -> bool:
        if (kind, path) in seen:
            return False
        seen.add((kind, path))
        return True

    for s in sections.values():
        for kind in ("certfile", "keyfile", "cacertfile"):
            path = s.get(kind)
            if isinstance(path, str) and not Path(path).exists() and once("here", path):
                check.add(
                    R.TLS_FILE_NOT_HERE,
                    s.at(kind),
                    f"{kind} {path} is not on this machine (not checked)",
                )
        key_path = s.get("keyfile")
        if isinstance(key_path, str) and Path(key_path).exists() and once("mode", key_path):
            mode = os.stat(key_path).st_mode & 0o777
            if mode & 0o077:
                check.add(
                    R.TLS_KEY_READABLE,
                    s.at("keyfile"),
                    f"keyfile {key_path} is mode "
                    f"{mode:04o}: others can read the node's key (chmod 600)",
                )
        cert_path = s.get("certfile")
        if not (
            isinstance(cert_path, str) and Path(cert_path).exists() and once("cert", cert_path)
        ):
            continue
        try:
            cert = store.read_cert(Path(cert_path))
        except UsageError as exc:
            check.add(R.TLS_FILE_UNREADABLE, s.at("certfile"), str(exc))
            continue
        days = pki.facts(cert).days_left()
        if days <= 0:
            check.add(
                R.TLS_CERT_EXPIRED,
                s.at("certfile"),
                f"certfile {cert_path} expired {-days:.0f} days ago",
            )
        elif days <= warn_days:
            check.add(
                R.TLS_CERT_EXPIRING,
                s.at("certfile"),
                f"certfile {cert_path} expires in {days:.0f} days",
            )
        key_path = key_path or cert_path
        if isinstance(key_path, str) and Path(key_path).exists():
            try:
                key = store.read_key(Path(key_path))
            except UsageError:
                key = None  # a PEM holding both: the certificate half reads, the key may not
            if key is not None and not pki.key_matches(key, cert):
                check.add(
                    R.TLS_KEY_MISMATCH,
                    s.at("keyfile"),
                    f"keyfile {key_path} does not belong to certfile {cert_path}",
                )
        ca_path = s.get("cacertfile")
        if isinstance(ca_path, str) and Path(ca_path).exists():
            try:
                ca = store.read_cert(Path(ca_path))
            except UsageError as exc:
                check.add(R.TLS_FILE_UNREADABLE, s.at("cacertfile"), str(exc))
                continue
            if not pki.signed_by(cert, ca):
                check.add(
                    R.TLS_FOREIGN_ISSUER,
                    s.at("certfile"),
                    f"certfile {cert_path} is "
                    f"not signed by cacertfile {ca_path}: peers will refuse it",
                )


def check(path: Path, *, files: bool = True, warn_days: float = 30) -> OptfileCheck:
    path = Path(path)
    text, sections = read_sections(path)
    result = OptfileCheck(path, text, Report("tls check", str(path.resolve().parent)))
    check_sections(result, sections)
    if files:
        check_files(result, sections, warn_days=warn_days)
    return result
