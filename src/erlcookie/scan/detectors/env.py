"""EC005: cookie variables assigned in shell, env, unit files, Makefiles, CI and any config."""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import YAML_COOKIE_VALUE
from erlcookie.scan.detectors.base import (
    COOKIE_NEEDLES,
    Detection,
    Source,
    _assignment_rule,
    _context_rule,
    _literal_ok,
    is_yaml,
)
from erlcookie.scan.syntax import cookie_name_confidence, read_quoted, read_value

_ENV_ASSIGN = re.compile(
    r"(?P<lead>(?:^|(?<=[\s;&|(\"'=]))(?:export[ \t]+|set[ \t]+(?:-[gxUl]+[ \t]+)?|setenv[ \t]+"
    r"|declare[ \t]+-x[ \t]+|\$env:)?)"
    r"(?P<key>(?:[A-Za-z_][A-Za-z0-9_]*)?[Cc][Oo][Oo][Kk][Ii][Ee][A-Za-z0-9_]*)"
    r"(?P<op>[ \t]*(?:\?=|::=|:=|\+=|=)(?![=:~])[ \t]*|[ \t]+(?=[^\s=]))",
    re.M,
)
_QUOTED_KEY = re.compile(
    r"""(?P<q>["'])(?P<key>[^"'\n]*[Cc][Oo][Oo][Kk][Ii][Ee][^"'\n]*)(?P=q)\]?[ \t]*"""
    r"""(?::|=>|=(?!=))[ \t]*(?=["'])"""
)
_PUT_ENV = re.compile(
    r"""\b(?:put_env|putenv|setenv|Setenv|setdefault|set_env|SetEnvironmentVariable)"""
    r"""\s*\(\s*(?P<q>["'])(?P<key>[^"'\n]*[Cc][Oo][Oo][Kk][Ii][Ee][^"'\n]*)(?P=q)"""
    r"""\s*,\s*(?=["'])"""
)
_SHELL_DEFAULT = re.compile(r"\$\{(?P<key>[A-Za-z_]\w*):?[-=](?P<val>[^}$`\n]*)\}")
_TEMPLATE_DEFAULT = re.compile(
    r"""\{\{[^}\n]*?[Cc]ookie[^}\n]*?\|\s*default\s+(?P<q>["'])(?P<val>[^"'\n]*)(?P=q)"""
    r"""|\{\{-?\s*default\s+(?P<q2>["'])(?P<val2>[^"'\n]*)(?P=q2)\s+[^}\n]*?[Cc]ookie"""
)


# Variables that feed a cookie: `-setcookie "$COOKIE"`, `--cookie ${C}`, ERL_FLAGS="... $c".
_FEEDS = re.compile(
    r"""(?<![\w-])(?:--?setcookie|--cookie|--erlang-cookie)"""
    r"""(?:[ \t]*=[ \t]*|[ \t]+)["']?\$\{?(?P<name>[A-Za-z_]\w*)"""
)
# Environment prefixes of a command that starts a node: `COOKIE=x NODE=a bin/app start`
# (the release's vm.args.src reads ${COOKIE}), `ERLANG_COOKIE=x erl ...`.
_PREFIXED_RUN = re.compile(
    r"""(?m)^[ \t]*(?P<assigns>(?:[A-Za-z_]\w*=(?:"[^"\n]*"|'[^'\n]*'|[^\s"']*)[ \t]+)+)"""
    r"""(?P<cmd>[^\s;|&]+)"""
)
_NODE_COMMANDS = re.compile(
    r"(?:^|/)(?:bin/[\w.-]+|erl|iex|elixir|rebar3|mix|relx|erl_call|"
    r"run_erl|rabbitmq-server|rabbitmqctl|ejabberdctl)$"
)
# Languages where an unquoted right-hand side is code (a call, a lookup), never a literal.
_CODE_SUFFIXES = frozenset(
    {
        ".py",
        ".go",
        ".js",
        ".mjs",
        ".cjs",
        ".ts",
        ".tsx",
        ".jsx",
        ".rb",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".rs",
        ".cs",
        ".php",
        ".swift",
        ".ex",
        ".exs",
        ".erl",
        ".hrl",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".lua",
        ".dart",
        ".groovy",
        ".gradle",
        ".clj",
        ".hs",
        ".ml",
        ".zig",
    }
)


