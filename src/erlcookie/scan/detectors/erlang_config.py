"""EC015 / EC016: Erlang terms (`{cookie, V}` in sys.config, app.config, .app, rebar.config)
and schema defaults (cuttlefish `{mapping, ..., "vm_args.-setcookie", [{default, V}]}`, EMQX's
HOCON schema `mapping => "vm_args.-setcookie", default => V`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import CUTTLEFISH_DEFAULT_COOKIE, ERLANG_CONFIG_COOKIE
from erlcookie.scan.detectors.base import Detection, Source, _assignment_rule, _literal_ok
from erlcookie.scan.detectors.code import _erlang_literal
from erlcookie.scan.syntax import cookie_name_confidence, normalise_name, read_quoted

_TERM_SUFFIXES = (
    ".config",
    ".config.src",
    ".config.script",
    ".app",
    ".app.src",
    ".erl",
    ".hrl",
    ".schema",
    ".escript",
    ".script",
    ".eterm",
    ".terms",
    ".erlenv",
)
_TUPLE = re.compile(r"""\{\s*(?P<key>'[^'\n]*'|[a-z][\w@]*)\s*,\s*""")
_NOT_A_COOKIE = frozenset(
    {"true", "false", "undefined", "none", "nil", "null", "node", "infinity", "ok", "error"}
)
_SETCOOKIE_MAPPING = re.compile(r"""["']vm_args\.-setcookie["']""")
_DEFAULT = re.compile(r"""\{\s*default\s*,\s*|\bdefault\s*=>\s*""")


def is_erlang_terms(src: Source) -> bool:
    name = src.name.lower()
    return name.endswith(_TERM_SUFFIXES) or name in (
        "rebar.config",
        "sys.config",
        "app.config",
        "rebar.lock",
        "relx.config",
    )


def _term_literal(text: str, pos: int) -> tuple[str, int, int] | None:
    if text.startswith("<<", pos):
        after = pos + 2
        while after < len(text) and text[after] in " \t":
            after += 1
        if text.startswith('"', after):
            got = read_quoted(text, after)
            if got:
                return got[0], after + 1, got[1] - 1
        return None
    got = _erlang_literal(text, pos)
    if got is None or got[0] in _NOT_A_COOKIE:
        return None
    return got


def detect_erlang_terms(src: Source) -> Iterator[Detection]:
    if not is_erlang_terms(src):
        return
    text = src.text
    for m in src.finditer(_TUPLE):
        key = m.group("key").strip("'")
        norm = normalise_name(key)
        confidence = cookie_name_confidence(key)
        if confidence is None:
            continue
        got = _term_literal(text, m.end())
        if got is None or not _literal_ok(got[0]):
            continue
        # the value must close the pair: `{cookie, x}` or `{cookie, x, ...}`, not `{cookie, x(...)}`
        after = text[got[2] : got[2] + 8].lstrip("'\"> \t")
        if after[:1] not in ("}", ","):
            continue
        if norm in ("cookie", "setcookie"):
            rule = ERLANG_CONFIG_COOKIE
        else:
            rule = _assignment_rule(src, confidence, got[0], ERLANG_CONFIG_COOKIE)
        if rule:
            yield Detection(rule, got[1], got[2], got[0], key=key, key_start=m.start("key"))


def detect_schema_default(src: Source) -> Iterator[Detection]:
    """A schema's default for `vm_args.-setcookie`: a cookie every install shares."""
    text = src.text
    if "vm_args.-setcookie" not in text or not is_erlang_terms(src):
        return
    for m in src.finditer(_SETCOOKIE_MAPPING, "vm_args.-setcookie"):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if "assert" in text[line_start : m.start()]:
            continue  # cuttlefish_unit:assert_config(Config, "vm_args.-setcookie", "x"): a test
        got = None
        direct = re.match(r"\s*,\s*(?=[\"'])", text[m.end() : m.end() + 40])
        if direct:  # t(string(), "vm_args.-setcookie", "default", "ENV")
            got = _term_literal(text, m.end() + direct.end())
        if got is None:
            window_end = min(len(text), m.end() + 800)
            stop = text.find("}.", m.end(), window_end)
            stop = window_end if stop < 0 else stop
            d = _DEFAULT.search(text, m.end(), stop)
            if d:
                got = _term_literal(text, d.end())
        if got and _literal_ok(got[0]):
            yield Detection(
                CUTTLEFISH_DEFAULT_COOKIE,
                got[1],
                got[2],
                got[0],
                key="vm_args.-setcookie default",
                key_start=m.start(),
                note="schema default: every install that keeps it shares the cookie",
            )
