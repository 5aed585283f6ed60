"""EC022: code that reads a cookie variable but falls back to a literal when it is unset.

`System.get_env("RELEASE_COOKIE") || "x"`, `System.get_env("RELEASE_COOKIE", "x")`,
`os:getenv("RELEASE_COOKIE", "x")`, `os.getenv("ERLANG_COOKIE", "x")`,
`process.env.RELEASE_COOKIE || "x"`, `ENV.fetch("RELEASE_COOKIE", "x")`: a node started
without the variable runs on the literal. Only variables that name an Erlang cookie count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import CODE_FALLBACK_COOKIE
from erlcookie.scan.detectors.base import Detection, Source, _literal_ok
from erlcookie.scan.syntax import cookie_name_confidence, read_quoted

_NAME = r"""(?P<q>["'])(?P<name>[A-Za-z_][\w.-]*)(?P=q)"""
_FALLBACK = re.compile(
    # two-argument lookups: System.get_env(name, default), os:getenv/2, os.getenv, ENV.fetch
    r"(?:\bSystem\.get_env|\bos:getenv|\bos\.getenv|\bos\.environ\.get|\bENV\.fetch"
    r"|\bgetenv|\bEnv\.get)\s*\(\s*" + _NAME + r"\s*,\s*(?=[\"':])"
    # one-argument lookups followed by an `or` operator
    r"|(?:\bSystem\.get_env|\bos\.getenv|\bos\.environ\.get|\bENV)\s*[(\[]\s*"
    r"(?P<q2>[\"'])(?P<name2>[A-Za-z_][\w.-]*)(?P=q2)\s*[)\]]\s*(?:\|\||\bor\b|\?\?)\s*(?=[\"':])"
    r"|\bprocess\.env\.(?P<name3>[A-Za-z_]\w*)\s*(?:\|\||\?\?)\s*(?=[\"'])"
)
_ATOM = re.compile(r":(?P<v>[A-Za-z_][\w@]*)")


def detect_code_fallbacks(src: Source) -> Iterator[Detection]:
    text = src.text
    for m in src.finditer(_FALLBACK):
        name = m.group("name") or m.group("name2") or m.group("name3")
        if cookie_name_confidence(name) != "high":
            continue
        pos = m.end()
        if text.startswith(":", pos):
            atom = _ATOM.match(text, pos)
            if atom is None or text.startswith("::", pos):
                continue
            value, vs, ve = atom.group("v"), atom.start("v"), atom.end("v")
        else:
            got = read_quoted(text, pos)
            if got is None or "#{" in got[0] or "${" in got[0]:
                continue
            value, vs, ve = got[0], pos + 1, got[1] - 1
        if _literal_ok(value):
            yield Detection(
                CODE_FALLBACK_COOKIE,
                vs,
                ve,
                value,
                key=name,
                key_start=m.start(),
                note=f"fallback when {name} is unset",
            )
