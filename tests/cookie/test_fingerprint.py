import hashlib
import re

from erlcookie.cookie import Cookie
from erlcookie.cookie.fingerprint import fingerprint


def test_format_stable_and_distinct():
    fp = fingerprint(Cookie("abc"))
    assert re.fullmatch(r"fp1:[0-9a-f]{16}", fp)
    assert fp == fingerprint("abc") == Cookie("abc").fingerprint()
    assert fp != fingerprint("abd")


def test_is_scrypt_with_documented_parameters():
    # The documented derivation, recomputed independently: a change here changes every
    # fingerprint users have recorded, so it must be deliberate (bump fp1 -> fp2).
    expected = hashlib.scrypt(
        b"monster",
        salt=b"erlcookie/fingerprint/v1",
        n=2**14,
        r=8,
        p=1,
        dklen=8,
        maxmem=64 * 1024 * 1024,
    ).hex()
    assert fingerprint("monster") == "fp1:" + expected
    assert fingerprint("monster") != "fp1:" + hashlib.sha256(b"monster").hexdigest()[:16]
