"""EC013 and friends: TOML (fly.toml [env], any TOML configuration)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import ENV_ASSIGNMENT, FLY_TOML_ENV
from erlcookie.scan.detectors.base import Detection, Source, _assignment_rule, _literal_ok, is_toml
from erlcookie.scan.syntax import cookie_name_confidence, read_line_value

_TOML_LINE = re.compile(
    r"""(?m)^[ \t]*(?:\[(?P<section>[^\]\n]+)\]|(?P<key>"[^"\n]+"|'[^'\n]+'|"""
    r"""[\w.-]+)[ \t]*=[ \t]*)"""
)


def detect_toml(src: Source) -> Iterator[Detection]:
    if not is_toml(src):
        return
    text = src.text
    section = ""
    for m in _TOML_LINE.finditer(text):
        if m.group("section") is not None:
            section = m.group("section").strip().strip("[]").strip()
            continue
        key = m.group("key").strip("\"'")
        confidence = cookie_name_confidence(key.rsplit(".", 1)[-1])
        if confidence is None:
            continue
        got = read_line_value(text, m.end())
        if got is None or not _literal_ok(got[0]):
            continue
        value, vs, ve = got
        in_env = section in ("env", "build.args") or key.startswith(("env.", "build.args."))
        high_rule = FLY_TOML_ENV if src.name == "fly.toml" and in_env else ENV_ASSIGNMENT
        rule = _assignment_rule(src, confidence, value, high_rule)
        if rule:
            yield Detection(rule, vs, ve, value, key=key, key_start=m.start("key"))
