"""One place that decides where a command's cookie comes from.

Order: exactly one explicit source if the user named one (`--cookie-file PATH` with `-`
for stdin, `--cookie-env VAR`, `--release DIR`, `--cookie VALUE`); otherwise what a node
started here would use: `$RELEASE_COOKIE` if set, then OTP's own lookup, `~/.erlang.cookie`
and then (OTP 24+) `$XDG_CONFIG_HOME/erlang/.erlang.cookie`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from erlcookie.cookie.value import Cookie
from erlcookie.errors import CookieSourceError, UsageError
from erlcookie.inputs import DEFAULT_DEADLINE, InputError, read_bounded

DEFAULT_ENV = "RELEASE_COOKIE"
MAX_COOKIE_FILE = 64 * 1024  # a cookie file bigger than this is not a cookie file

ARGV_WARNING = (
    "warning: --cookie puts the secret in argv, where `ps` and shell history "
    "can read it; prefer --cookie-file, --cookie-env or stdin (--cookie-file -)"
)


@dataclass(frozen=True)
class CookieRequest:
    """What the user asked for on the command line (all optional)."""

    file: str | None = None
    env: str | None = None
    release: str | None = None
    value: str | None = None


def otp_default_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The files OTP's auth.erl reads when no -setcookie is given, in its order."""
    environ = os.environ if environ is None else environ
    home = environ.get("HOME") or str(Path.home())
    xdg = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return [Path(home) / ".erlang.cookie", Path(xdg) / "erlang" / ".erlang.cookie"]


def _clean(raw: str) -> str:
    # OTP strips trailing whitespace/newlines from cookie files; Secret files and
    # `echo x > file` add a newline. Everything else is kept so audit can judge it.
    return raw.rstrip("\r\n")


def read_cookie_file(
    path: str | os.PathLike[str],
    *,
    stdin: IO[Any] | None = None,
    deadline: float = DEFAULT_DEADLINE,
) -> Cookie:
    """The cookie in a file (`-` for stdin: its first line), read at most 64 KiB.

    Devices are refused and pipes (stdin, `<(cmd)`, FIFOs) read under `deadline` seconds
    (erlcookie.inputs). Bytes that are not UTF-8 are kept as they are, as OTP keeps them.
    """
    if str(path) == "-":
        try:
            data = read_bounded(
                "-", limit=MAX_COOKIE_FILE, what="cookie", deadline=deadline, stdin=stdin
            )
        except InputError as exc:
            raise CookieSourceError(str(exc)) from None
        raw = data.decode("utf-8", "surrogateescape")
        raw = raw.splitlines()[0] if raw.strip() else ""
        if not raw:
            raise CookieSourceError("no cookie on stdin")
        return Cookie(_clean(raw), source="stdin")
    p = Path(path).expanduser()
    try:
        data = read_bounded(p, limit=MAX_COOKIE_FILE, what="cookie file", deadline=deadline)
    except InputError as exc:
        raise CookieSourceError(str(exc)) from None
    except FileNotFoundError:
        raise CookieSourceError(f"cookie file {p} does not exist") from None
    except IsADirectoryError:
        raise CookieSourceError(f"{p} is a directory, not a cookie file") from None
    except PermissionError:
        raise CookieSourceError(f"cannot read cookie file {p}: permission denied") from None
    except OSError as exc:
        raise CookieSourceError(f"cannot read cookie file {p}: {exc.strerror}") from None
    value = _clean(data.decode("utf-8", "surrogateescape"))
    if not value:
        raise CookieSourceError(f"cookie file {p} is empty")
    return Cookie(value, source=str(p), path=str(p))


def release_cookie_path(release_dir: str | os.PathLike[str]) -> Path:
    """`releases/COOKIE` of a built mix release (the release root or its releases/ dir)."""
    root = Path(release_dir).expanduser()
    for candidate in (root / "releases" / "COOKIE", root / "COOKIE"):
        if candidate.is_file():
            return candidate
    raise CookieSourceError(f"no releases/COOKIE under {root}: is it a built mix release?")


def resolve_cookie(
    request: CookieRequest,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: IO[Any] | None = None,
    warn: Callable[[str], None] | None = None,
    deadline: float = DEFAULT_DEADLINE,
) -> Cookie:
    """Return the cookie the user meant; raise CookieSourceError (exit 2) when there is none."""
    environ = os.environ if environ is None else environ
    explicit = [
        name
        for name, v in (
            ("--cookie-file", request.file),
            ("--cookie-env", request.env),
            ("--release", request.release),
            ("--cookie", request.value),
        )
        if v is not None
    ]
    if len(explicit) > 1:
        raise UsageError(f"give one cookie source, not {' and '.join(explicit)}")
    if request.value is not None:
        if warn is not None:
            warn(ARGV_WARNING)
        if request.value == "":
            raise CookieSourceError("--cookie is empty")
        return Cookie(request.value, source="--cookie argument")
    if request.file is not None:
        return read_cookie_file(request.file, stdin=stdin, deadline=deadline)
    if request.release is not None:
        return read_cookie_file(release_cookie_path(request.release), deadline=deadline)
    if request.env is not None:
        value = environ.get(request.env)
        if not value:
            raise CookieSourceError(f"environment variable {request.env} is not set or empty")
        return Cookie(value, source=f"${request.env}")
    value = environ.get(DEFAULT_ENV)
    if value:
        return Cookie(value, source=f"${DEFAULT_ENV}")
    for path in otp_default_paths(environ):
        if path.is_file():
            return read_cookie_file(path, deadline=deadline)
    raise CookieSourceError(
        "no cookie found: give --cookie-file PATH (or - for stdin), --cookie-env VAR or "
        f"--release DIR, or set ${DEFAULT_ENV}, or create ~/.erlang.cookie"
    )
