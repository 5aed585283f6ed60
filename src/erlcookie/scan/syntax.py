"""Small, format-agnostic helpers for the detectors: names, literals and references.

A finding needs a *literal* cookie. Anything that is resolved later (shell and compose
expansion, Helm/Jinja/EEx templates, `System.fetch_env!`, `secretKeyRef`) is a reference,
and references are exactly what we want people to write, so they are never findings.
"""

from __future__ import annotations

import re

# Names that say "Erlang distribution cookie". Compared on the lower-cased name with
# `_`, `-` and `.` removed, so RELEASE_COOKIE, releaseCookie and release-cookie all match.
_HIGH_MARKERS = (
    "erlang",
    "erl",
    "release",
    "rabbitmq",
    "couchdb",
    "elixir",
    "beam",
    "dist",
    "node",
    "livebook",
    "emqx",
    "vernemq",
    "ejabberd",
    "riak",
    "mongoose",
    "otp",
    "cluster",
    "kazoo",
    "phoenix",
    "libcluster",
)
_OWN_NAME = re.compile(r"(?i)(?:^|[_\-.])erlcookie(?:$|[_\-.])")  # ERLCOOKIE_X, kubectl-erlcookie
_WEB_MARKERS = ("session", "csrf", "xsrf", "http", "browser", "consent", "tracking")
_SEPARATORS = str.maketrans("", "", "_-. ")


def normalise_name(name: str) -> str:
    return name.translate(_SEPARATORS).lower()


# Names that hold something *about* a cookie (where it is, what it is called), not a cookie.
_NOT_A_VALUE = (
    "file",
    "path",
    "dir",
    "name",
    "ref",
    "secretname",
    "secretkey",
    "secretref",
    "mount",
    "location",
    "url",
    "domain",
    "age",
    "ttl",
    "expires",
    "samesite",
    "secure",
    "httponly",
    "enabled",
    "length",
    "size",
    "style",
)


def cookie_name_confidence(name: str) -> str | None:
    """'high' for Erlang cookie names, 'generic' for other *cookie* names, else None."""
    raw = name.strip("\"'")
    if _OWN_NAME.search(raw):  # this tool's own settings and names (ERLCOOKIE_*), not cookies
        return None
    norm = normalise_name(raw)
    if "cookie" not in norm or norm.endswith(_NOT_A_VALUE) and not norm.endswith("cookie"):
        return None
    if any(m in norm for m in _WEB_MARKERS):
        return "generic"  # PHOENIX_SESSION_COOKIE is a web session, not a distribution cookie
    if norm.endswith("cookiekey"):  # erlangCookieKey: erlangCookie names the Secret's key
        return None
    if any(m in norm.replace("cookie", " ") for m in _HIGH_MARKERS):
        return "high"
    return "generic"  # a bare "Cookie" is as often an HTTP header as an Erlang cookie


def erlang_context(names) -> bool:
    """Do enclosing keys (YAML parents, a Secret's name...) say Erlang?"""
    return any(m in normalise_name(n) for n in names for m in _HIGH_MARKERS if m != "node")


# -- references --------------------------------------------------------------------------
_REFERENCE = re.compile(
    r"""\$\{|\$\(|\$[A-Za-z_]|`|\{\{|\}\}|<%|%>|\{%|\#\{|%\([A-Za-z_]+\)s"""
    r"""|\{[\w.:!]*\}|<[^<>\s]*>|^<|^~\d*[spwaPtc]$|^%[sdvqr]$"""
    r"""|\bSystem\.(?:fetch_env|get_env)|\bos:getenv|\bApplication\.(?:get|fetch)_env"""
    r"""|\bsecretKeyRef\b|\bvalueFrom\b"""
)
_PLACEHOLDER = re.compile(r"^(?:<[^<>]*>|\[[^\[\]]*\]|@\w+@|%\w+%|[*.]+|\.\.\.|…|None|null|~)$")


# Words that follow `-setcookie`, `RELEASE_COOKIE` and friends in prose and docs, and the
# usual placeholders. A real cookie of one character or one of these words does not exist
# in practice; known weak values such as "cookie", "secret" or "changeme" are NOT here.
_PROSE = frozenset(
    """
    a an the is are was were be been being it its this that these those there here and or
    nor not no yes to in on of for with from at by as if then than so but which who what
    when where how why also too only instead given flag option options argument arguments
    value values literal literals set sets setting unset none null nil true false
    Cookie COOKIE Node NODE VALUE Value YOUR_COOKIE
    your_cookie your-cookie <cookie> etc e.g. i.e.
""".split()
)


