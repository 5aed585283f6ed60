"""The scan's text report (rows and summary lines). Pure data in, data out.

JSON and SARIF come from the shared findings layer (`erlcookie.findings.formats`); the
functions at the end are kept for callers of the old names. Nothing here can show a cookie:
findings carry fingerprints only. Strings from the repository (paths, keys) are made safe
for a terminal by the CLI's table renderer and by `safe_text` in the summary lines.
"""

from __future__ import annotations

from erlcookie.findings.model import Finding
from erlcookie.scan.model import ScanReport, human_size


# -- text -------------------------------------------------------------------------------------
def text_columns(report: ScanReport) -> list[str]:
    cols = ["severity", "rule", "location", "key", "fingerprint", "audit"]
    if report.mode == "history":
        cols += ["commits", "in HEAD"]
    if any(f.git for f in report.findings):
        cols.append("git")
    return cols


def _audit_cell(f: Finding) -> str:
    if f.verdict == "ok":
        return "ok"
    return f.verdict + (f" ({', '.join(f.reasons[:2])})" if f.reasons else "")


def text_rows(report: ScanReport) -> list[list[str]]:
    rows = []
    for f in report.findings:
        row = [
            f.severity,
            f"{f.rule_id} {f.rule.name}",
            f"{f.path}:{f.line}:{f.column}",
            f.key or "",
            f.fingerprint,
            _audit_cell(f),
        ]
        if report.mode == "history":
            if f.commits:
                first = f.commits[0]
                more = f" +{len(f.commits) - 1}" if len(f.commits) > 1 else ""
                row.append(f"{first.sha[:10]} {first.date[:10]}{more}")
            else:
                row.append("")
            row.append("yes" if f.in_head else "no")
        if any(x.git for x in report.findings):
            row.append(f.git or "")
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
        lines.append(
            f"{n} finding{'s' if n != 1 else ''} ({report.distinct_cookies()} distinct "
            f"cookie{'s' if report.distinct_cookies() != 1 else ''}) in {files} "
            f"path{'s' if files != 1 else ''}."
        )
    else:
        lines.append("No leaked cookies found.")
    if report.mode == "history" and report.findings:
        gone = [f for f in report.findings if not f.in_head]
        if gone:
            lines.append(
                f"{len(gone)} of them {'is' if len(gone) == 1 else 'are'} no longer in "
                "HEAD but stay readable in git history: rotate those cookies, removing "
                "the file does not un-leak them."
            )
    extra = []
    if report.suppressed:
        extra.append(f"{len(report.suppressed)} suppressed by erlcookie:allow")
    if report.accepted:
        extra.append(f"{len(report.accepted)} accepted by the baseline")
    if report.below_floor:
        extra.append(f"{report.below_floor} below --min-severity")
    if extra:
        lines.append("Not counted: " + ", ".join(extra) + ".")
    scanned = (
        f"Scanned {report.files_scanned} {what} ({human_size(report.bytes_scanned)})"
        f" in {report.elapsed:.2f} s"
    )
    if report.commits is not None:
        scanned += f"; {report.commits} commits mapped"
    if report.binary_files:
        scanned += f"; {report.binary_files} binary skipped"
    lines.append(scanned + ".")
    lines += report.skip_warnings()
    return lines


# -- JSON and SARIF: the shared findings layer ----------------------------------------------
def to_json(report: ScanReport) -> dict:
    return report.to_json()


def to_sarif(report: ScanReport) -> dict:
    from erlcookie.findings.sarif import document

    return document(report.sarif_run())
