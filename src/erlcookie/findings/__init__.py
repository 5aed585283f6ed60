"""One layer for findings, shared by `scan`, `release check`, `k8s inject`, `k8s status`
and `doctor`.

- `Severity`: one ordered scale (an `enum.StrEnum`).
- `rules`: the registry of every rule id, its texts and base severity; one severity policy.
- `Finding`: the one finding type and its JSON shape (`Finding.to_dict`).
- `sarif`: the one SARIF 2.1.0 writer; `formats`: the formatter interface (json, sarif).
- `Report`: a plain report for commands without one of their own (k8s checks, doctor).

A new command reports through this layer by registering its rules in `rules` under its own
family, building `Finding`s, and handing a `FindingsReport` to `FORMATS`. The names below
are imported on first use: detectors that only need rule ids do not load the writers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erlcookie._exports import lazy_exports

if TYPE_CHECKING:  # what type checkers and readers see; at run time see __getattr__
    from erlcookie.findings.formats import FORMATS, FindingsReport, Format
    from erlcookie.findings.model import CommitRef, CookieInfo, Finding
    from erlcookie.findings.report import Report
    from erlcookie.findings.rules import RULES, Rule, rules_of
    from erlcookie.findings.sarif import SarifRun
    from erlcookie.findings.severity import Severity

__all__ = [
    "FORMATS",
    "RULES",
    "CommitRef",
    "CookieInfo",
    "Finding",
    "FindingsReport",
    "Format",
    "Report",
    "Rule",
    "SarifRun",
    "Severity",
    "rules_of",
]

_HOMES = {
    "FORMATS": "formats",
    "FindingsReport": "formats",
    "Format": "formats",
    "CommitRef": "model",
    "CookieInfo": "model",
    "Finding": "model",
    "Report": "report",
    "RULES": "rules",
    "Rule": "rules",
    "rules_of": "rules",
    "SarifRun": "sarif",
    "Severity": "severity",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