def is_reference(value: str) -> bool:
    """True for anything resolved later or plainly a placeholder: not a leaked literal."""
    v = value.strip()
    if len(v) < 2 or v in _PROSE or v.rstrip(".,;:") in _PROSE:
        return True
    if _PLACEHOLDER.match(v):
        return True
    return bool(_REFERENCE.search(v))


# -- literals ----------------------------------------------------------------------------
def read_quoted(text: str, start: int) -> tuple[str, int] | None:
    """The content of the quoted string opening at `text[start]`, and the index after it."""
    quote = text[start]
    i = start + 1
    out = []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote == '"' and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == quote:
            if quote == "'" and text.startswith("''", i):  # YAML's '' escape
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        if ch == "\n":
            return None
        out.append(ch)
        i += 1
    return None


_WORD_END = re.compile(r"""[\s"';|&<>)\\]""")  # a backslash: an escape (\n in a string)
_PLAIN = object()


def _value_start(text: str, start: int) -> tuple[int, object]:
    """Skip blanks; settle empty and quoted values. (start, result or _PLAIN to go on)."""
    n = len(text)
    while start < n and text[start] in " \t":
        start += 1
    if start >= n or text[start] in "\n\r":
        return start, ("", start, start)
    if text[start] in "\"'":
        got = read_quoted(text, start)
        return start, None if got is None else (got[0], start + 1, got[1] - 1)
    return start, _PLAIN


def read_value(
    text: str, start: int, *, comment: bool = True, stop: str = ""
) -> tuple[str, int, int] | None:
    """A shell/env/YAML-style value at `text[start:]`: (value, value_start, value_end).

    Quoted values lose their quotes; plain values end at whitespace, a quote, a shell
    operator, `stop` characters, or (with `comment`) at a ` #` comment.
    """
    start, done = _value_start(text, start)
    if done is not _PLAIN:
        return done
    n = len(text)
    end = start
    while end < n:
        ch = text[end]
        if _WORD_END.match(ch) or ch in stop:
            break
        if comment and ch == "#" and end > start and text[end - 1] in " \t":
            break
        end += 1
    return text[start:end], start, end


def read_line_value(text: str, start: int) -> tuple[str, int, int] | None:
    """A YAML/TOML scalar: quoted, or plain up to end of line minus a ` #` comment."""
    start, done = _value_start(text, start)
    if done is not _PLAIN:
        return done
    n = len(text)
    end = text.find("\n", start)
    end = n if end < 0 else end
    hash_at = text.find(" #", start, end)
    if hash_at >= 0:
        end = hash_at
    while end > start and text[end - 1] in " \t\r":
        end -= 1
    return text[start:end], start, end


_COOKIE_SHAPED = re.compile(r"[A-Za-z0-9_+/=.:@~-]{16,255}")
_DOMAINISH = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+\.?$", re.I)


def cookie_shaped(value: str) -> bool:
    """Long and random-looking enough to be a secret (for the lower-confidence rule)."""
    if not _COOKIE_SHAPED.fullmatch(value) or value.isdigit():
        return False
    if _DOMAINISH.match(value) or value.startswith(("/", "./", "http:", "https:")):
        return False
    if len(set(value)) < 8:
        return False
    has_digit = any(c.isdigit() for c in value)
    has_mixed_case = any(c.islower() for c in value) and any(c.isupper() for c in value)
    return has_digit or has_mixed_case


def split_args(text: str) -> list[tuple[str, int, int, bool]]:
    """Shell-ish words of one line: (word, start, end, was_quoted), stopping at a comment."""
    words = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n or text[i] in "#\n" or text[i] in ";|&":
            break
        got = read_value(text, i, comment=True)
        if got is None:
            break
        value, start, end = got
        quoted = text[i] in "\"'"
        if not quoted and end == start:  # starts with an operator-like char: take the raw word
            end = start + 1
            while end < n and text[end] not in " \t\n":
                end += 1
            value = text[start:end]
        words.append((value, start, end, quoted))
        i = end + 1 if quoted else end
        if not quoted and i < n and text[i] in "\"')":
            i += 1
    return words
