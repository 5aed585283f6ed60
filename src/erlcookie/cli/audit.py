"""`erlcookie audit`."""

from __future__ import annotations

import click

from erlcookie.cli.common import cookie_options, emit_json, handle_errors, json_option, load_cookie
from erlcookie.errors import EXIT_FINDINGS, EXIT_OK


@click.command()
@cookie_options
@click.option(
    "--reveal",
    is_flag=True,
    help="Also print the recovered OTP generator seed of a predictable cookie "
    "(it regenerates the cookie, so it is as secret as the cookie).",
)
@json_option
@handle_errors
def audit(cookie_request, reveal, as_json):
    """Judge a cookie: ok, weak, predictable or invalid; exit 1 unless ok.

    Reports strength in bits, known weak and template values, characters that break
    shells, vm.args and .env files, and whether OTP's own 36-bit generator made it (the
    generator state is recovered and proven by regenerating the exact cookie). The cookie
    itself is never shown.

    \b
    Examples:
      erlcookie audit                          # $RELEASE_COOKIE, else ~/.erlang.cookie
      erlcookie audit --cookie-file ~/.erlang.cookie --json
      kubectl get secret erlang-cookie -o jsonpath='{.data.cookie}' | base64 -d \\
        | erlcookie audit --cookie-file -
    """
    from erlcookie.audit import audit_cookie

    cookie = load_cookie(cookie_request)
    result = audit_cookie(cookie, path=cookie.path)
    fp = cookie.fingerprint()
    if as_json:
        emit_json(
            {"source": cookie.source, "fingerprint": fp, **result.to_dict(reveal_state=reveal)}
        )
    else:
        click.echo(f"{result.verdict.upper()}  {cookie.source}  {fp}")
        click.echo(
            f"  strength: {result.bits:g} bits ({result.length} chars, alphabet {result.alphabet})"
        )
        for reason in result.reasons:
            click.echo(f"  - [{reason.verdict}] {reason.code}: {reason.message}")
        if result.generator is not None:
            if reveal:
                click.echo(
                    f"  generator seed: {result.generator.seed} "
                    f"(0x{result.generator.seed:09x}); regenerates the cookie exactly"
                )
            else:
                click.echo("  generator state recovered and verified (--reveal prints it)")
        if not result.ok:
            click.echo(
                "next: replace it with a strong one: erlcookie generate; on a live "
                "cluster change it with erlcookie rotate (no failed connection)",
                err=True,
            )
    raise SystemExit(EXIT_OK if result.ok else EXIT_FINDINGS)
