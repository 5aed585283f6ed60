"""One formatter interface for every command that reports findings (text stays per command).

A command's report implements `FindingsReport`: its findings, its JSON document and its SARIF
run. `FORMATS["json"]` and `FORMATS["sarif"]` turn any such report into text, so `scan`,
`release check`, `k8s inject --check`, `k8s status` and `doctor` share the JSON shape of a
finding (`Finding.to_dict`) and the SARIF writer.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Protocol

from erlcookie.findings.model import Finding
from erlcookie.findings.sarif import SarifRun, document

__all__ = ["FORMATS", "FORMAT_NAMES", "FindingsReport", "Format", "JsonFormat", "SarifFormat"]

FORMAT_NAMES = ("text", "json", "sarif")


class FindingsReport(Protocol):
    findings: Sequence[Finding]

    def to_json(self) -> dict:
        """The command's JSON document; its `findings` are `Finding.to_dict()` items."""

    def sarif_run(self) -> SarifRun:
        """What the SARIF writer needs: automation id, root, rules, notifications."""


class Format(ABC):
    """A machine-readable rendering of a report (plain text on stdout or into a file)."""

    name: ClassVar[str]

    @abstractmethod
    def format(self, report: FindingsReport) -> str:
        raise NotImplementedError


class JsonFormat(Format):
    name = "json"

    def format(self, report: FindingsReport) -> str:
        return json.dumps(report.to_json(), indent=2, default=str) + "\n"


class SarifFormat(Format):
    name = "sarif"

    def format(self, report: FindingsReport) -> str:
        return json.dumps(document(report.sarif_run()), indent=2) + "\n"


FORMATS: dict[str, Format] = {f.name: f for f in (JsonFormat(), SarifFormat())}
