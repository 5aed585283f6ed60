"""`erlcookie fingerprint`."""

from __future__ import annotations

import click

from erlcookie.cli.common import cookie_options, emit_json, handle_errors, json_option, load_cookie
from erlcookie.cookie import fingerprint as fp_module


@click.command("fingerprint")
@cookie_options
@json_option
@handle_errors
def fingerprint_cmd(cookie_request, as_json):
    """Print the cookie's fingerprint (scrypt, fixed parameters), never the cookie.

    Two places hold the same cookie exactly when their fingerprints match. The memory-hard
    derivation keeps a fingerprint from being a shortcut for guessing a weak cookie.
    """
    cookie = load_cookie(cookie_request)
    fp = cookie.fingerprint()
    if as_json:
        emit_json(
            {
                "fingerprint": fp,
                "source": cookie.source,
                "algorithm": {
                    "kdf": "scrypt",
                    "n": fp_module.SCRYPT_N,
                    "r": fp_module.SCRYPT_R,
                    "p": fp_module.SCRYPT_P,
                    "salt": fp_module.SALT.decode(),
                    "bytes": fp_module.DKLEN,
                },
            }
        )
    else:
        click.echo(fp)
