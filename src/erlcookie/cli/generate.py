"""`erlcookie generate`."""

from __future__ import annotations

import shlex

import click

from erlcookie.cli.common import emit_json, handle_errors, json_option
from erlcookie.cookie.files import atomic_write
from erlcookie.cookie.generate import DEFAULT_STYLE, STYLES
from erlcookie.cookie.generate import generate as make_cookie
from erlcookie.errors import UsageError


@click.command()
@click.option(
    "--style",
    type=click.Choice(list(STYLES)),
    default=DEFAULT_STYLE,
    show_default=True,
    help="elixir: URL-safe base64 of 40 bytes (320 bits); erlang: 20 letters A-Z; "
    "base32: like mix release; hex.",
)
@click.option(
    "--bytes",
    "nbytes",
    type=click.IntRange(1),
    metavar="N",
    help="Random bytes for elixir/base32/hex styles.",
)
@click.option("--length", type=click.IntRange(1), metavar="N", help="Letters for the erlang style.")
@click.option(
    "--write",
    "write_path",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Write to PATH (mode 0400, atomically) and print only the fingerprint.",
)
@click.option("--force", is_flag=True, help="With --write: replace an existing file.")
@json_option
@handle_errors
def generate(style, nbytes, length, write_path, force, as_json):
    """Generate a cookie from the OS CSPRNG.

    Without --write the cookie itself is printed (that output is the secret). The default
    style has 320 bits and only [A-Za-z0-9_-]: safe unquoted in shells, vm.args, YAML, .env
    files and as an Erlang atom.

    \b
    Examples:
      erlcookie generate --write ~/.erlang.cookie
      kubectl create secret generic erlang-cookie --from-file=cookie=<(erlcookie generate)
    """
    if style == "erlang" and nbytes is not None:
        raise UsageError("--bytes applies to byte styles; use --length with --style erlang")
    if style != "erlang" and length is not None:
        raise UsageError("--length applies to --style erlang; use --bytes for other styles")
    size = length if style == "erlang" else nbytes
    cookie = make_cookie(style, size=size)
    if write_path is None:
        if as_json:
            raise UsageError("--json reports on a written cookie; use it with --write")
        click.echo(cookie.reveal())
        return
    written = atomic_write(write_path, cookie.reveal(), mode=0o400, overwrite=force)
    from erlcookie.audit.checks import audit_cookie

    # audit's own figure: the strength estimate, lowered when a short value happens to be
    # guessable (zxcvbn), so `generate` and `audit` always agree on one cookie
    bits = audit_cookie(cookie).bits
    fp = cookie.fingerprint()
    if as_json:
        emit_json(
            {"path": str(written), "mode": "0400", "style": style, "bits": bits, "fingerprint": fp}
        )
    else:
        click.echo(f"wrote {written} (mode 0400, {style}, {bits} bits), fingerprint {fp}")
        click.echo(
            "next: give it to the nodes (RELEASE_COOKIE, or the file as "
            "~/.erlang.cookie), or to Kubernetes: erlcookie k8s secret --cookie-file "
            f"{shlex.quote(str(written))} --apply",
            err=True,
        )
