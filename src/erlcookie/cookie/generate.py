"""Strong cookies from the OS CSPRNG (`secrets`), in the shapes people deploy.

Every style's output is made of `[A-Za-z0-9_-]` (plus `=`-free base32), so it is safe
unquoted in shells, vm.args, YAML, .env files, and as an Erlang atom (<= 255 chars).
"""

from __future__ import annotations

import base64
import math
import secrets
import string
from dataclasses import dataclass

from erlcookie.cookie.value import MAX_ATOM_LENGTH, Cookie
from erlcookie.errors import UsageError

UPPER = string.ascii_uppercase


@dataclass(frozen=True)
class Style:
    name: str
    description: str
    unit: str  # "bytes" or "length": what the size knob scales
    default_size: int


STYLES: dict[str, Style] = {
    "elixir": Style(
        "elixir",
        "URL-safe base64 of random bytes, no padding "
        "(Base.url_encode64(:crypto.strong_rand_bytes(40)))",
        "bytes",
        40,
    ),
    "erlang": Style(
        "erlang", "letters A-Z, OTP's own alphabet, but cryptographically random", "length", 20
    ),
    "base32": Style(
        "base32", "base32 of random bytes without padding (what mix release writes)", "bytes", 32
    ),
    "hex": Style("hex", "lowercase hex of random bytes", "bytes", 32),
}
DEFAULT_STYLE = "elixir"


def _encoded_length(style: str, size: int) -> int:
    if style == "erlang":
        return size
    if style == "elixir":
        return math.ceil(size * 4 / 3)
    if style == "base32":
        return math.ceil(size * 8 / 5)
    return size * 2


def generate(style: str = DEFAULT_STYLE, *, size: int | None = None) -> Cookie:
    """A new cookie. `size` is bytes for byte styles, letters for `erlang`."""
    if style not in STYLES:
        raise UsageError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    size = STYLES[style].default_size if size is None else size
    if size < 1:
        raise UsageError("size must be positive")
    if _encoded_length(style, size) > MAX_ATOM_LENGTH:
        raise UsageError(
            f"a {style} cookie of size {size} would exceed {MAX_ATOM_LENGTH} "
            "characters, the limit of an Erlang atom"
        )
    if style == "erlang":
        value = "".join(secrets.choice(UPPER) for _ in range(size))
    elif style == "elixir":
        value = "-"
        while value.startswith("-"):  # erl takes a leading '-' for a flag (audit: leading-dash)
            value = base64.urlsafe_b64encode(secrets.token_bytes(size)).decode().rstrip("=")
    elif style == "base32":
        value = base64.b32encode(secrets.token_bytes(size)).decode().rstrip("=")
    else:
        value = secrets.token_hex(size)
    return Cookie(value, source=f"generated ({style})")
