"""The one SARIF 2.1.0 writer, for every command that reports findings. Data in, data out.

It follows what GitHub code scanning reads: rules with descriptions, help and
`security-severity`, results with locations relative to %SRCROOT%, and partial fingerprints
that do not move with lines. It cannot show a cookie: findings carry fingerprints only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from erlcookie.findings.model import Finding
from erlcookie.findings.rules import Rule

__all__ = [
    "COOKIE_FINGERPRINT_KEY",
    "PARTIAL_FINGERPRINT_KEY",
    "SARIF_SCHEMA",
    "SarifRun",
    "by_cookie",
    "by_identity",
    "document",
]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
PARTIAL_FINGERPRINT_KEY = "erlcookieFinding/v1"  # scan: rule + path + cookie + ordinal
COOKIE_FINGERPRINT_KEY = "cookieFingerprint/v1"  # release check: the cookie's fingerprint


def by_identity(f: Finding) -> dict[str, str]:
    return {PARTIAL_FINGERPRINT_KEY: f.identity}


def by_cookie(f: Finding) -> dict[str, str]:
    return {COOKIE_FINGERPRINT_KEY: f.fingerprint} if f.cookie is not None else {}


@dataclass
class SarifRun:
    """One command's findings and what SARIF needs around them."""

    automation_id: str  # e.g. "erlcookie/scan/tree/"
    root: str  # absolute directory the finding paths are relative to
    findings: Sequence[Finding]
    rules: Sequence[Rule]  # every rule the command can report (ruleIndex points here)
    notifications: Sequence[tuple[str, str]] = ()  # (level, text): skipped files, errors
    successful: bool = True
    properties: dict = field(default_factory=dict)
    # Kept per command so existing code-scanning alerts keep matching across versions.
    partial_fingerprints: Callable[[Finding], dict[str, str]] = by_identity


def _artifact_location(path: str) -> dict:
    if path.startswith("/"):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}


def _location(f: Finding, region: dict) -> dict:
    """A place in a file, or (line 0) a live object such as `Secret/erlang-cookie`, which
    no file holds: a logical location named by its reference."""
    if f.line == 0:
        return {"logicalLocations": [{"fullyQualifiedName": f.path, "kind": "resource"}]}
    return {"physicalLocation": {"artifactLocation": _artifact_location(f.path), "region": region}}


def _rule(rule: Rule) -> dict:
    markdown = (
        f"**{rule.short}**\n\n{rule.description}\n\n**Fix.** {rule.help}\n\n"
        "The finding shows the cookie's fingerprint (`erlcookie fingerprint`), never "
        "the cookie. Severity rises one step when the cookie is weak or predictable "
        "(`erlcookie audit`)."
    )
    description = rule.description if rule.description != rule.short else ""
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.description},
        "help": {"text": f"{description} Fix: {rule.help}".strip(), "markdown": markdown},
        "defaultConfiguration": {"level": rule.severity.sarif_level},
        "properties": {
            "tags": ["security", "secret", "erlang", "cookie", "external/cwe/cwe-798"],
            "precision": "high" if rule.confidence == "high" else "medium",
            "problem.severity": "error" if rule.severity >= "high" else "warning",
            "security-severity": rule.severity.security_severity,
            "severity": str(rule.severity),
        },
    }


def _result(f: Finding, rule_index: dict[str, int], run: SarifRun) -> dict:
    props: dict = {"severity": str(f.severity), "fixable": f.fixable}
    if f.cookie is not None:
        props.update(
            fingerprint=f.fingerprint, verdict=f.verdict, bits=f.bits, reasons=list(f.reasons)
        )
    if f.key:
        props["key"] = f.key
    if f.container:
        props["container"] = f.container
    if f.blob:
        props["blob"] = f.blob
    if f.in_head is not None:
        props["inHead"] = f.in_head
        props["commits"] = [c.to_dict() for c in f.commits]
    region = {"startLine": f.line, "startColumn": f.column}
    if f.end_line:
        region.update(endLine=f.end_line, endColumn=f.end_column or f.column)
    result = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index[f.rule_id],
        "level": f.severity.sarif_level,
        "message": {"text": f.message},
        "locations": [_location(f, region)],
        "properties": props,
    }
    fingerprints = run.partial_fingerprints(f)
    if fingerprints:
        result["partialFingerprints"] = fingerprints
    return result


def document(run: SarifRun) -> dict:
    """A complete SARIF log with one run."""
    from erlcookie import __version__

    rules = list(run.rules)
    rule_index = {r.id: i for i, r in enumerate(rules)}
    root_uri = Path(run.root).as_uri().rstrip("/") + "/"
    sarif_run = {
        "tool": {
            "driver": {
                "name": "erlcookie",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(r) for r in rules],
            }
        },
        "automationDetails": {"id": run.automation_id},
        "originalUriBaseIds": {SRCROOT: {"uri": root_uri}},
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": run.successful,
                "toolExecutionNotifications": [
                    {"level": level, "message": {"text": text}} for level, text in run.notifications
                ],
            }
        ],
        "results": [_result(f, rule_index, run) for f in run.findings],
    }
    if run.properties:
        sarif_run["properties"] = run.properties
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [sarif_run]}
