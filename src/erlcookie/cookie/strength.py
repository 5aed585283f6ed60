"""One estimate of a cookie's strength in bits, shared by `generate` and `audit`.

The estimate reads only the text: the alphabet is the character groups the cookie actually
draws from (never a named alphabet with characters it lacks), each character is worth
log2 of that alphabet, and text over an encoding alphabet (hex, base32, base64url) is worth
no more than the whole bytes it could encode. Low-entropy shapes (repetition, very few
distinct characters) cap it. For every style `generate` makes, at its default size, this
gives the style's true entropy (320, 256, 256 and 94 bits).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

__all__ = ["Strength", "estimate_strength"]

_HEX = frozenset("0123456789abcdef")
_HEX_UPPER = frozenset("0123456789ABCDEF")
_BASE32 = frozenset(string.ascii_uppercase + "234567")
_BASE64URL = frozenset(string.ascii_letters + string.digits + "-_")
_GROUPS = (
    ("a-z", frozenset(string.ascii_lowercase)),
    ("A-Z", frozenset(string.ascii_uppercase)),
    ("0-9", frozenset(string.digits)),
    ("-_", frozenset("-_")),
)
_MIN_SYMBOLS = 32  # symbols are counted as if drawn from printable punctuation at least


@dataclass(frozen=True)
class Strength:
    """Estimated bits, and the alphabet (name and size) they were counted over."""

    bits: float
    alphabet: str
    alphabet_size: int


def _alphabet(chars: set[str]) -> tuple[str, int, int | None]:
    """Name, size and bits per character of the encoding (if any) the characters fit."""
    digits = chars & set(string.digits)
    letters = chars - digits
    if digits and letters and (chars <= _HEX or chars <= _HEX_UPPER):
        return "hex", 16, 4
    if letters and chars <= set(string.ascii_uppercase):
        return "A-Z", 26, None
    if digits and letters and chars <= _BASE32:
        return "base32", 32, 5
    size, parts = 0, []
    for name, group in _GROUPS:
        if chars & group:
            size += len(group)
            parts.append(name)
    other = chars - _BASE64URL
    if other:
        size += max(len(other), _MIN_SYMBOLS)
        parts.append("symbols")
    return "+".join(parts), size, (6 if chars <= _BASE64URL else None)


def _pattern_cap(value: str, alphabet_size: int) -> float | None:
    """Bits implied by a low-entropy shape (repetition, few distinct symbols), if any."""
    n = len(value)
    for unit in range(1, n // 2 + 1):
        if n % unit == 0 and value[:unit] * (n // unit) == value:
            return unit * math.log2(max(len(set(value)), 2))
    distinct = len(set(value))
    # Far fewer distinct symbols than a random string of this length and alphabet would
    # show (random ones use nearly all of min(n, alphabet)): the alphabet is not what it seems.
    if n >= 8 and distinct * 3 <= min(n, alphabet_size):
        return n * math.log2(max(distinct, 2))
    return None


def estimate_strength(value: str) -> Strength:
    """The strength of a cookie, rounded to 0.1 bit."""
    if not value:
        return Strength(0.0, "empty", 0)
    name, size, encoding_bits = _alphabet(set(value))
    bits = len(value) * math.log2(size) if size > 1 else 0.0
    if encoding_bits is not None:  # whole bytes: a 54-character base64url holds 40 bytes
        bits = min(bits, float(len(value) * encoding_bits // 8 * 8))
    cap = _pattern_cap(value, size)
    if cap is not None:
        bits = min(bits, cap)
    return Strength(round(bits, 1), name, size)
