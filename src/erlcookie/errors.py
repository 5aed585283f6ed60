"""Exit codes and the exceptions that map onto them.

Every command exits 0 when all is well, 1 on findings or a failed check, 2 on a usage
error and 3 on an operational error (unreachable, API error, unparseable input).
Messages here are shown to users, so they must never carry a cookie value.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_OPERATIONAL = 3


class ErlcookieError(Exception):
    """Base class; `exit_code` tells the CLI how to end."""

    exit_code = EXIT_OPERATIONAL


class UsageError(ErlcookieError):
    exit_code = EXIT_USAGE


class OperationalError(ErlcookieError):
    exit_code = EXIT_OPERATIONAL


class CookieSourceError(UsageError):
    """No cookie could be read from the place the user named."""
