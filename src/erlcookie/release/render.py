"""Reports as text lines, JSON-ready dicts and SARIF 2.1.0 (never a cookie value)."""

from __future__ import annotations

from erlcookie import __version__
from erlcookie.release.model import RULES, SARIF_LEVEL, SEVERITIES, Finding, Report


def finding_line(f: Finding) -> str:
    cookie = ""
    if f.cookie is not None:
        verdict = f", {f.cookie.verdict}" if f.cookie.verdict else ""
        cookie = f" [cookie {f.cookie.fingerprint}{verdict}]"
    return f"{f.file}:{f.line}:{f.column}: {f.severity} {f.rule}: {f.message}{cookie}"


def summary(report: Report) -> str:
    if report.errors:
        head = (f"{len(report.errors)} file(s) could not be parsed, so the check is incomplete; "
                f"{len(report.findings)} finding(s) in what could be read")
    elif not report.findings:
        head = "no cookie problems found"
    else:
        counts = {s: 0 for s in SEVERITIES}
        for f in report.findings:
            counts[f.severity] += 1
        parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        fixable = sum(1 for f in report.findings if f.fixable)
        head = (f"{len(report.findings)} finding{'s' if len(report.findings) != 1 else ''} "
                f"({parts}); {fixable} fixable with `erlcookie release fix`")
    projects = "; ".join(f"{p.kind} {p.root}" + (f" ({', '.join(p.releases)})" if p.releases else "")
                         for p in report.projects)
    return f"{head} in {projects}" if projects else head


def sarif(report: Report) -> dict:
    used = sorted({f.rule for f in report.findings})
    rules = [{"id": rid, "name": rid.split("/", 1)[1],
              "shortDescription": {"text": RULES[rid].title},
              "help": {"text": RULES[rid].fix},
              "defaultConfiguration": {"level": SARIF_LEVEL[RULES[rid].severity]},
              "properties": {"severity": RULES[rid].severity}} for rid in used]
    results = []
    for f in report.findings:
        result = {
            "ruleId": f.rule, "ruleIndex": used.index(f.rule), "level": SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.message}. Fix: {f.fix}"},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": f.file, "uriBaseId": "SRCROOT"},
                "region": {"startLine": f.line, "startColumn": f.column}}}],
            "properties": {"severity": f.severity, "fixable": f.fixable},
        }
        if f.cookie is not None:
            result["partialFingerprints"] = {"cookieFingerprint/v1": f.cookie.fingerprint}
            result["properties"]["cookie"] = f.cookie.to_dict()
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "erlcookie release check", "version": __version__,
                                "rules": rules}},
            "originalUriBaseIds": {"SRCROOT": {"uri": report.path.as_uri() + "/"}},
            "results": results,
            "invocations": [{"executionSuccessful": not report.errors,
                             "toolExecutionNotifications": [
                                 {"level": "error", "message": {"text": f"{e.file}: {e.detail}"}}
                                 for e in report.errors]}],
        }],
    }
