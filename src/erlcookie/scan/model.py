"""What a scan produces. Nothing in here holds a cookie value: only fingerprints.

A finding's `identity` is what baselines and SARIF `partialFingerprints` use. It hashes
the rule, the path and the cookie's fingerprint (plus an ordinal when the same cookie
appears more than once in one file), never a line number, so moving lines around does
not turn an accepted finding into a new one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from erlcookie.findings.rules import RULES, Rule
from erlcookie.scan.walker import Skip


@dataclass(frozen=True)
class CommitRef:
    """A commit in which a file at `path` got content holding the cookie."""

    sha: str
    date: str  # author date, ISO 8601
    path: str
    age: int = field(default=0, compare=False)  # position in `git log --date-order`: 0 newest

    def to_dict(self) -> dict:
        return {"commit": self.sha, "date": self.date, "path": self.path}


@dataclass
class Finding:
    rule_id: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    fingerprint: str
    verdict: str
    bits: float
    reasons: tuple[str, ...]
    key: str | None = None
    note: str | None = None
    occurrence: int = 1
    commits: list[CommitRef] = field(default_factory=list)  # --history only
    in_head: bool | None = None  # --history only: still in HEAD's tree at this path?
    blob: str | None = None  # --history / --staged: the git blob that holds it

    @property
    def rule(self) -> Rule:
        return RULES[self.rule_id]

    @property
    def severity(self) -> str:
        return self.rule.raised(self.verdict)

    @property
    def identity_base(self) -> str:
        material = "\0".join(("erlcookie-finding/v1", self.rule_id, self.path, self.fingerprint))
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]

    @property
    def identity(self) -> str:
        return f"{self.identity_base}:{self.occurrence}"

    def to_dict(self) -> dict:
        data = {
            "rule": self.rule_id, "name": self.rule.name, "severity": self.severity,
            "path": self.path, "line": self.line, "column": self.column,
            "end_line": self.end_line, "end_column": self.end_column,
            "key": self.key, "fingerprint": self.fingerprint,
            "audit": {"verdict": self.verdict, "bits": self.bits, "reasons": list(self.reasons)},
            "identity": self.identity, "message": message(self),
        }
        if self.note:
            data["note"] = self.note
        if self.blob is not None:
            data["blob"] = self.blob
        if self.in_head is not None:
            data["in_head"] = self.in_head
            data["commits"] = [c.to_dict() for c in self.commits]
        return data


def message(f: Finding) -> str:
    """One line for humans; it names the fingerprint, never the cookie."""
    parts = [f.rule.short]
    if f.key and f.key not in f.rule.short:
        parts.append(f"Key: {f.key}.")
    cookie = f"Cookie {f.fingerprint}"
    if f.verdict != "ok":
        detail = ", ".join(f.reasons[:2])
        cookie += f" is {f.verdict}" + (f" ({detail})" if detail else "")
    if f.note:
        cookie += f"; {f.note}"
    if f.in_head is False:
        cookie += "; removed from HEAD but still in git history"
    parts.append(cookie + ".")
    return " ".join(parts)


def assign_occurrences(findings: list[Finding]) -> None:
    """Number repeats of the same (rule, path, cookie) in file order: 1, 2, ...

    Counted per file version: in history each blob of a path is numbered on its own.
    """
    counts: dict[tuple[str, str | None], int] = {}
    for f in sorted(findings, key=lambda f: (f.path, f.blob or "", f.line, f.column)):
        key = (f.identity_base, f.blob)
        counts[key] = counts.get(key, 0) + 1
        f.occurrence = counts[key]


@dataclass
class ScanReport:
    mode: str  # "tree", "staged" or "history"
    root: str  # absolute directory the paths are relative to
    findings: list[Finding] = field(default_factory=list)  # new: these fail the scan
    suppressed: list[Finding] = field(default_factory=list)  # erlcookie:allow
    accepted: list[Finding] = field(default_factory=list)  # in the baseline
    skipped: list[Skip] = field(default_factory=list)  # too large or unreadable
    binary_files: int = 0
    files_scanned: int = 0  # files or blobs read
    bytes_scanned: int = 0
    commits: int | None = None  # --history: commits walked for occurrences
    elapsed: float = 0.0

    def distinct_cookies(self) -> int:
        return len({f.fingerprint for f in self.findings})

    def summary(self) -> dict:
        by_severity: dict[str, int] = {}
        for f in self.findings:
            by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
        return {"findings": len(self.findings), "distinct_cookies": self.distinct_cookies(),
                "by_severity": by_severity, "suppressed_inline": len(self.suppressed),
                "accepted_by_baseline": len(self.accepted), "files_scanned": self.files_scanned,
                "bytes_scanned": self.bytes_scanned, "binary_files_skipped": self.binary_files,
                "files_skipped": len(self.skipped), "seconds": round(self.elapsed, 3)}
