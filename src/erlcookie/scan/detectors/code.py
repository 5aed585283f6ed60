"""EC003 / EC004: Elixir and Erlang code (`cookie:` in mix releases, set_cookie calls)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import ENV_ASSIGNMENT, MIX_RELEASE_COOKIE, SET_COOKIE_LITERAL
from erlcookie.scan.detectors.base import (
    Detection,
    Source,
    _assignment_rule,
    _literal_ok,
    is_elixir,
)
from erlcookie.scan.syntax import cookie_name_confidence, read_quoted

_EX_ATOM = re.compile(r":(?P<v>[A-Za-z_][\w@]*[?!]?)")
_EX_TO_ATOM = re.compile(
    r"""(?:String\.to_atom|String\.to_existing_atom|:erlang\.list_to_atom|"""
    r""":erlang\.binary_to_atom|String\.to_charlist)\(\s*(?=["'])"""
)
_ERL_ATOM = re.compile(r"(?P<v>[a-z][\w@]*)(?![\w@(:])")
_ERL_TO_ATOM = re.compile(
    r"""(?:erlang:)?(?:list_to_atom|binary_to_atom|list_to_existing_atom)"""
    r"""\(\s*(?:<<\s*)?(?=["'])"""
)


def _elixir_literal(text: str, pos: int) -> tuple[str, int, int] | None:
    """A literal atom/string/charlist at text[pos:] (no interpolation), else None."""
    ch = text[pos : pos + 1]
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
    if text.startswith(('~c"', '~s"', '~S"', '~C"', "~c'", "~s'"), pos):
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


_SET_COOKIE_CALL = re.compile(
    r"(?P<fn>\bNode\.set_cookie|:erlang\.set_cookie"
    r"|(?<![\w:.])(?:erlang|auth):set_cookie)\s*\("
)
_EX_KEYWORD = re.compile(r"(?<![\w.:@\"'])(?P<key>\w*cookie\w*):[ \t]+", re.I)
_EX_KEY_STRING = re.compile(
    r"""["'](?P<key>[^"'\n]*[Cc][Oo][Oo][Kk][Ii][Ee][^"'\n]*)["']\s*=>\s*"""
)


_RPC_CALL = re.compile(
    r"(?:(?<![\w:.])(?:rpc|erpc)|:rpc|:erpc)[:.]"
    r"(?:call|cast|block_call|multicall)\s*\("
)
# where an rpc:call is code (or a shell's `erl -eval`), not an example in another language
_RPC_SUFFIXES = frozenset(
    {".erl", ".hrl", ".ex", ".exs", ".escript", ".config", ".src", ".sh", ".bash", ".livemd", ""}
)
_EX_ATTRIBUTE = re.compile(r"(?m)^[ \t]*@(?P<name>[a-z_]\w*)[ \t]+(?=[:\"'~A-Z])")
_ATTR_USE = re.compile(r"@(?P<name>[a-z_]\w*)(?![\w(])")


def _module_attributes(src: Source) -> dict[str, tuple[str, int, int, int]]:
    """Elixir `@name literal` definitions: name -> (value, start, end, key offset)."""
    out: dict[str, tuple[str, int, int, int]] = {}
    if "@" not in src.text or not is_elixir(src):
        return out
    for m in _EX_ATTRIBUTE.finditer(src.text):
        got = _elixir_literal(src.text, m.end())
        if got and _literal_ok(got[0]):
            out.setdefault(m.group("name"), (got[0], got[1], got[2], m.start("name") - 1))
    return out


def _literal_or_attribute(
    src: Source, pos: int, erlang: bool, attributes
) -> tuple[str, int, int, str | None] | None:
    """The literal at `pos`, or the literal an Elixir module attribute there holds (reported
    where the attribute is defined: `cookie: @cookie` is the literal `@cookie "..."`)."""
    text = src.text
    if not erlang and text.startswith("@", pos):
        m = _ATTR_USE.match(text, pos)
        if m is None:
            return None
        if attributes is None:
            return None
        got = attributes.get(m.group("name"))
        return (got[0], got[1], got[2], "@" + m.group("name")) if got else None
    got = _erlang_literal(text, pos) if erlang else _elixir_literal(text, pos)
    return (got[0], got[1], got[2], None) if got else None


def detect_code_calls(src: Source) -> Iterator[Detection]:
    text = src.text
    if "set_cookie" not in text:
        return
    attributes = _module_attributes(src)
    for m in _SET_COOKIE_CALL.finditer(text):
        spans = _call_args(text, m.end() - 1)
        if not spans:
            continue
        yield from _set_cookie_arg(
            src,
            spans[-1],
            ":" in m.group("fn") and not m.group("fn").startswith(":erlang."),
            m.group("fn").lstrip(":"),
            m.start(),
            attributes,
        )
    for m in _RPC_CALL.finditer(text) if src.suffix in _RPC_SUFFIXES else ():
        # rpc:call(Node, erlang, set_cookie, [Node, cookie]): the cookie is the list's last element
        spans = _call_args(text, m.end() - 1)
        if len(spans) < 4:
            continue
        fn = text[spans[2][0] : spans[2][1]].strip().lstrip(":")
        mod = text[spans[1][0] : spans[1][1]].strip().lstrip(":")
        if fn != "set_cookie" or mod not in ("erlang", "auth"):
            continue
        a, b = spans[3]
        while a < b and text[a] in " \t\r\n":
            a += 1
        if not text.startswith("[", a):
            continue
        inner = _call_args(text, a)
        if not inner:
            continue
        erlang = not text.startswith(":", m.start())
        yield from _set_cookie_arg(src, inner[-1], erlang, "rpc set_cookie", m.start(), attributes)


def _set_cookie_arg(
    src: Source, span: tuple[int, int], erlang: bool, key: str, key_start: int, attributes
) -> Iterator[Detection]:
    text = src.text
    a, b = span
    while a < b and text[a] in " \t\r\n":
        a += 1
    got = _literal_or_attribute(src, a, erlang, attributes)
    if not got:
        return
    value, vs, ve, attribute = got
    if attribute is None:
        rest = text[ve:b].strip().lstrip("\"')>").strip()
        if rest.replace(",", "").replace("utf8", "").replace("latin1", "").strip(" )]"):
            return  # more than a literal (an expression): not a leak we can name
    elif text[a + len(attribute) : b].strip():
        return
    if _literal_ok(value):
        yield Detection(
            SET_COOKIE_LITERAL,
            vs,
            ve,
            value,
            key=attribute or key,
            key_start=key_start if attribute is None else vs,
            note="module attribute used as the cookie" if attribute else None,
        )


# `config :app, :cookie, "x"` (Elixir config), `set :erlang_cookie, "x"` (Capistrano, Ruby)
_SYMBOL_PAIR = re.compile(r"(?<![\w:]):(?P<key>\w*[Cc]ookie\w*)\s*,\s*(?=[:\"'~])")
_RUBY_SUFFIXES = (".rb", ".rake")


def detect_symbol_pairs(src: Source) -> Iterator[Detection]:
    ruby = src.suffix in _RUBY_SUFFIXES or src.name in ("Capfile", "Rakefile")
    if not (ruby or is_elixir(src)):
        return
    text = src.text
    for m in src.finditer(_SYMBOL_PAIR):
        key = m.group("key")
        got = _elixir_literal(text, m.end())
        if not got or not _literal_ok(got[0]):
            continue
        confidence = cookie_name_confidence(key)
        if key.lower() == "cookie" and not ruby:
            confidence = "high"  # Elixir config: the node's cookie
        rule = _assignment_rule(src, confidence, got[0], ENV_ASSIGNMENT) if confidence else None
        if rule:
            yield Detection(rule, got[1], got[2], got[0], key=key, key_start=m.start("key"))


def detect_elixir_config(src: Source) -> Iterator[Detection]:
    if not is_elixir(src):
        return
    text = src.text
    attributes = None
    for m in src.finditer(_EX_KEYWORD):
        key = m.group("key")
        if text.startswith("@", m.end()):
            if attributes is None:
                attributes = _module_attributes(src)
            got = _literal_or_attribute(src, m.end(), False, attributes)
            if not got:
                continue
            value, vs, ve, attribute = got
            note = "module attribute used as the cookie"
        else:
            lit = _elixir_literal(text, m.end())
            if not lit:
                continue
            (value, vs, ve), note = lit, None
        if not _literal_ok(value):
            continue
        if key.lower() == "cookie":
            rule = MIX_RELEASE_COOKIE
        else:
            rule = _assignment_rule(src, cookie_name_confidence(key), value, ENV_ASSIGNMENT)
        if rule:
            yield Detection(rule, vs, ve, value, key=key, key_start=m.start(), note=note)
    for m in src.finditer(_EX_KEY_STRING):
        got = _elixir_literal(text, m.end())
        if got and _literal_ok(got[0]):
            rule = _assignment_rule(
                src, cookie_name_confidence(m.group("key")), got[0], ENV_ASSIGNMENT
            )
            if rule:
                yield Detection(
                    rule, got[1], got[2], got[0], key=m.group("key"), key_start=m.start()
                )
