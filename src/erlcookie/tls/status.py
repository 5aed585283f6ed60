"""`tls status`: what in a certificate directory expires when, and what is wrong with it.

Each `*.pem` (and `*.crt`, the Kubernetes layout: `tls.crt`, `tls.key`, `ca.crt`) is read;
node certificates are checked against the CA (`ca.pem` or `ca.crt`) and their key
(`NAME.key`: it must belong to the certificate and be 0600 or stricter). A state is one of
ok, expiring (within the threshold), expired, not_yet_valid, or invalid (a broken file, a
foreign issuer, a key that does not match or is readable by others).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from erlcookie.errors import UsageError
from erlcookie.tls import pki, store

DEFAULT_WARN_DAYS = 30


@dataclass
class Entry:
    name: str
    path: Path
    role: str  # "ca" or "node"
    state: str
    facts: pki.CertFacts | None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        f = self.facts
        return {
            "name": self.name,
            "path": str(self.path),
            "role": self.role,
            "state": self.state,
            "subject": f.subject if f else None,
            "sans": list(f.sans) if f else [],
            "not_before": f.not_before.isoformat() if f else None,
            "not_after": f.not_after.isoformat() if f else None,
            "days_left": round(f.days_left(), 1) if f else None,
            "sha256": f.fingerprint if f else None,
            "problems": self.problems,
        }


def _validity_state(facts: pki.CertFacts, at: dt.datetime, warn_days: float) -> str:
    if facts.not_after <= at:
        return "expired"
    if facts.not_before > at:
        return "not_yet_valid"
    if facts.days_left(at) <= warn_days:
        return "expiring"
    return "ok"


def inspect(
    directory: Path, *, warn_days: float = DEFAULT_WARN_DAYS, at: dt.datetime | None = None
) -> list[Entry]:
    """One Entry per certificate in DIR, the CA first."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"{directory}: no such directory")
    at = at or pki.now()
    pems = sorted(
        [*directory.glob("*.pem"), *directory.glob("*.crt")], key=lambda p: (p.stem != "ca", p.name)
    )
    if not pems:
        raise UsageError(f"{directory}: no certificates (*.pem, *.crt) here")
    ca_cert = None
    entries = []
    for path in pems:
        name, role = path.stem, "ca" if path.stem == "ca" else "node"
        try:
            cert = store.read_cert(path)
        except UsageError as exc:
            entries.append(Entry(name, path, role, "invalid", None, [str(exc)]))
            continue
        facts = pki.facts(cert)
        entry = Entry(name, path, role, _validity_state(facts, at, warn_days), facts)
        if role == "ca":
            ca_cert = cert
            if not facts.is_ca:
                entry.problems.append(f"{path.name} is not a CA certificate")
        elif ca_cert is None:
            entry.problems.append("no ca.pem or ca.crt to check it against")
        elif not pki.signed_by(cert, ca_cert):
            entry.problems.append("not signed by this directory's CA")
        elif facts.not_after > ca_cert.not_valid_after_utc:
            entry.problems.append("outlives the CA (refused once the CA expires)")
        key_path = directory / f"{name}.key"
        if key_path.exists():
            mode = store.mode_of(key_path)
            if mode & 0o077:
                entry.problems.append(
                    f"{key_path.name} is mode {mode:04o}: others can read it (chmod 600)"
                )
            try:
                key = store.read_key(key_path)
                if not pki.key_matches(key, cert):
                    entry.problems.append(f"{key_path.name} does not belong to this certificate")
            except UsageError as exc:
                entry.problems.append(str(exc))
        elif role == "node":
            entry.problems.append(f"no {key_path.name} next to it")
        if entry.problems and entry.state == "ok":
            entry.state = "invalid"
        entries.append(entry)
    return entries


def failing(entries: list[Entry]) -> bool:
    """True when `tls status` should exit 1."""
    return any(e.state != "ok" or e.problems for e in entries)
