"""`erlcookie doctor [PATH] [--fix]`: parse options, call erlcookie.doctor, render."""

from __future__ import annotations

import sys
import textwrap

import click

from erlcookie.cli.common import (
    format_option,
    handle_errors,
    render_findings,
    safe_diff,
    safe_text,
    stdout_is_tty,
)
from erlcookie.errors import EXIT_FINDINGS, EXIT_OK, EXIT_OPERATIONAL, UsageError

WIDTH = 80
SEVERITY_COLOURS = {"critical": "red", "high": "red", "medium": "yellow", "low": "cyan"}


@click.command("doctor")
@click.argument("path", default=".", metavar="[PATH]")
@format_option
@click.option(
    "--fix",
    "do_fix",
    is_flag=True,
    help="Apply every fix that is safe offline (release fix, k8s inject, cookie keys "
    "out of ConfigMaps, cookies moved out of the tree), after showing the diff.",
)
@click.option("--dry-run", is_flag=True, help="With --fix: show the diff, change nothing.")
@click.option("-y", "--yes", is_flag=True, help="With --fix: apply without asking.")
@click.option(
    "--secret-dir",
    metavar="DIR",
    help="With --fix: where Secret manifests and moved cookie files go (outside the "
    "project, or a directory git ignores; default PATH/.erlcookie, made ignored).",
)
@click.option(
    "--apply",
    "to_cluster",
    is_flag=True,
    help="With --fix: create the Secret in the cluster (kubeconfig) instead of "
    "writing its manifest.",
)
@click.option("--secret", default="erlang-cookie", show_default=True, help="Secret name.")
@click.option("--key", default="cookie", show_default=True, help="Key in the Secret.")
@click.option(
    "--env",
    "envs",
    multiple=True,
    metavar="VAR",
    help="Variable the workloads read the cookie from (default RELEASE_COOKIE; "
    "repeatable). Cookie-like keys poured in through envFrom are found anyway.",
)
@click.option(
    "--rebar3-version",
    metavar="VERSION",
    help="The rebar3 that builds the project (see `release check`).",
)
@click.option(
    "-n",
    "--namespace",
    metavar="NS",
    help="With --apply: the namespace of manifests that name none.",
)
@click.option("--context", metavar="NAME", help="With --apply: kubeconfig context.")
@click.option("--kubeconfig", metavar="PATH", help="With --apply: kubeconfig file.")
@handle_errors
def doctor(
    path,
    fmt,
    do_fix,
    dry_run,
    yes,
    secret_dir,
    to_cluster,
    secret,
    key,
    envs,
    rebar3_version,
    namespace,
    context,
    kubeconfig,
):
    """Diagnose a whole project in one run, and fix what is safe offline (--fix).

    Looks at the release configuration (everything `release check` finds), the Kubernetes
    manifests (everything `k8s inject --check` finds, plus cookies poured into pods through
    envFrom), leaked and weak cookies (`scan`, without build output and git-ignored
    files), and committed Secret manifests. Each problem is told once, grouped, with its
    fix; the report ends with what to do next, in an order that does not split a running
    cluster (adopt the running cookie into the Secret, roll out, then rotate).

    \b
    --fix shows the diff first and asks on a terminal (--yes to skip, --dry-run to only
    look). It never leaves a cookie in a file git would commit: the cookie the pods run
    today goes into a Secret manifest under PATH/.erlcookie (ignored by git), --secret-dir
    DIR, or the cluster (--apply).

    \b
    Exit: 0 nothing to do; 1 problems (left); 2 usage; 3 something could not be checked
    or written.
    """
    from erlcookie.doctor import DoctorOptions, diagnose
    from erlcookie.k8s.manifests import check_env_name, check_object_name, check_secret_key

    if not do_fix and (dry_run or yes or secret_dir or to_cluster):
        raise UsageError("--dry-run, --yes, --secret-dir and --apply go with --fix")
    if to_cluster and secret_dir:
        raise UsageError("--apply and --secret-dir are two places for the Secret; pick one")
    if not to_cluster and (namespace or context or kubeconfig):
        raise UsageError("-n, --context and --kubeconfig go with --fix --apply")
    check_object_name(secret, "Secret name")
    check_secret_key(key)
    for var in envs:
        check_env_name(var)
    options = DoctorOptions(
        secret=secret,
        key=key,
        envs=tuple(dict.fromkeys(envs)) or ("RELEASE_COOKIE",),
        rebar3_version=rebar3_version,
    )
    diagnosis = diagnose(path, options)
    if not do_fix:
        _report(diagnosis, fmt)
        sys.exit(_exit_code(diagnosis))
    if diagnosis.errors:
        _report(diagnosis, fmt)
        click.echo("erlcookie: error: some files could not be read, so nothing was fixed", err=True)
        sys.exit(EXIT_OPERATIONAL)
    from erlcookie.doctor import fix as fixer

    plan = fixer.plan(diagnosis, secret_dir=secret_dir, to_cluster=to_cluster)
    if plan.empty:
        click.echo("nothing that doctor --fix can change offline", err=True)
        _report(diagnosis, fmt)
        sys.exit(_exit_code(diagnosis))
    out = sys.stdout if fmt == "text" else sys.stderr
    for header, text in plan.diffs():
        click.echo(safe_text(f"# {header}"), file=out)
        click.echo(safe_diff(text), nl=False, file=out)
    for note in plan.notes:
        click.echo(f"note: {safe_text(note)}", err=True)
    if dry_run:
        click.echo(f"dry run: {len(plan.diffs())} change(s) planned; nothing written", err=True)
        sys.exit(_exit_code(diagnosis))
    if not yes:
        if not (sys.stdin.isatty() and stdout_is_tty()):
            raise UsageError(
                "not a terminal: pass --yes to apply the changes above "
                "(or --dry-run to only show them)"
            )
        if not click.confirm("Apply these changes?", default=False, err=True):
            click.echo("nothing written", err=True)
            sys.exit(_exit_code(diagnosis))

    def connect(ns):
        from erlcookie.k8s.api import KubeApi

        return KubeApi.connect(
            kubeconfig=kubeconfig,
            context=context,
            namespace=ns or namespace,
            in_cluster=None,
            timeout=15.0,
        )

    done = fixer.apply(plan, connect=connect)
    for line in done:
        click.echo(safe_text(line), err=True)
    after = diagnose(path, options)
    # the migration is not over when the tree is clean: the Secret, the rollout, rotate
    after.next_steps = plan.next_steps(diagnosis.state.k8s.apps, secret) + after.next_steps
    if fmt == "text":
        click.echo(f"\nafter doctor --fix: {len(after.items)} problem place(s) left", err=True)
    _report(after, fmt, applied=done)
    sys.exit(_exit_code(after))


