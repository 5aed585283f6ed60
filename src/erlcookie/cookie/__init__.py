"""Cookies: the secret value type, generation, fingerprints, strength, files and sources.

What a program may use is in `__all__`. Everything but `Cookie` is loaded on first use, so
importing one submodule (as the CLI does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
_LAZY: dict[str, tuple[str, str]] = {
    "DEFAULT_STYLE": ("erlcookie.cookie.generate", "DEFAULT_STYLE"),
    "STYLES": ("erlcookie.cookie.generate", "STYLES"),
    "generate_cookie": ("erlcookie.cookie.generate", "generate"),
    "atomic_write": ("erlcookie.cookie.files", "atomic_write"),
    "CookieRequest": ("erlcookie.cookie.resolve", "CookieRequest"),
    "read_cookie_file": ("erlcookie.cookie.resolve", "read_cookie_file"),
    "resolve_cookie": ("erlcookie.cookie.resolve", "resolve_cookie"),
    "Strength": ("erlcookie.cookie.strength", "Strength"),
    "estimate_strength": ("erlcookie.cookie.strength", "estimate_strength"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), attribute)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
