"""`erlcookie release check` and `erlcookie release fix`.

Parsing and rendering only; the analysis and the edits live in `erlcookie.release`, which is
imported when a subcommand runs so that `erlcookie --help` stays fast.
"""

from __future__ import annotations

import sys

import click

from erlcookie.cli.common import (
    emit_json,
    format_option,
    handle_errors,
    json_option,
    pick_format,
    render_findings,
    safe_diff,
    safe_text,
)
from erlcookie.errors import EXIT_FINDINGS, EXIT_OK, EXIT_OPERATIONAL

SEVERITY_COLOURS = {"critical": "red", "high": "red", "medium": "yellow", "low": "cyan"}

rebar3_version_option = click.option(
    "--rebar3-version",
    metavar="VERSION",
    help="The rebar3 that builds the project (default: ./rebar3, .tool-versions, then rebar3 on PATH).",
)


@click.group("release")
def release():
    """Check and fix releases so they read their cookie from RELEASE_COOKIE.

    Understands rebar3/relx (vm.args, vm.args.src, the relx section of rebar.config) and mix
    (the :cookie option, rel/env.sh.eex, umbrellas, several releases). Cookie values are
    never printed: findings show the cookie's fingerprint and audit verdict.
    """


def _echo_finding(f, err: bool = False) -> None:
    from erlcookie.release.render import finding_line

    line = safe_text(finding_line(f))  # paths and messages come from the project
    head, _, rest = line.partition(f" {f.severity} ")
    click.echo(
        f"{head} "
        + click.style(f.severity, fg=SEVERITY_COLOURS[f.severity], bold=True)
        + f" {rest}",
        err=err,
    )
    click.echo(f"    fix: {safe_text(f.fix)}", err=err)


@release.command("check")
@click.argument("path", default=".", metavar="[PATH]")
@format_option
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--sarif", is_flag=True, help="Same as --format sarif (for code scanning UIs).")
@click.option(
    "--tls", is_flag=True, help="Also report a release that does not run TLS distribution."
)
@rebar3_version_option
@handle_errors
def check(path, fmt, as_json, sarif, tls, rebar3_version):
    """Report every place where a release does not take its cookie from RELEASE_COOKIE.

    Finds rebar3 and mix projects under PATH (default: the current directory). Each
    finding has a file, line, column, severity, stable rule id and the fix; json and sarif
    share their shape with `erlcookie scan`. Exit 0 when nothing is found, 1 on findings,
    2 on a bad PATH, 3 when a file cannot be parsed.
    """
    from erlcookie.release import FixOptions
    from erlcookie.release import check as run_check
    from erlcookie.release.render import summary

    fmt = pick_format(fmt, as_json=as_json, sarif=sarif)
    report = run_check(path, FixOptions(rebar3_version=rebar3_version, tls=tls))
    if fmt != "text":
        click.echo(render_findings(report, fmt), nl=False)
    else:
        for f in report.findings:
            _echo_finding(f)
        for error in report.errors:
            click.echo(f"erlcookie: error: {safe_text(error)}", err=True)
        click.echo(safe_text(summary(report)))
        if any(f.fixable for f in report.findings):
            click.echo(
                f"next: erlcookie release fix {safe_text(path)} --dry-run (then "
                "without --dry-run); or the whole project, Kubernetes too: "
                "erlcookie doctor --fix",
                err=True,
            )
    if report.errors:
        sys.exit(EXIT_OPERATIONAL)
    sys.exit(EXIT_FINDINGS if report.findings else EXIT_OK)


