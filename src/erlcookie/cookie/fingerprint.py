"""Fingerprints: compare cookies across pods and environments without revealing them.

A plain hash of a weak cookie would be cheaper to invert than attacking a handshake, so the
fingerprint is scrypt with fixed parameters and a domain-separation salt. Changing any of
these constants changes every fingerprint ever shown: bump the version prefix if you do.

    fp1: scrypt(cookie, salt=b"erlcookie/fingerprint/v1", N=2**14, r=8, p=1, dklen=8), hex
"""

from __future__ import annotations

import functools
import hashlib

from erlcookie.cookie.value import Cookie

PREFIX = "fp1:"
SALT = b"erlcookie/fingerprint/v1"
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
DKLEN = 8


@functools.lru_cache(maxsize=4096)
def _fingerprint_bytes(secret: bytes) -> str:
    digest = hashlib.scrypt(
        secret, salt=SALT, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=DKLEN, maxmem=64 * 1024 * 1024
    )
    return PREFIX + digest.hex()


def fingerprint(cookie: Cookie | str) -> str:
    """The fingerprint shown everywhere in place of a cookie, e.g. ``fp1:3f9c0a1b2c3d4e5f``."""
    secret = cookie.as_bytes() if isinstance(cookie, Cookie) else cookie.encode("utf-8")
    return _fingerprint_bytes(secret)
