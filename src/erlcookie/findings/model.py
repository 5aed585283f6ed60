"""The one finding type of erlcookie, for `scan`, `release check` and whatever reports next.

A finding never holds a cookie value in anything it renders: only the cookie's fingerprint
and audit verdict (`CookieInfo`). An analyzer that must rewrite the file later may keep the
literal in `secret`, a `Cookie` that never prints.

A finding's `identity` is what scan baselines and SARIF `partialFingerprints` use. It hashes
the rule, the path and the cookie's fingerprint (plus an ordinal when the same cookie
appears more than once in one file), never a line number, so moving lines around does not
turn an accepted finding into a new one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from erlcookie.findings.rules import RULES, Rule
from erlcookie.findings.severity import Severity

if TYPE_CHECKING:
    from erlcookie.cookie.value import Cookie

__all__ = ["CommitRef", "CookieInfo", "Finding"]


_NOT_COMMITTED = {
    "untracked": "Not committed: the file is untracked, and git would add it.",
    "ignored": "Not committed: git ignores the file.",
}


@dataclass(frozen=True)
class CookieInfo:
    """What a report may say about a literal cookie: never the value itself."""

    fingerprint: str
    verdict: str | None
    bits: float | None
    reasons: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: str, source: str = "release file") -> CookieInfo:
        """Fingerprint and audit of one literal (the audit is optional, the fingerprint not)."""
        from erlcookie.cookie.value import Cookie

        cookie = Cookie(value, source=source)
        try:
            from erlcookie.audit import audit_cookie
        except ImportError:
            return cls(cookie.fingerprint(), None, None)
        result = audit_cookie(cookie)
        return cls(
            cookie.fingerprint(),
            result.verdict,
            round(result.bits, 1),
            tuple(r.code for r in result.reasons if r.verdict != "ok"),
        )

    def audit_dict(self) -> dict:
        return {"verdict": self.verdict, "bits": self.bits, "reasons": list(self.reasons)}

    def to_dict(self) -> dict:
        return {"fingerprint": self.fingerprint, **self.audit_dict()}


@dataclass(frozen=True)
class CommitRef:
    """A commit in which a file at `path` got content holding the cookie."""

    sha: str
    date: str  # author date, ISO 8601
    path: str
    age: int = field(default=0, compare=False)  # position in `git log --date-order`: 0 newest
    line: int = field(default=0, compare=False)  # the cookie's line in this commit's version
    column: int = field(default=0, compare=False)

    def to_dict(self) -> dict:
        data = {"commit": self.sha, "date": self.date, "path": self.path}
        if self.line:
            data["line"], data["column"] = self.line, self.column
        return data


@dataclass
class Finding:
    rule_id: str
    # relative to the report's root; for a live Kubernetes object (k8s status) its
    # reference, "Kind/name" (e.g. "Secret/erlang-cookie"), in the report's namespace
    path: str
    line: int  # 1-based; 0: not a place in a file (a live object)
    column: int
    end_line: int = 0  # 0: unknown (the finding's own line)
    end_column: int = 0
    detail: str | None = None  # what the analyzer says about this place; None: the rule's text
    cookie: CookieInfo | None = None
    key: str | None = None  # the variable, key or flag that carries the cookie (safe to show)
    note: str | None = None
    fixable: bool = False  # `erlcookie release fix` can fix it
    occurrence: int = 1
    commits: list[CommitRef] = field(default_factory=list)  # scan --history only
    in_head: bool | None = None  # scan --history only: still in HEAD's tree at this path?
    blob: str | None = None  # scan --history / --staged: the git blob that holds it
    # scan of a git work tree: "tracked" (committed or staged), "untracked" (git would add
    # it) or "ignored" (git ignores it: a cookie there is not committed); None: not known
    git: str | None = None
    # k8s: the workload ("Deployment/chat") and 1-based YAML document of the file at `path`
    # (k8s inject), the container the finding is about, and the command's own finer name
    # for it (k8s status: "workload-not-wired"; k8s inject: "volume-name-taken", ...)
    workload: str | None = None
    document: int | None = None
    container: str | None = None
    code: str | None = None
    secret: Cookie | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.rule_id not in RULES:
            raise ValueError(f"unknown rule id {self.rule_id!r}: add it to findings/rules.py")

    @property
    def rule(self) -> Rule:
        return RULES[self.rule_id]

    @property
    def severity(self) -> Severity:
        return self.rule.severity_for(self.verdict)

    @property
    def fix(self) -> str:
        return self.rule.help

    @property
    def level(self) -> str:
        """ "error" from medium up, else "warning": how `k8s status` and `k8s inject` tell a
        problem (exit 1) from advice."""
        return "error" if self.severity >= Severity.MEDIUM else "warning"

    # the cookie, flattened: fingerprint and audit verdict are part of every finding's shape
    @property
    def fingerprint(self) -> str:
        return self.cookie.fingerprint if self.cookie else ""

    @property
    def verdict(self) -> str | None:
        return self.cookie.verdict if self.cookie else None

    @property
    def bits(self) -> float | None:
        return self.cookie.bits if self.cookie else None

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.cookie.reasons if self.cookie else ()

    @property
    def identity_base(self) -> str:
        material = "\0".join(("erlcookie-finding/v1", self.rule_id, self.path, self.fingerprint))
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]

    @property
    def identity(self) -> str:
        return f"{self.identity_base}:{self.occurrence}"

    @property
    def message(self) -> str:
        """One line for humans; it names the fingerprint, never the cookie."""
        if self.detail:
            return self.detail
        parts = [self.rule.short]
        if self.key and self.key not in self.rule.short:
            parts.append(f"Key: {self.key}.")
        if self.cookie is not None:
            cookie = f"Cookie {self.fingerprint}"
            if self.verdict not in ("ok", None):
                detail = ", ".join(self.reasons[:2])
                cookie += f" is {self.verdict}" + (f" ({detail})" if detail else "")
            if self.note:
                cookie += f"; {self.note}"
            if self.in_head is False:
                cookie += "; removed from HEAD but still in git history"
            parts.append(cookie + ".")
        if self.git in _NOT_COMMITTED:
            parts.append(_NOT_COMMITTED[self.git])
        return " ".join(parts)

    def to_dict(self) -> dict:
        """The one JSON shape of a finding, whichever command reports it."""
        data = {
            "rule": self.rule_id,
            "name": self.rule.name,
            "severity": str(self.severity),
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line or self.line,
            "end_column": self.end_column or self.column,
            "message": self.message,
            "fix": self.fix,
            "fixable": self.fixable,
            "key": self.key,
            "fingerprint": self.fingerprint or None,
            "verdict": self.verdict,
            "audit": self.cookie.audit_dict() if self.cookie else None,
            "identity": self.identity,
        }
        if self.note:
            data["note"] = self.note
        for name in ("workload", "document", "container"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.code is not None:
            data["code"] = self.code
        if self.blob is not None:
            data["blob"] = self.blob
        if self.git is not None:
            data["git"] = self.git
        if self.in_head is not None:
            data["in_head"] = self.in_head
            data["commits"] = [c.to_dict() for c in self.commits]
        return data
