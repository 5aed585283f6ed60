"""Mutual TLS for Erlang distribution: a cluster CA, node certificates, the optfile.

`pki` makes and reads certificates (with `cryptography`), `store` keeps them in a
directory (`ca.pem`/`ca.key`, `NAME.pem`/`NAME.key`, keys 0600), `optfile` renders OTP's
`-ssl_dist_optfile`, and `status` says what expires when. No function here prints a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erlcookie._exports import lazy_exports

if TYPE_CHECKING:
    from erlcookie.tls.optfile import render as render_optfile
    from erlcookie.tls.status import inspect
    from erlcookie.tls.store import init_ca, issue_node

_HOMES: dict[str, str | tuple[str, str]] = {
    "init_ca": "store",
    "issue_node": "store",
    "render_optfile": ("optfile", "render"),
    "inspect": "status",
}
__all__ = sorted(_HOMES)
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