def fed_names(src: Source) -> set[str]:
    """Shell variables whose value becomes a cookie in this file (any name)."""
    names: set[str] = set()
    text = src.text
    if "$" in text:
        for m in src.finditer(_FEEDS):
            names.add(m.group("name"))
    for start, end in src.lines_with(*COOKIE_NEEDLES):
        m = _PREFIXED_RUN.match(text, start, end)
        if m and _NODE_COMMANDS.search(m.group("cmd")):
            for assign in re.findall(r"([A-Za-z_]\w*)=", m.group("assigns")):
                if "cookie" in assign.lower():
                    names.add(assign)
    return names


def _in_string(text: str, key_start: int) -> bool:
    """Is `key_start` inside a quoted string on its line (`"ENV RELEASE_COOKIE=x"` in code)?"""
    before = text[text.rfind("\n", 0, key_start) + 1 : key_start].replace('\\"', "")
    return before.count('"') % 2 == 1 or before.count("'") % 2 == 1


def _code_expression(src: Source, text: str, key_start: int, vs: int, ve: int) -> bool:
    """An unquoted value that is code: `builder.ErlangCookie()`, `os.environ[...]`,
    `generate_cookie(32)`; in a programming language, any unquoted right-hand side (unless
    the assignment is text inside a string: a Dockerfile or env file the code writes)."""
    if vs > 0 and text[vs - 1] in "\"'":
        return False
    if src.suffix in _CODE_SUFFIXES and not _in_string(text, key_start):
        return True
    return any(ch in text[vs : ve + 1] for ch in "([")


def detect_env_assignments(src: Source) -> Iterator[Detection]:
    text = src.text
    context_rule = _context_rule(src)
    fed = fed_names(src)
    for m in src.finditer(_ENV_ASSIGN):
        lead, op = m.group("lead"), m.group("op")
        if op.strip() == "" and not (lead.startswith("setenv") or lead.startswith("set -")):
            continue  # `KEY value` is only an assignment for fish `set -x` and csh `setenv`
        got = read_value(text, m.end(), comment=True)
        if got is None:
            continue
        value, vs, ve = got
        if _code_expression(src, text, m.start("key"), vs, ve):
            continue
        key = m.group("key")
        if key.lower() == "cookie" and key not in fed:
            continue  # a bare `cookie = ...` is as often a web cookie; it counts when it feeds one
        confidence = "high" if key in fed else cookie_name_confidence(key)
        rule = _assignment_rule(src, confidence, value, context_rule)
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
                yield Detection(
                    rule, m.end() + 1, got[1] - 1, value, key=key, key_start=m.start("key")
                )
    for m in src.finditer(_SHELL_DEFAULT):
        key = m.group("key")
        value = m.group("val").strip().strip("\"'")
        if cookie_name_confidence(key) != "high" or not _literal_ok(value):
            continue
        vs = m.start("val") + m.group("val").find(value)
        yield Detection(
            context_rule,
            vs,
            vs + len(value),
            value,
            key=key,
            key_start=m.start("key"),
            note=f"fallback default of ${{{key}}}",
        )
    for m in src.finditer(_TEMPLATE_DEFAULT):
        group = "val" if m.group("val") is not None else "val2"
        value = m.group(group)
        if _names_a_key(text, m):
            continue
        if _literal_ok(value):
            yield Detection(
                YAML_COOKIE_VALUE if is_yaml(src) else context_rule,
                m.start(group),
                m.end(group),
                value,
                key="default",
                key_start=m.start(),
                note="template default value",
            )


_TEMPLATE_REF = re.compile(r"\.Values\.(?P<ref>[\w.]+)|\$\w*\.(?P<ref2>[\w.]+)")
_KEY_LINE = re.compile(r"^[ \t]*-?[ \t]*(?:key|name|secretName|secretKey)[ \t]*:")


def _names_a_key(text: str, m: re.Match[str]) -> bool:
    """A template default that names a Secret key or resource, not a cookie:
    `key: {{ .Values.erlangCookieKey | default "erlangCookie" }}` inside a secretKeyRef."""
    refs = [r.group("ref") or r.group("ref2") for r in _TEMPLATE_REF.finditer(m.group(0))]
    if refs and all(cookie_name_confidence(ref.rsplit(".", 1)[-1]) is None for ref in refs):
        return True
    line_start = text.rfind("\n", 0, m.start()) + 1
    if _KEY_LINE.match(text, line_start, m.start()):
        return True
    value = m.group("val") if m.group("val") is not None else m.group("val2")
    return cookie_name_confidence(value) is not None and not any(c.isdigit() for c in value)
