"""EC005: cookie variables assigned in shell, env, unit files, Makefiles, CI and any config."""

from __future__ import annotations

import re
from typing import Iterator

from erlcookie.findings.rules import YAML_COOKIE_VALUE
from erlcookie.scan.detectors.base import (Detection, Source, _assignment_rule, _context_rule,
                                            _literal_ok, is_yaml)
from erlcookie.scan.syntax import cookie_name_confidence, read_quoted, read_value

_ENV_ASSIGN = re.compile(
    r"(?P<lead>(?:^|(?<=[\s;&|(\"'=]))(?:export[ \t]+|set[ \t]+(?:-[gxUl]+[ \t]+)?|setenv[ \t]+"
    r"|declare[ \t]+-x[ \t]+|\$env:)?)"
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]*[Cc][Oo][Oo][Kk][Ii][Ee][A-Za-z0-9_]*)"
    r"(?P<op>[ \t]*(?:\?=|::=|:=|\+=|=)(?!=)[ \t]*|[ \t]+(?=[^\s=]))", re.M)
_QUOTED_KEY = re.compile(
    r"""(?P<q>["'])(?P<key>[^"'\n]*[Cc][Oo][Oo][Kk][Ii][Ee][^"'\n]*)(?P=q)\]?[ \t]*"""
    r"""(?::|=>|=(?!=))[ \t]*(?=["'])""")
_PUT_ENV = re.compile(r"""\b(?:put_env|putenv|setenv|Setenv|setdefault|set_env|SetEnvironmentVariable)"""
                      r"""\s*\(\s*(?P<q>["'])(?P<key>[^"'\n]*[Cc][Oo][Oo][Kk][Ii][Ee][^"'\n]*)(?P=q)"""
                      r"""\s*,\s*(?=["'])""")
_SHELL_DEFAULT = re.compile(r"\$\{(?P<key>[A-Za-z_]\w*):?[-=](?P<val>[^}$`\n]*)\}")
_TEMPLATE_DEFAULT = re.compile(
    r"""\{\{[^}\n]*?[Cc]ookie[^}\n]*?\|\s*default\s+(?P<q>["'])(?P<val>[^"'\n]*)(?P=q)"""
    r"""|\{\{-?\s*default\s+(?P<q2>["'])(?P<val2>[^"'\n]*)(?P=q2)\s+[^}\n]*?[Cc]ookie""")


def detect_env_assignments(src: Source) -> Iterator[Detection]:
    text = src.text
    context_rule = _context_rule(src)
    for m in src.finditer(_ENV_ASSIGN):
        lead, op = m.group("lead"), m.group("op")
        if op.strip() == "" and not (lead.startswith("setenv") or lead.startswith("set -")):
            continue  # `KEY value` is only an assignment for fish `set -x` and csh `setenv`
        got = read_value(text, m.end(), comment=True)
        if got is None:
            continue
        value, vs, ve = got
        key = m.group("key")
        rule = _assignment_rule(src, cookie_name_confidence(key), value, context_rule)
        if rule and _literal_ok(value):
            yield Detection(rule, vs, ve, value, key=key, key_start=m.start("key"))
    for rx in (_QUOTED_KEY, _PUT_ENV):
        for m in src.finditer(rx):
            got = read_quoted(text, m.end())
            if got is None:
                continue
            value = got[0]
            key = m.group("key")
            rule = _assignment_rule(src, cookie_name_confidence(key), value, context_rule)
            if rule and _literal_ok(value):
                yield Detection(rule, m.end() + 1, got[1] - 1, value, key=key,
                                key_start=m.start("key"))
    for m in src.finditer(_SHELL_DEFAULT):
        key = m.group("key")
        value = m.group("val").strip().strip("\"'")
        if cookie_name_confidence(key) != "high" or not _literal_ok(value):
            continue
        vs = m.start("val") + m.group("val").find(value)
        yield Detection(context_rule, vs, vs + len(value), value, key=key,
                        key_start=m.start("key"), note=f"fallback default of ${{{key}}}")
    for m in src.finditer(_TEMPLATE_DEFAULT):
        group = "val" if m.group("val") is not None else "val2"
        value = m.group(group)
        if _literal_ok(value):
            yield Detection(YAML_COOKIE_VALUE if is_yaml(src) else context_rule, m.start(group),
                            m.end(group), value, key="default", key_start=m.start(),
                            note="template default value")
