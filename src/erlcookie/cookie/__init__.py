"""Cookies: the secret value type, generation, fingerprints, files and where to find them."""

from erlcookie.cookie.value import Cookie

__all__ = ["Cookie"]
