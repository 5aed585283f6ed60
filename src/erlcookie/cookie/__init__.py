"""Cookies: the secret value type, generation, fingerprints, strength, files and sources.

What a program may use is in `__all__`. Everything but `Cookie` is loaded on first use, so
importing one submodule (as the CLI does) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erlcookie._exports import lazy_exports
from erlcookie.cookie.value import MAX_ATOM_LENGTH, Cookie

if TYPE_CHECKING:
    from erlcookie.cookie.files import atomic_write
    from erlcookie.cookie.generate import DEFAULT_STYLE, STYLES
    from erlcookie.cookie.generate import generate as generate_cookie
    from erlcookie.cookie.resolve import CookieRequest, read_cookie_file, resolve_cookie
    from erlcookie.cookie.strength import Strength, estimate_strength

__all__ = [
    "DEFAULT_STYLE",
    "MAX_ATOM_LENGTH",
    "STYLES",
    "Cookie",
    "CookieRequest",
    "Strength",
    "atomic_write",
    "estimate_strength",
    "generate_cookie",
    "read_cookie_file",
    "resolve_cookie",
]

# exported name -> (module, name there). `generate` and `fingerprint` are submodules, so the
# function that makes a cookie is exported as `generate_cookie`; fingerprints come from
# `Cookie.fingerprint()` (or erlcookie.cookie.fingerprint.fingerprint for text).
_HOMES: dict[str, str | tuple[str, str]] = {
    "DEFAULT_STYLE": ("generate", "DEFAULT_STYLE"),
    "STYLES": ("generate", "STYLES"),
    "generate_cookie": ("generate", "generate"),
    "atomic_write": ("files", "atomic_write"),
    "CookieRequest": ("resolve", "CookieRequest"),
    "read_cookie_file": ("resolve", "read_cookie_file"),
    "resolve_cookie": ("resolve", "resolve_cookie"),
    "Strength": ("strength", "Strength"),
    "estimate_strength": ("strength", "estimate_strength"),
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
