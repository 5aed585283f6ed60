"""What `doctor` reports: problems (findings grouped by rule), each with its fix, and the
ordered next steps. Data only; `diagnose` fills it in, the CLI renders it.

`Diagnosis` implements the findings layer's report interface, so `--format json|sarif`
use the shared finding shape and SARIF writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from erlcookie.findings import rules
from erlcookie.findings.model import Finding
from erlcookie.findings.report import Report
from erlcookie.findings.severity import Severity
from erlcookie.k8s.manifests import DEFAULT_ENV, DEFAULT_SECRET_KEY, DEFAULT_SECRET_NAME

if TYPE_CHECKING:
    from erlcookie.findings.sarif import SarifRun

__all__ = ["DoctorOptions", "Item", "Problem", "Diagnosis", "AREAS"]

# Which analyzer a rule family belongs to, in the order problems are told (and preferred
# when two analyzers find the same thing: the one that can fix it comes first).
AREAS = {
    rules.RELEASE: "release configuration",
    rules.K8S: "Kubernetes manifests",
    rules.SCAN: "leaked and weak cookies",
}
_AREA_ORDER = list(AREAS)


@dataclass(frozen=True)
class DoctorOptions:
    secret: str = DEFAULT_SECRET_NAME
    key: str = DEFAULT_SECRET_KEY
    envs: tuple[str, ...] = (DEFAULT_ENV,)  # variables wired from the Secret
    rebar3_version: str | None = None


@dataclass
class Item:
    """One problem at one place. `also`: rule ids of other analyzers that found the same
    thing (reported once, here). `doctor_fix`: `doctor --fix` fixes it offline."""

    finding: Finding
    also: list[str] = field(default_factory=list)
    doctor_fix: bool = False

    @property
    def family(self) -> str:
        return self.finding.rule.family

    def to_dict(self) -> dict:
        data = self.finding.to_dict()
        data["found_by"] = [self.finding.rule_id, *self.also]
        data["doctor_fix"] = self.doctor_fix
        return data


@dataclass
class Problem:
    """Every place one rule found: told once, with its fix."""

    rule: rules.Rule
    items: list[Item]

    @property
    def severity(self) -> Severity:
        return max((i.finding.severity for i in self.items), key=lambda s: s.rank)

    @property
    def doctor_fix(self) -> bool:
        return all(i.doctor_fix for i in self.items)

    @property
    def area(self) -> str:
        return AREAS.get(self.rule.family, self.rule.family)


@dataclass
class Diagnosis:
    root: str  # absolute; finding paths are relative to it
    items: list[Item] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what could not be checked (exit 3)
    notes: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    checked: dict[str, str] = field(default_factory=dict)  # area -> what was looked at
    # for --fix: the analyzers' own results (in-memory edits, running cookies)
    state: Any = field(default=None, repr=False)

    @property
    def findings(self) -> list[Finding]:
        return [i.finding for i in self.items]

    def problems(self) -> list[Problem]:
        groups: dict[str, list[Item]] = {}
        for item in self.items:
            groups.setdefault(item.finding.rule_id, []).append(item)
        problems = [Problem(rules.get(rid), items) for rid, items in groups.items()]
        problems.sort(
            key=lambda p: (
                -p.severity.rank,
                _AREA_ORDER.index(p.rule.family) if p.rule.family in _AREA_ORDER else 9,
                p.rule.id,
            )
        )
        return problems

    def report(self) -> Report:
        """The plain findings report under the diagnosis: counts and SARIF come from it."""
        return Report("doctor", self.root, self.findings, self.errors)

    def counts(self) -> dict[str, int]:
        return self.report().counts()

    def to_json(self) -> dict:
        from erlcookie import __version__

        return {
            "tool": {"name": "erlcookie", "version": __version__},
            "command": "doctor",
            "root": self.root,
            "checked": dict(self.checked),
            "problems": [
                {
                    "rule": p.rule.id,
                    "title": p.rule.short,
                    "area": p.area,
                    "severity": str(p.severity),
                    "fix": p.rule.help,
                    "doctor_fix": p.doctor_fix,
                    "count": len(p.items),
                }
                for p in self.problems()
            ],
            "findings": [i.to_dict() for i in self.items],
            "next_steps": list(self.next_steps),
            "notes": list(self.notes),
            "errors": list(self.errors),
            "summary": {
                "findings": len(self.items),
                "doctor_fix": sum(i.doctor_fix for i in self.items),
                **self.counts(),
            },
        }

    def sarif_run(self) -> SarifRun:
        return self.report().sarif_run(properties={"nextSteps": list(self.next_steps)})