@release.command("fix")
@click.argument("path", default=".", metavar="[PATH]")
@click.option("--dry-run", is_flag=True, help="Show the diff; write nothing.")
@click.option(
    "--node-name",
    type=click.Choice(["pod-ip"]),
    help="Kubernetes: long node names <release>@${POD_IP} (RELEASE_DISTRIBUTION=name).",
)
@click.option(
    "--dist-port",
    type=click.IntRange(1, 65535),
    metavar="PORT",
    help="Pin the distribution port of start/daemon, so a NetworkPolicy can allow it.",
)
@click.option(
    "--tls",
    is_flag=True,
    help="Mutual TLS distribution: -proto_dist inet_tls, -ssl_dist_optfile and ssl in the "
    "release (see docs/tls.md).",
)
@click.option(
    "--optfile-path",
    metavar="PATH",
    help="With --tls: where the ssl_dist optfile is on the node "
    "(default /etc/erlang/tls/ssl_dist.conf).",
)
@rebar3_version_option
@json_option
@handle_errors
def fix(path, dry_run, node_name, dist_port, tls, optfile_path, rebar3_version, as_json):
    """Make the releases under PATH read their cookie from RELEASE_COOKIE.

    Prints a unified diff (cookie values replaced by fingerprints), then writes each file
    atomically unless --dry-run. rebar3: vm.args becomes vm.args.src with
    `-setcookie ${RELEASE_COOKIE}`, and a relx pre_start hook refuses to start without it.
    mix: the :cookie option goes and rel/env.sh.eex gets a guard so start and daemon fail
    fast without RELEASE_COOKIE. --tls adds mutual TLS distribution (mix: ERL_FLAGS in
    env.sh.eex, for remote and rpc too, and :ssl; relx: vm.args.src and ssl, but relx's own
    ping/rpc/stop cannot reach a TLS node). Running it again changes nothing. A file it cannot parse
    stops everything before any write (exit 3). Exit 1 when findings remain that need a
    human (committed cookie files, literal cookies in code), else 0.
    """
    from erlcookie.distribution.epmd import EPMD_PORT
    from erlcookie.errors import OperationalError, UsageError
    from erlcookie.release import FixOptions, ReleaseParseError, apply, check, diff, plan_fix
    from erlcookie.release.model import finding_json

    if dist_port == EPMD_PORT:
        raise UsageError(f"--dist-port {EPMD_PORT} is EPMD's port; pick another one")
    if optfile_path is not None:
        if not tls:
            raise UsageError("--optfile-path goes with --tls")
        from erlcookie.release.buildtool import check_optfile_path

        check_optfile_path(optfile_path)
    options = FixOptions(
        node_name=node_name,
        dist_port=dist_port,
        rebar3_version=rebar3_version,
        tls=tls,
        optfile_path=optfile_path,
    )
    try:
        fix_plan, _ = plan_fix(path, options)
    except ReleaseParseError as exc:
        raise OperationalError(f"{exc}; nothing was changed") from None
    diffs = [diff(change) for change in fix_plan.changes]
    written: list[str] = []
    still: list = []
    if fix_plan.changes and not dry_run:
        written = apply(fix_plan)
        # Trust, but verify: nothing fixable may be left behind.
        still = [f for f in check(path, options).findings if f.fixable]
    if as_json:
        emit_json(
            {
                "path": str(fix_plan.root),
                "dry_run": dry_run,
                "written": bool(written),
                "changes": [
                    {
                        "action": c.action,
                        "path": c.path,
                        "old_path": c.old_path,
                        "reason": c.reason,
                        "diff": d,
                    }
                    for c, d in zip(fix_plan.changes, diffs)
                ],
                "remaining": [finding_json(f) for f in fix_plan.remaining + still],
                "notes": fix_plan.notes,
            }
        )
    else:
        for change, text in zip(fix_plan.changes, diffs):
            what = (
                f"{change.old_path} -> {change.path}" if change.action == "rename" else change.path
            )
            click.echo(safe_text(f"# {change.action} {what}: {change.reason}"))
            for name in {change.path, change.old_path} - {None}:
                text = text.replace(name, safe_text(name))  # a newline in a header path
            click.echo(safe_diff(text), nl=False)
        for note in fix_plan.notes:
            click.echo(f"note: {safe_text(note)}", err=True)
        if not fix_plan.changes:
            click.echo("nothing to change automatically", err=True)
        elif dry_run:
            click.echo(
                f"dry run: {len(fix_plan.changes)} file(s) would change; nothing written", err=True
            )
        else:
            click.echo(f"wrote {len(written)} file change(s)", err=True)
            click.echo(
                "next: rebuild the release and give it RELEASE_COOKIE when it starts "
                "(on Kubernetes from a Secret: erlcookie k8s secret, then erlcookie "
                "k8s inject)",
                err=True,
            )
        if fix_plan.remaining or still:
            click.echo("still needs a human:", err=True)
            for f in fix_plan.remaining + still:
                _echo_finding(f, err=True)
    sys.exit(EXIT_FINDINGS if (fix_plan.remaining or still) else EXIT_OK)
