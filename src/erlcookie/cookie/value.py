"""The cookie as a value type that cannot leak by accident.

`str`, `repr`, `format` and pickling never produce the secret, so a cookie that ends up in
a log line, an exception or a test failure shows as redacted. Code that really needs the
bytes (the handshake, a file writer, `--reveal`) asks for them by name.
"""

from __future__ import annotations

import hmac
from typing import NoReturn

from erlcookie.cookie.fingerprint import fingerprint

__all__ = ["MAX_ATOM_LENGTH", "Cookie"]

MAX_ATOM_LENGTH = 255


class Cookie:
    """A distribution cookie whose text forms are redacted; `reveal()` gives the secret."""

    __slots__ = ("_value", "source", "path")
    _value: str
    source: str  # where it came from, for people
    path: str | None  # the file it was read from, if any

    def __init__(self, value: str, source: str = "value", *, path: str | None = None) -> None:
        if not isinstance(value, str):
            raise TypeError("a cookie is text")
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "source", source)  # where it came from, for people
        object.__setattr__(self, "path", path)  # the file it was read from, if any

    def __setattr__(self, name: str, value: object) -> NoReturn:  # never changes in place
        raise AttributeError("Cookie is immutable")

    # -- deliberate access -------------------------------------------------------------
    def reveal(self) -> str:
        """The secret itself; only for handshakes, writers and explicit `--reveal`."""
        return self._value

    def as_bytes(self) -> bytes:
        """The bytes OTP hashes in the handshake (an atom's UTF-8 text).

        A cookie read from bytes that are not UTF-8 keeps them as surrogate escapes (as
        Python reads files, argv and the environment); they are given back as the bytes
        they were, which is what OTP hashes for such a cookie file.
        """
        return self._value.encode("utf-8", "surrogateescape")

    def is_utf8(self) -> bool:
        """False when the cookie holds bytes that are not UTF-8 text."""
        try:
            self._value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._value)

    def fingerprint(self) -> str:
        return fingerprint(self)

    # -- nothing else shows the value ----------------------------------------------------
    def __repr__(self) -> str:
        return f"<Cookie from {self.source}, {len(self._value)} chars, redacted>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("cookies are not picklable (they would leave the process in clear)")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cookie):
            return NotImplemented
        return hmac.compare_digest(self.as_bytes(), other.as_bytes())

    def __hash__(self) -> int:
        return hash(("erlcookie.Cookie", self._value))
