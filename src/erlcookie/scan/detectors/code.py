"""EC003 / EC004: Elixir and Erlang code (`cookie:` in mix releases, set_cookie calls)."""

from __future__ import annotations

import re
from typing import Iterator

from erlcookie.findings.rules import ENV_ASSIGNMENT, MIX_RELEASE_COOKIE, SET_COOKIE_LITERAL
from erlcookie.scan.detectors.base import (Detection, Source, _assignment_rule, _literal_ok,
                                            is_elixir)
from erlcookie.scan.syntax import cookie_name_confidence, read_quoted

_EX_ATOM = re.compile(r":(?P<v>[A-Za-z_][\w@]*[?!]?)")
_EX_TO_ATOM = re.compile(r"""(?:String\.to_atom|String\.to_existing_atom|:erlang\.list_to_atom|"""
                         r""":erlang\.binary_to_atom|String\.to_charlist)\(\s*(?=["'])""")
_ERL_ATOM = re.compile(r"(?P<v>[a-z][\w@]*)(?![\w@(:])")
_ERL_TO_ATOM = re.compile(r"""(?:erlang:)?(?:list_to_atom|binary_to_atom|list_to_existing_atom)"""
                          r"""\(\s*(?:<<\s*)?(?=["'])""")


def _elixir_literal(text: str, pos: int) -> tuple[str, int, int] | None:
    """A literal atom/string/charlist at text[pos:] (no interpolation), else None."""
    ch = text[pos:pos + 1]
    if not ch:
        return None
    if text.startswith((':"', ":'"), pos):
        got = read_quoted(text, pos + 1)
        if got and "#{" not in got[0]:
            return got[0], pos + 2, got[1] - 1
        return None
    if ch == ":":
        m = _EX_ATOM.match(text, pos)
        if m and not text.startswith("::", pos):
            return m.group("v"), m.start("v"), m.end("v")
        return None
    if ch in "\"'":
        if text.startswith(('"""', "'''"), pos):
            return None
        got = read_quoted(text, pos)
        if got and "#{" not in got[0]:
            return got[0], pos + 1, got[1] - 1
        return None
    if text.startswith(("~c\"", "~s\"", "~S\"", "~C\"", "~c'", "~s'"), pos):
        got = read_quoted(text, pos + 2)
        if got and "#{" not in got[0]:
            return got[0], pos + 3, got[1] - 1
        return None
    m = _EX_TO_ATOM.match(text, pos)
    if m:
        return _elixir_literal(text, m.end())
    return None


def _erlang_literal(text: str, pos: int) -> tuple[str, int, int] | None:
    if text.startswith("'", pos) or text.startswith('"', pos):
        got = read_quoted(text, pos)
        if got:
            return got[0], pos + 1, got[1] - 1
        return None
    m = _ERL_TO_ATOM.match(text, pos)
    if m:
        return _erlang_literal(text, m.end())
    m = _ERL_ATOM.match(text, pos)
    if m and m.group("v") not in ("node", "true", "false", "undefined"):
        return m.group("v"), m.start("v"), m.end("v")
    return None


def _call_args(text: str, open_paren: int) -> list[tuple[int, int]]:
    """Top-level argument spans of the call whose '(' is at `open_paren`."""
    depth, i, start, spans = 0, open_paren + 1, open_paren + 1, []
    limit = min(len(text), open_paren + 2000)
    while i < limit:
        ch = text[i]
        if ch in "\"'":
            got = read_quoted(text, i)
            if got is None:
                return []
            i = got[1]
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                spans.append((start, i))
                return spans
            depth -= 1
        elif ch == "," and depth == 0:
            spans.append((start, i))
            start = i + 1
        i += 1
    return []


_SET_COOKIE_CALL = re.compile(r"(?P<fn>\bNode\.set_cookie|:erlang\.set_cookie"
                              r"|(?<![\w:.])(?:erlang|auth):set_cookie)\s*\(")
_EX_KEYWORD = re.compile(r"(?<![\w.:@\"'])(?P<key>\w*cookie\w*):[ \t]+", re.I)
_EX_KEY_STRING = re.compile(r"""["'](?P<key>[^"'\n]*[Cc][Oo][Oo][Kk][Ii][Ee][^"'\n]*)["']\s*=>\s*""")


def detect_code_calls(src: Source) -> Iterator[Detection]:
    text = src.text
    if "set_cookie" not in text:
        return
    for m in _SET_COOKIE_CALL.finditer(text):
        spans = _call_args(text, m.end() - 1)
        if not spans:
            continue
        a, b = spans[-1]
        while a < b and text[a] in " \t\r\n":
            a += 1
        erlang = ":" in m.group("fn") and not m.group("fn").startswith(":erlang.")
        got = _erlang_literal(text, a) if erlang else _elixir_literal(text, a)
        if not got:
            continue
        value, vs, ve = got
        rest = text[ve:b].strip().lstrip("\"')>").strip()
        if rest.replace(",", "").replace("utf8", "").replace("latin1", "").strip(" )"):
            continue  # more than a literal (an expression): not a leak we can name
        if _literal_ok(value):
            yield Detection(SET_COOKIE_LITERAL, vs, ve, value, key=m.group("fn").lstrip(":"),
                            key_start=m.start())


def detect_elixir_config(src: Source) -> Iterator[Detection]:
    if not is_elixir(src):
        return
    text = src.text
    for m in src.finditer(_EX_KEYWORD):
        key = m.group("key")
        got = _elixir_literal(text, m.end())
        if not got or not _literal_ok(got[0]):
            continue
        if key.lower() == "cookie":
            rule = MIX_RELEASE_COOKIE
        else:
            rule = _assignment_rule(src, cookie_name_confidence(key), got[0], ENV_ASSIGNMENT)
        if rule:
            yield Detection(rule, got[1], got[2], got[0], key=key, key_start=m.start())
    for m in src.finditer(_EX_KEY_STRING):
        got = _elixir_literal(text, m.end())
        if got and _literal_ok(got[0]):
            rule = _assignment_rule(src, cookie_name_confidence(m.group("key")), got[0],
                                    ENV_ASSIGNMENT)
            if rule:
                yield Detection(rule, got[1], got[2], got[0], key=m.group("key"),
                                key_start=m.start())
