"""Assertions about secrets whose failure messages cannot print the secret.

pytest rewrites `assert` and shows both operands on failure, even with a message and
even in parentheses (`assert (a == b), "msg"` prints a and b). Comparing first and
asserting a plain bool shows only `assert False`.
"""

from __future__ import annotations

from erlcookie.cookie.value import Cookie


def assert_not_shown(cookie: Cookie, *texts: str) -> None:
    """None of `texts` contains the cookie's text."""
    leaked = any(cookie.reveal() in text for text in texts)
    assert not leaked, f"a cookie ({cookie.fingerprint()}) appears in output"


def assert_same_secret(value: str | bytes, cookie: Cookie, what: str = "value") -> None:
    """`value` (text or bytes) is the cookie's text; a mismatch shows only fingerprints."""
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
    same = text == cookie.reveal()
    assert same, f"{what} differs from the expected cookie {cookie.fingerprint()}"
