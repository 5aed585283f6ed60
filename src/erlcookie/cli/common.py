"""Shared CLI plumbing: cookie options, --json, rendering, and error-to-exit-code mapping.

Rich is imported only when stdout/stderr is a terminal; machine output (JSON, SARIF) goes
to stdout plain and unstyled.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from erlcookie.cookie.resolve import CookieRequest, resolve_cookie
from erlcookie.cookie.value import Cookie
from erlcookie.errors import ErlcookieError


def handle_errors(func: Callable) -> Callable:
    """Turn ErlcookieError into a one-line message and its exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ErlcookieError as exc:
            click.echo(f"erlcookie: error: {safe_text(exc)}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def cookie_source_options(default: str) -> Callable[[Callable], Callable]:
    """The resolver's options; `default` says, in the help, what happens when none is given
    (a command that generates a cookie must not claim it reads RELEASE_COOKIE)."""

    def decorate(func: Callable) -> Callable:
        @click.option(
            "--cookie-file",
            "cookie_file",
            metavar="PATH",
            help="Read the cookie from PATH ('-' reads one line from stdin).",
        )
        @click.option(
            "--cookie-env",
            "cookie_env",
            metavar="VAR",
            help=f"Read the cookie from environment variable VAR (default when no "
            f"source is given: {default}).",
        )
        @click.option(
            "--release",
            "cookie_release",
            metavar="DIR",
            help="Read a built mix release's releases/COOKIE.",
        )
        @click.option(
            "--cookie",
            "cookie_value",
            metavar="VALUE",
            help="The cookie itself (discouraged: visible in ps and shell history).",
        )
        @functools.wraps(func)
        def wrapper(*args, cookie_file, cookie_env, cookie_release, cookie_value, **kwargs):
            kwargs["cookie_request"] = CookieRequest(
                file=cookie_file, env=cookie_env, release=cookie_release, value=cookie_value
            )
            return func(*args, **kwargs)

        return wrapper

    return decorate


# Add the resolver's options; the command receives `cookie_request: CookieRequest`.
cookie_options = cookie_source_options("RELEASE_COOKIE, then ~/.erlang.cookie")


def load_cookie(request: CookieRequest, *, deadline: float | None = None) -> Cookie:
    """The command's cookie; pipes are read under `deadline` (the command's --timeout)."""
    extra = {} if deadline is None else {"deadline": deadline}
    return resolve_cookie(request, warn=lambda msg: click.echo(msg, err=True), **extra)


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout."
)

# The report formats of every command that reports findings (erlcookie.findings.formats).
FORMAT_NAMES = ("text", "json", "sarif")
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_NAMES),
    default="text",
    show_default=True,
    help="Report format; json and sarif are plain on stdout.",
)


def pick_format(fmt: str, *, as_json: bool = False, sarif: bool = False) -> str:
    """--format, with the older --json and --sarif flags as aliases (conflicts are usage errors)."""
    from erlcookie.errors import UsageError

    chosen = [name for name, on in (("json", as_json), ("sarif", sarif)) if on]
    if len(chosen) > 1:
        raise UsageError("--json conflicts with --sarif; pick one")
    if chosen:
        if fmt != "text" and fmt != chosen[0]:
            raise UsageError(f"--{chosen[0]} conflicts with --format {fmt}; pick one")
        return chosen[0]
    return fmt


def render_findings(report: Any, fmt: str) -> str:
    """A findings report (erlcookie.findings.formats.FindingsReport) as json or sarif text."""
    from erlcookie.findings.formats import FORMATS

    return FORMATS[fmt].format(report)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def console(stderr: bool = False):
    """A rich Console (imported lazily: rich costs start-up time)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# C0 controls (tab included: it breaks columns), DEL, C1 controls, and the Unicode line and
# paragraph separators and bidi overrides that can forge or hide rows on a terminal.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe_text(text: object) -> str:
    """Text from outside (peers, repositories, API servers) made safe for a terminal line.

    Control characters become visible escapes (`\\x1b`, `\\n`), so an ESC or OSC sequence
    in a node or file name cannot retitle a window or erase rows, and a newline cannot forge
    a row. Pair with `markup_safe` before handing the text to rich.
    """
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


# In a diff a tab is content and a CRLF ending is the file's own: keep both, escape the rest.
_UNSAFE_IN_DIFF = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\r(?!\n)"
)


def safe_diff(text: str) -> str:
    """A unified diff of repository files made safe for a terminal, line structure kept."""
    return _UNSAFE_IN_DIFF.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def markup_safe(text: object) -> str:
    """`safe_text` plus rich markup escaping (`[link=...]` stays literal text)."""
    from rich.markup import escape

    return escape(safe_text(text))


def render_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> None:
    """A rich table on a terminal, aligned plain text otherwise."""
    rows = [["" if cell is None else safe_text(cell) for cell in row] for row in rows]
    if stdout_is_tty():
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=None if title is None else escape(safe_text(title)))
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        console().print(table)
        return
    if title:
        click.echo(safe_text(title))
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
