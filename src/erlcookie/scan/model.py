"""What a scan produces. Nothing in here holds a cookie value: only fingerprints.

Findings are `erlcookie.findings.Finding`s (shared with `release check`); this module adds
the scan's report around them and numbers repeats of one cookie in one file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from erlcookie.findings import rules
from erlcookie.findings.model import CommitRef, Finding
from erlcookie.scan.walker import Skip

if TYPE_CHECKING:
    from erlcookie.findings.sarif import SarifRun

__all__ = ["CommitRef", "Finding", "ScanReport", "assign_occurrences"]


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
    below_floor: int = 0  # findings under --min-severity, dropped
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
            by_severity[str(f.severity)] = by_severity.get(str(f.severity), 0) + 1
        return {
            "findings": len(self.findings),
            "distinct_cookies": self.distinct_cookies(),
            "by_severity": by_severity,
            "suppressed_inline": len(self.suppressed),
            "accepted_by_baseline": len(self.accepted),
            "below_min_severity": self.below_floor,
            "files_scanned": self.files_scanned,
            "bytes_scanned": self.bytes_scanned,
            "binary_files_skipped": self.binary_files,
            "files_skipped": len(self.skipped),
            "seconds": round(self.elapsed, 3),
        }

    # -- the findings layer's report interface (erlcookie.findings.formats) -----------------
    def to_json(self) -> dict:
        from erlcookie import __version__

        cookies: dict[str, dict] = {}
        for f in self.findings:
            entry = cookies.setdefault(
                f.fingerprint,
                {"fingerprint": f.fingerprint, "verdict": f.verdict, "findings": 0, "paths": []},
            )
            entry["findings"] += 1
            if f.path not in entry["paths"]:
                entry["paths"].append(f.path)
        used = sorted({f.rule_id for f in self.findings + self.suppressed + self.accepted})
        data = {
            "tool": {"name": "erlcookie", "version": __version__},
            "command": "scan",
            "mode": self.mode,
            "root": self.root,
            "summary": self.summary(),
            "findings": [f.to_dict() for f in self.findings],
            "cookies": list(cookies.values()),
            "suppressed": [f.to_dict() for f in self.suppressed],
            "accepted": [f.to_dict() for f in self.accepted],
            "skipped": [s.to_dict() for s in self.skipped],
            "rules": {rid: rules.get(rid).to_dict() for rid in used},
        }
        if self.commits is not None:
            data["commits_walked"] = self.commits
        return data

    def sarif_run(self) -> SarifRun:
        from erlcookie.findings.sarif import SarifRun, by_identity

        return SarifRun(
            automation_id=f"erlcookie/scan/{self.mode}/",
            root=self.root,
            findings=self.findings,
            rules=rules.rules_of(rules.SCAN),
            notifications=[("warning", w) for w in self.skip_warnings()],
            properties={"summary": self.summary()},
            partial_fingerprints=by_identity,
        )

    def skip_warnings(self) -> list[str]:
        """Files passed over, for the text report and SARIF notifications."""
        out = []
        large = [s for s in self.skipped if s.reason == "too-large"]
        other = [s for s in self.skipped if s.reason != "too-large"]
        if large:
            listed = ", ".join(f"{s.path} ({human_size(s.size or 0)})" for s in large[:5])
            more = f" and {len(large) - 5} more" if len(large) > 5 else ""
            out.append(
                f"Skipped {len(large)} file{'s' if len(large) != 1 else ''} over the size "
                f"limit (raise it with --max-size): {listed}{more}."
            )
        if other:
            listed = ", ".join(f"{s.path}" for s in other[:5])
            more = f" and {len(other) - 5} more" if len(other) > 5 else ""
            out.append(
                f"Could not read {len(other)} file{'s' if len(other) != 1 else ''}: {listed}{more}."
            )
        return out


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
