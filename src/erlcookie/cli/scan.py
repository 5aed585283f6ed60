"""`erlcookie scan`: parse options, call erlcookie.scan, render. No scanning logic here."""

from __future__ import annotations

import re

import click

from erlcookie.cli.common import (
    format_option,
    handle_errors,
    pick_format,
    render_findings,
    render_table,
    safe_text,
    stdout_is_tty,
)
from erlcookie.errors import UsageError

SEVERITY_CHOICES = ("low", "medium", "high", "critical")  # erlcookie.findings.Severity, lazily
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$", re.I)


def parse_size(text: str) -> int:
    m = _SIZE.match(text)
    if not m:
        raise UsageError(f"--max-size: cannot read {text!r}; use e.g. 512K, 10M or 1G")
    number = float(m.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2).lower()]
    if number < 1:
        raise UsageError("--max-size must be at least 1 byte")
    return int(number)


@click.command("scan")
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option(
    "--staged", is_flag=True, help="Scan what is staged for the next commit (for pre-commit hooks)."
)
@click.option(
    "--history",
    is_flag=True,
    help="Scan every blob reachable from any ref, once each, and report the commits "
    "and paths where each cookie appears (also those deleted from HEAD).",
)
@format_option
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--sarif", "as_sarif", is_flag=True, help="Same as --format sarif.")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write the report to FILE (atomically) instead of stdout.",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="GLOB",
    help="Skip paths matching GLOB (repeatable): 'vendor', 'deploy/*.yaml', "
    "'**/fixtures/**'. .git is always skipped.",
)
@click.option(
    "--include-build-output",
    "build_output",
    is_flag=True,
    help="Also read _build/ and deps/ (build output and fetched dependencies are "
    "skipped by default).",
)
@click.option(
    "--include-ignored",
    "include_ignored",
    is_flag=True,
    help="Also read files git ignores (in a git work tree they are skipped by "
    "default; findings say whether a file is tracked, untracked or ignored).",
)
@click.option(
    "--max-size",
    "max_size",
    default="10M",
    show_default=True,
    metavar="SIZE",
    help="Skip (and report) files larger than SIZE.",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Accept the findings recorded in FILE; only new ones fail.",
)
@click.option(
    "--write-baseline",
    "write_baseline_path",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Record every current finding in FILE and exit 0.",
)
@click.option(
    "--min-severity",
    type=click.Choice(SEVERITY_CHOICES),
    default="low",
    show_default=True,
    help="Ignore findings below this severity.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Worker processes for large trees (0: one per CPU).",
)
@handle_errors
def scan(
    paths,
    staged,
    history,
    fmt,
    as_json,
    as_sarif,
    output,
    excludes,
    build_output,
    include_ignored,
    max_size,
    baseline_path,
    write_baseline_path,
    min_severity,
    jobs,
):
    """Find leaked and weak Erlang cookies in files, staged changes or git history.

    Looks in vm.args, .erlang.cookie and releases/COOKIE files, mix.exs and Elixir/Erlang
    code, shell/env/systemd files, Makefiles and CI files, Dockerfiles, Kubernetes
    manifests (env, ConfigMaps, Secrets), Helm values, docker-compose and fly.toml.
    References such as ${RELEASE_COOKIE}, System.fetch_env!, secretKeyRef and {{ .Values.x }}
    are fine and not reported. Each finding shows the cookie's fingerprint and audit verdict
    (weak or predictable cookies rank higher), never the cookie.

    In a tree, _build/ and deps/ are skipped, and so are files git ignores (see
    --include-build-output, --include-ignored); each finding says whether its file is
    tracked, untracked or ignored.

    Put `erlcookie:allow` in a comment on the line (or on the comment line just above) to
    accept one finding; use --write-baseline/--baseline to accept existing ones in bulk.

    Exit codes: 0 no new findings, 1 new findings, 2 usage error, 3 operational error
    (for example --staged outside a git repository).

    \b
    Examples:
      erlcookie scan                          # the current directory
      erlcookie scan --staged                 # in a pre-commit hook
      erlcookie scan --history --format sarif -o erlcookie.sarif
      erlcookie scan --write-baseline .erlcookie-baseline.json
      erlcookie scan --baseline .erlcookie-baseline.json
    """
    from erlcookie.findings.severity import Severity
    from erlcookie.scan import report as report_mod
    from erlcookie.scan.engine import ScanOptions
    from erlcookie.scan.engine import scan as run_scan

    fmt = pick_format(fmt, as_json=as_json, sarif=as_sarif)
    if staged and history:
        raise UsageError("--staged and --history are separate scans; run them one at a time")
    options = ScanOptions(
        excludes=excludes,
        max_size=parse_size(max_size),
        jobs=jobs,
        min_severity=Severity(min_severity),
        baseline=baseline_path,
        build_output=build_output,
        ignored=include_ignored,
    )
    report = run_scan(paths, options, "staged" if staged else "history" if history else "tree")

    if write_baseline_path:
        from erlcookie.scan import baseline as baseline_mod

        recorded = report.findings + report.accepted
        baseline_mod.write(write_baseline_path, recorded)
        click.echo(
            f"erlcookie: wrote {len(recorded)} finding(s) to {write_baseline_path}; "
            f"pass --baseline {write_baseline_path} to accept them",
            err=True,
        )

    if fmt == "text":
        _emit_text(report, report_mod, output)
    else:
        _write(render_findings(report, fmt), output)
        for warning in report.skip_warnings():
            click.echo(f"erlcookie: {safe_text(warning)}", err=True)
    if report.findings and not write_baseline_path:
        if fmt == "text" and output is None:
            click.echo(
                "next: fix them all at once where that is safe: erlcookie doctor --fix "
                "(or see each finding's fix: --format json)",
                err=True,
            )
        raise SystemExit(1)


def _write(text: str, output: str | None) -> None:
    if output:
        from erlcookie.cookie.files import write_text_preserving_mode

        write_text_preserving_mode(output, text)
    else:
        click.echo(text, nl=False)


def _emit_text(report, report_mod, output: str | None) -> None:
    if output is not None:  # capture the plain rendering (no terminal: no rich) for the file
        import contextlib
        import io

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            _emit_text(report, report_mod, None)
        _write(buffer.getvalue(), output)
        return
    rows = report_mod.text_rows(report)
    if rows:
        render_table(
            report_mod.text_columns(report),
            rows,
            title=f"erlcookie scan ({report.mode})" if stdout_is_tty() else None,
        )
        click.echo("")
    for line in report_mod.text_summary(report):
        click.echo(safe_text(line))  # paths in skip warnings come from the repository
