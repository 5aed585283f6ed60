"""Fingerprints: compare cookies across pods and environments without revealing them.

A plain hash of a weak cookie would be cheaper to invert than attacking a handshake, so the
fingerprint is scrypt with fixed parameters and a domain-separation salt. Changing any of
these constants changes every fingerprint ever shown: bump the version prefix if you do.

    fp1: scrypt(cookie, salt=b"erlcookie/fingerprint/v1", N=2**14, r=8, p=1, dklen=8), hex
"""

from __future__ import annotations

import functools
import hashlib
from typing import Protocol

__all__ = ["PREFIX", "fingerprint", "fingerprint_bytes"]

PREFIX = "fp1:"
SALT = b"erlcookie/fingerprint/v1"
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
DKLEN = 8


class _Secret(Protocol):
    """Anything that hands over its secret bytes on request (a Cookie).

    Typed structurally so this module needs nothing from value.py, which imports it.
    """

    def as_bytes(self) -> bytes: ...


@functools.lru_cache(maxsize=4096)
def fingerprint_bytes(secret: bytes) -> str:
    """The fingerprint of raw cookie bytes."""
    digest = hashlib.scrypt(
        secret, salt=SALT, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=DKLEN, maxmem=64 * 1024 * 1024
    )
    return PREFIX + digest.hex()


def fingerprint(cookie: _Secret | str) -> str:
    """The fingerprint shown everywhere in place of a cookie, e.g. ``fp1:3f9c0a1b2c3d4e5f``.

    Text is taken as UTF-8; bytes that were not UTF-8 when read (surrogate escapes) count as
    the bytes they were, as in `Cookie.as_bytes`.
    """
    if isinstance(cookie, str):
        return fingerprint_bytes(cookie.encode("utf-8", "surrogateescape"))
    return fingerprint_bytes(cookie.as_bytes())
