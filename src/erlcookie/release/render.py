"""`release check` as text lines (never a cookie value); JSON and SARIF come from the shared
findings layer (`Report.to_json`, `Report.sarif_run`, `erlcookie.findings.formats`).

The lines hold strings from the project as they are; the CLI passes every one through
`safe_text` before it reaches a terminal or a pipe.
"""

from __future__ import annotations

from erlcookie.release.model import Finding, Report


def finding_line(f: Finding) -> str:
    cookie = ""
    if f.cookie is not None:
        verdict = f", {f.cookie.verdict}" if f.cookie.verdict else ""
        cookie = f" [cookie {f.cookie.fingerprint}{verdict}]"
    return f"{f.path}:{f.line}:{f.column}: {f.severity} {f.rule_id}: {f.message}{cookie}"


def summary(report: Report) -> str:
    if report.errors:
        head = (
            f"{len(report.errors)} file(s) could not be parsed, so the check is incomplete; "
            f"{len(report.findings)} finding(s) in what could be read"
        )
    elif not report.findings:
        head = "no cookie problems found"
    else:
        parts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
        fixable = sum(1 for f in report.findings if f.fixable)
        head = (
            f"{len(report.findings)} finding{'s' if len(report.findings) != 1 else ''} "
            f"({parts}); {fixable} fixable with `erlcookie release fix`"
        )
    projects = "; ".join(
        f"{p.kind} {p.root}" + (f" ({', '.join(p.releases)})" if p.releases else "")
        for p in report.projects
    )
    return f"{head} in {projects}" if projects else head


def sarif(report: Report) -> dict:
    """SARIF 2.1.0 from the shared writer (kept under its old name)."""
    from erlcookie.findings.sarif import document

    return document(report.sarif_run())