def _exit_code(diagnosis) -> int:
    if diagnosis.errors:
        return EXIT_OPERATIONAL
    return EXIT_FINDINGS if diagnosis.items else EXIT_OK


def _report(diagnosis, fmt: str, applied: list[str] | None = None) -> None:
    if fmt == "json":
        import json

        data = diagnosis.to_json()
        if applied is not None:
            data["applied"] = applied
        click.echo(json.dumps(data, indent=2, default=str))
        return
    if fmt != "text":
        click.echo(render_findings(diagnosis, fmt), nl=False)
        return
    for line in render_text(diagnosis, colour=stdout_is_tty()):
        click.echo(line)


def _wrap(text: str, indent: str, first: str | None = None) -> list[str]:
    """Wrapped at 80 columns on spaces only: a path:line or a fingerprint is never cut."""
    return textwrap.wrap(
        safe_text(text),
        WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def render_text(diagnosis, colour: bool = False) -> list[str]:
    """The report as lines of at most 80 columns (a single unbreakable token may exceed it)."""
    from erlcookie.doctor.model import AREAS

    lines = _wrap(f"erlcookie doctor {diagnosis.root}", "  ", "")
    names = {"release": AREAS["release"], "k8s": AREAS["k8s"], "scan": AREAS["scan"]}
    for area, what in diagnosis.checked.items():
        lines += _wrap(f"{names.get(area, area)}: {what}", "    ", "  ")
    lines.append("")
    problems = diagnosis.problems()
    if not problems:
        lines.append(
            "No cookie problems found in the files."
            if diagnosis.next_steps
            else "No cookie problems found: nothing to do."
        )
    else:
        counts = ", ".join(f"{n} {s}" for s, n in diagnosis.counts().items() if n)
        fixable = sum(i.doctor_fix for i in diagnosis.items)
        lines += _wrap(
            f"{len(problems)} problem(s) in {len(diagnosis.items)} place(s) "
            f"({counts}); doctor --fix fixes {fixable} of them offline.",
            "",
        )
    for number, problem in enumerate(problems, 1):
        lines.append("")
        severity = str(problem.severity).upper()
        if colour:
            severity = click.style(severity, fg=SEVERITY_COLOURS[str(problem.severity)], bold=True)
        head = f"{number}. {severity} {safe_text(problem.rule.short.rstrip('.'))}"
        lines += textwrap.wrap(
            head, WIDTH, subsequent_indent="   ", break_long_words=False, break_on_hyphens=False
        )
        also = sorted({a for i in problem.items for a in i.also})
        tag = (
            "doctor --fix"
            if problem.doctor_fix
            else "partly doctor --fix"
            if any(i.doctor_fix for i in problem.items)
            else "by hand"
        )
        lines += _wrap(
            f"{problem.rule.id}"
            + (f" (also {', '.join(also)})" if also else "")
            + f"; {problem.area}; {tag}",
            "   ",
            "   ",
        )
        for item in problem.items:
            f = item.finding
            facts = [x for x in (f.fingerprint, f.verdict, f.git) if x]
            location = f"   - {safe_text(f.path)}:{f.line}"  # never wrapped, never cut
            tail = f"  {' '.join(facts)}" if facts else ""
            if len(location) + len(tail) <= WIDTH:
                lines.append(location + tail)
            else:  # a long path: the fingerprint and the rest go on the next line, whole
                lines += [location] + ([f"     {' '.join(facts)}"] if facts else [])
            if f.detail or f.key:
                lines += _wrap(f.detail or f"key {f.key}", "     ")
        lines += _wrap(f"fix: {problem.rule.help}", "     ", "   ")
    for note in diagnosis.notes:
        lines += _wrap(f"note: {note}", "  ", "")
    for error in diagnosis.errors:
        lines += _wrap(f"error: {error}", "  ", "")
    if diagnosis.next_steps:
        lines += ["", "What to do next, in this order:"]
        for number, step in enumerate(diagnosis.next_steps, 1):
            lines += _wrap(step, "    ", f"{number:>2}. ")
    return lines
