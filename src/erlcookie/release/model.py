"""Reports and fix plans of the release analyzers.

Findings, rules and severities are the shared findings layer's (`erlcookie.findings`): rule
ids are stable (users suppress them, CI greps them, SARIF keys on them). A finding carries
the literal cookie only inside a `Cookie` (which never prints); reports show its
fingerprint and audit verdict instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from erlcookie.cookie.value import Cookie
from erlcookie.errors import OperationalError
from erlcookie.findings import rules
from erlcookie.findings.model import CookieInfo, Finding
from erlcookie.findings.rules import RULES, Rule
from erlcookie.findings.severity import Severity

if TYPE_CHECKING:
    from erlcookie.findings.sarif import SarifRun

__all__ = [
    "RULES",
    "CookieInfo",
    "FileChange",
    "Finding",
    "FixPlan",
    "ProjectInfo",
    "ReleaseParseError",
    "Report",
    "Rule",
]


def finding_json(f: Finding) -> dict:
    """The shared shape of a finding, plus the keys `release --json` always had."""
    return {
        **f.to_dict(),
        "file": f.path,
        "cookie": None if f.cookie is None else f.cookie.to_dict(),
    }


@dataclass
class ProjectInfo:
    kind: str  # rebar3, mix, mix-umbrella
    root: str  # relative to the checked path ("." for the path itself)
    releases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "root": self.root,
            "releases": self.releases,
            "notes": self.notes,
        }


class ReleaseParseError(OperationalError):
    """A file the analyzers cannot read with certainty; fix then touches nothing."""

    def __init__(self, file: str, detail: str):
        self.file = file
        self.detail = detail
        super().__init__(f"cannot parse {file}: {detail}")


@dataclass
class Report:
    path: Path
    projects: list[ProjectInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[ReleaseParseError] = field(default_factory=list)

    def sort(self) -> None:
        self.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id))

    def counts(self) -> dict[str, int]:
        counts = {str(sev): 0 for sev in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[str(finding.severity)] += 1
        return counts

    # -- the findings layer's report interface (erlcookie.findings.formats) -----------------
    def to_json(self) -> dict:
        from erlcookie import __version__

        findings = [finding_json(f) for f in self.findings]
        return {
            "tool": {"name": "erlcookie", "version": __version__},
            "command": "release check",
            "path": str(self.path),
            "projects": [p.to_dict() for p in self.projects],
            "findings": findings,
            "errors": [{"file": e.file, "message": e.detail} for e in self.errors],
            "summary": {"findings": len(self.findings), **self.counts()},
        }

    to_dict = to_json

    def sarif_run(self) -> SarifRun:
        from erlcookie.findings.sarif import SarifRun, by_cookie

        return SarifRun(
            automation_id="erlcookie/release-check/",
            root=str(self.path),
            findings=self.findings,
            rules=rules.rules_of(rules.RELEASE),
            notifications=[("error", f"{e.file}: {e.detail}") for e in self.errors],
            successful=not self.errors,
            partial_fingerprints=by_cookie,
        )


@dataclass
class FileChange:
    """One file the fix writes, creates, renames or deletes (paths relative to the root)."""

    path: str  # where the new content goes
    old_path: str | None  # where the old content was (None: a new file)
    old_text: str | None
    new_text: str | None  # None: delete old_path
    reason: str
    mode: int | None = None  # for new files; edits keep the file's own mode
    secrets: list[Cookie] = field(default_factory=list, repr=False)

    @property
    def action(self) -> str:
        if self.new_text is None:
            return "delete"
        if self.old_path is None:
            return "create"
        if self.old_path != self.path:
            return "rename"
        return "edit"


@dataclass
class FixPlan:
    root: Path
    changes: list[FileChange] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)  # need a human
    notes: list[str] = field(default_factory=list)
