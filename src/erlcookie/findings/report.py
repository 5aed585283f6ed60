"""A plain findings report for commands that need nothing more: `k8s inject --check`,
`k8s status`, a future `doctor` (which gathers the findings of several commands).

It implements `FindingsReport`, so `FORMATS["json"]` and `FORMATS["sarif"]` render it with
the same finding shape and SARIF writer as `scan` and `release check`. Its rules are every
rule of the families its findings come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from erlcookie.findings import rules
from erlcookie.findings.model import Finding
from erlcookie.findings.sarif import SarifRun, by_identity
from erlcookie.findings.severity import Severity

__all__ = ["Report"]


@dataclass
class Report:
    command: str  # "k8s inject --check", "doctor", ...
    root: str  # absolute directory the finding paths are relative to
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what could not be checked

    def counts(self) -> dict[str, int]:
        counts = {str(sev): 0 for sev in sorted(Severity, reverse=True)}
        for f in self.findings:
            counts[str(f.severity)] += 1
        return counts

    def to_json(self) -> dict:
        from erlcookie import __version__

        return {
            "tool": {"name": "erlcookie", "version": __version__},
            "command": self.command,
            "root": self.root,
            "findings": [f.to_dict() for f in self.findings],
            "errors": list(self.errors),
            "summary": {"findings": len(self.findings), **self.counts()},
        }

    def sarif_run(self, properties: dict | None = None) -> SarifRun:
        families = {f.rule.family for f in self.findings}
        used = [r for r in rules.RULES.values() if r.family in families]
        return SarifRun(
            automation_id=f"erlcookie/{self.command.replace(' ', '-')}/",
            root=self.root,
            findings=self.findings,
            rules=used,
            notifications=[("error", e) for e in self.errors],
            successful=not self.errors,
            properties=dict(properties or {}),
            partial_fingerprints=by_identity,
        )
