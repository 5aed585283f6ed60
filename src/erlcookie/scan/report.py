"""Renderers: text rows, JSON and SARIF 2.1.0 for a ScanReport. Pure data in, data out.

None of them can show a cookie: findings carry fingerprints only. SARIF follows what
GitHub code scanning reads: rules with descriptions, help and `security-severity`,
results with locations relative to %SRCROOT%, and `partialFingerprints` built from the
finding identity (rule, path, cookie fingerprint), so alerts survive moved lines.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from erlcookie import __version__
from erlcookie.scan.model import Finding, ScanReport, message
from erlcookie.findings.rules import RULES, SARIF_LEVEL, SECURITY_SEVERITY

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
PARTIAL_FINGERPRINT_KEY = "erlcookieFinding/v1"
SRCROOT = "%SRCROOT%"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


# -- text -------------------------------------------------------------------------------------
def text_columns(report: ScanReport) -> list[str]:
    cols = ["severity", "rule", "location", "key", "fingerprint", "audit"]
    if report.mode == "history":
        cols += ["commits", "in HEAD"]
    return cols


def _audit_cell(f: Finding) -> str:
    if f.verdict == "ok":
        return "ok"
    return f.verdict + (f" ({', '.join(f.reasons[:2])})" if f.reasons else "")


def text_rows(report: ScanReport) -> list[list[str]]:
    rows = []
    for f in report.findings:
        row = [f.severity, f"{f.rule_id} {f.rule.name}", f"{f.path}:{f.line}:{f.column}",
               f.key or "", f.fingerprint, _audit_cell(f)]
        if report.mode == "history":
            if f.commits:
                first = f.commits[0]
                more = f" +{len(f.commits) - 1}" if len(f.commits) > 1 else ""
                row.append(f"{first.sha[:10]} {first.date[:10]}{more}")
            else:
                row.append("")
            row.append("yes" if f.in_head else "no")
        rows.append(row)
    return rows


def text_summary(report: ScanReport) -> list[str]:
    lines = []
    what = {"tree": "file", "staged": "staged file", "history": "blob"}[report.mode]
    if report.files_scanned != 1:
        what += "s"
    n = len(report.findings)
    if n:
        files = len({f.path for f in report.findings})
        lines.append(f"{n} finding{'s' if n != 1 else ''} ({report.distinct_cookies()} distinct "
                     f"cookie{'s' if report.distinct_cookies() != 1 else ''}) in {files} "
                     f"path{'s' if files != 1 else ''}.")
    else:
        lines.append("No leaked cookies found.")
    if report.mode == "history" and report.findings:
        gone = [f for f in report.findings if not f.in_head]
        if gone:
            lines.append(f"{len(gone)} of them {'is' if len(gone) == 1 else 'are'} no longer in "
                         "HEAD but stay readable in git history: rotate those cookies, removing "
                         "the file does not un-leak them.")
    extra = []
    if report.suppressed:
        extra.append(f"{len(report.suppressed)} suppressed by erlcookie:allow")
    if report.accepted:
        extra.append(f"{len(report.accepted)} accepted by the baseline")
    if extra:
        lines.append("Not counted: " + ", ".join(extra) + ".")
    scanned = (f"Scanned {report.files_scanned} {what} ({human_size(report.bytes_scanned)})"
               f" in {report.elapsed:.2f} s")
    if report.commits is not None:
        scanned += f"; {report.commits} commits mapped"
    if report.binary_files:
        scanned += f"; {report.binary_files} binary skipped"
    lines.append(scanned + ".")
    lines += skip_warnings(report)
    return lines


def skip_warnings(report: ScanReport) -> list[str]:
    out = []
    large = [s for s in report.skipped if s.reason == "too-large"]
    other = [s for s in report.skipped if s.reason != "too-large"]
    if large:
        listed = ", ".join(f"{s.path} ({human_size(s.size or 0)})" for s in large[:5])
        more = f" and {len(large) - 5} more" if len(large) > 5 else ""
        out.append(f"Skipped {len(large)} file{'s' if len(large) != 1 else ''} over the size "
                   f"limit (raise it with --max-size): {listed}{more}.")
    if other:
        listed = ", ".join(f"{s.path}" for s in other[:5])
        more = f" and {len(other) - 5} more" if len(other) > 5 else ""
        out.append(f"Could not read {len(other)} file{'s' if len(other) != 1 else ''}: "
                   f"{listed}{more}.")
    return out


# -- JSON -------------------------------------------------------------------------------------
def to_json(report: ScanReport) -> dict:
    cookies: dict[str, dict] = {}
    for f in report.findings:
        entry = cookies.setdefault(f.fingerprint, {"fingerprint": f.fingerprint,
                                                   "verdict": f.verdict, "findings": 0,
                                                   "paths": []})
        entry["findings"] += 1
        if f.path not in entry["paths"]:
            entry["paths"].append(f.path)
    used = sorted({f.rule_id for f in report.findings + report.suppressed + report.accepted})
    data = {
        "tool": {"name": "erlcookie", "version": __version__},
        "mode": report.mode,
        "root": report.root,
        "summary": report.summary(),
        "findings": [f.to_dict() for f in report.findings],
        "cookies": list(cookies.values()),
        "suppressed": [f.to_dict() for f in report.suppressed],
        "accepted": [f.to_dict() for f in report.accepted],
        "skipped": [s.to_dict() for s in report.skipped],
        "rules": {rid: RULES[rid].to_dict() for rid in used},
    }
    if report.commits is not None:
        data["commits_walked"] = report.commits
    return data


# -- SARIF 2.1.0 ------------------------------------------------------------------------------
def _artifact_location(path: str) -> dict:
    if path.startswith("/"):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}


def _sarif_rule(rule) -> dict:
    markdown = (f"**{rule.short}**\n\n{rule.description}\n\n**Fix.** {rule.help}\n\n"
                "The finding shows the cookie's fingerprint (`erlcookie fingerprint`), never "
                "the cookie. Severity rises one step when the cookie is weak or predictable "
                "(`erlcookie audit`).")
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.short},
        "fullDescription": {"text": rule.description},
        "help": {"text": f"{rule.description} Fix: {rule.help}", "markdown": markdown},
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", "secret", "erlang", "cookie", "external/cwe/cwe-798"],
            "precision": "high" if rule.confidence == "high" else "medium",
            "problem.severity": "error" if rule.severity in ("high", "critical") else "warning",
            "security-severity": SECURITY_SEVERITY[rule.severity],
        },
    }


def _sarif_result(f: Finding, rule_index: dict[str, int]) -> dict:
    props = {"severity": f.severity, "fingerprint": f.fingerprint, "verdict": f.verdict,
             "bits": f.bits, "reasons": list(f.reasons)}
    if f.key:
        props["key"] = f.key
    if f.blob:
        props["blob"] = f.blob
    if f.in_head is not None:
        props["inHead"] = f.in_head
        props["commits"] = [c.to_dict() for c in f.commits]
    return {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index[f.rule_id],
        "level": SARIF_LEVEL[f.severity],
        "message": {"text": message(f)},
        "locations": [{"physicalLocation": {
            "artifactLocation": _artifact_location(f.path),
            "region": {"startLine": f.line, "startColumn": f.column,
                       "endLine": f.end_line, "endColumn": f.end_column},
        }}],
        "partialFingerprints": {PARTIAL_FINGERPRINT_KEY: f.identity},
        "properties": props,
    }


def to_sarif(report: ScanReport) -> dict:
    rules = list(RULES.values())
    rule_index = {r.id: i for i, r in enumerate(rules)}
    notifications = [{"level": "warning", "message": {"text": text}}
                     for text in skip_warnings(report)]
    root_uri = Path(report.root).as_uri().rstrip("/") + "/"
    run = {
        "tool": {"driver": {"name": "erlcookie", "version": __version__,
                            "semanticVersion": __version__,
                            "rules": [_sarif_rule(r) for r in rules]}},
        "automationDetails": {"id": f"erlcookie/scan/{report.mode}/"},
        "originalUriBaseIds": {SRCROOT: {"uri": root_uri}},
        "columnKind": "unicodeCodePoints",
        "invocations": [{"executionSuccessful": True,
                         "toolExecutionNotifications": notifications}],
        "results": [_sarif_result(f, rule_index) for f in report.findings],
        "properties": {"summary": report.summary()},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
