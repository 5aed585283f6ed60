"""EC014 / EC016 / EC021: `.conf` and `.ini` files (HOCON, cuttlefish, INI sections).

EMQX writes HOCON (`node { cookie = "..." }` or flat `node.cookie = ...`), Riak, VerneMQ and
other cuttlefish users write flat `distributed_cookie = ...` keys, and CouchDB's search node
reads `[erlang] cookie=` from clouseau.ini. One small reader serves all three: it follows
`name {` ... `}` blocks and `[section]` headers, so a key is known by its full path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import (
    CUTTLEFISH_DEFAULT_COOKIE,
    ENV_ASSIGNMENT,
    HOCON_NODE_COOKIE,
    INI_COOKIE,
)
from erlcookie.scan.detectors.base import Detection, Source, _assignment_rule, _literal_ok
from erlcookie.scan.syntax import cookie_name_confidence, erlang_context, read_quoted

_CONF_SUFFIXES = (
    ".conf",
    ".conf.example",
    ".conf.sample",
    ".conf.template",
    ".conf.tmpl",
    ".conf.dist",
    ".conf.src",
    ".conf.in",
    ".hocon",
    ".ini",
    ".ini.example",
    ".ini.sample",
    ".ini.template",
)
_LINE = re.compile(
    r"""[ \t]*(?:(?P<section>\[[^\]\n]+\])|(?P<key>"[^"\n]+"|[A-Za-z_][\w.\-]*)"""
    r"""[ \t]*(?P<op>=|:|\{)|(?P<close>\}))"""
)
# Keys whose value is a cookie wherever they appear in a .conf file (cuttlefish's names).
_CUTTLEFISH_KEYS = frozenset({"distributed_cookie", "distributedcookie"})


def is_conf(src: Source) -> bool:
    name = src.name.lower()
    return name.endswith(_CONF_SUFFIXES) or name in ("emqx.conf", "vernemq.conf", "riak.conf")


def _conf_value(text: str, pos: int, end: int) -> tuple[str, int, int] | None:
    """A HOCON/INI scalar: quoted, or plain up to end of line, a comment or a comma."""
    while pos < end and text[pos] in " \t":
        pos += 1
    if pos >= end:
        return None
    if text[pos] == '"':
        got = read_quoted(text, pos)
        return (got[0], pos + 1, got[1] - 1) if got else None
    stop = end
    for marker in (" #", "\t#", " //", ",", " ;"):
        at = text.find(marker, pos, stop)
        if at >= 0:
            stop = at
    if text.startswith(("#", ";", "//", "{", "["), pos):
        return None
    while stop > pos and text[stop - 1] in " \t\r":
        stop -= 1
    return text[pos:stop], pos, stop


def detect_conf(src: Source) -> Iterator[Detection]:
    if not is_conf(src):
        return
    text = src.text
    ini = src.suffix == ".ini" or ".ini." in src.name.lower()
    stack: list[str] = []  # HOCON object path
    section = ""
    pos, n = 0, len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        m = _LINE.match(text, pos, end)
        if m is not None:
            if m.group("section"):
                section = m.group("section")[1:-1].strip().lower()
                stack = []
            elif m.group("close"):
                if stack:
                    stack.pop()
            else:
                key = m.group("key").strip('"')
                if m.group("op") == "{":
                    stack.append(key.lower())
                else:
                    value_start = m.end()
                    rest = text[value_start:end].strip()
                    if rest.startswith("{"):
                        if not rest.rstrip().endswith("}"):
                            stack.append(key.lower())
                    else:
                        got = _conf_value(text, value_start, end)
                        if got is not None and _literal_ok(got[0]):
                            rule = _rule(src, ini, section, stack, key, got[0])
                            if rule:
                                yield Detection(
                                    rule, got[1], got[2], got[0], key=key, key_start=m.start("key")
                                )
        pos = end + 1


def _rule(
    src: Source, ini: bool, section: str, stack: list[str], key: str, value: str
) -> str | None:
    parts = [p for p in (*stack, *key.lower().split(".")) if p]
    if not parts:
        return None
    last = parts[-1]
    parent = parts[-2] if len(parts) >= 2 else section
    if last in _CUTTLEFISH_KEYS:
        return CUTTLEFISH_DEFAULT_COOKIE
    if last == "cookie" and parent == "node":
        return HOCON_NODE_COOKIE
    if last in ("cookie", "setcookie") and (
        erlang_context([section, *parts[:-1]])
        or section in ("erlang", "node", "nodes")
        or parent in ("erlang", "dist", "distribution")
    ):
        return INI_COOKIE if ini else HOCON_NODE_COOKIE
    confidence = cookie_name_confidence(last)
    return _assignment_rule(src, confidence, value, ENV_ASSIGNMENT) if confidence else None
