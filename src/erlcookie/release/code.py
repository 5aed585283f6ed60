"""Literal cookies set from code, and baked into images.

`Node.set_cookie(:"...")`, `:erlang.set_cookie(node(), :abc)` and Erlang's
`erlang:set_cookie(node(), abc)` override whatever the release was started with, so a
literal there defeats RELEASE_COOKIE. A cookie that falls back to a literal
(`System.get_env("C") || "x"`) is reported too. These are not fixed automatically: the
right replacement depends on the code around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from erlcookie.release import erlterms as et
from erlcookie.release import exlex
from erlcookie.release.common import finding
from erlcookie.release.layout import MAX_TEXT, Tree, read_regular
from erlcookie.release.model import Finding

ELIXIR_SUFFIXES = (".ex", ".exs")
ERLANG_SUFFIXES = (".erl", ".hrl", ".escript")
ELIXIR_MODULES = {"Node", ":erlang", ":auth"}
CONVERTERS = {
    "to_atom",
    "to_existing_atom",
    "list_to_atom",
    "binary_to_atom",
    "list_to_existing_atom",
    "binary_to_existing_atom",
    "to_charlist",
    "to_string",
}
DOCKER_RE = re.compile(r"^\s*(?:ENV|ARG)\s+(?P<rest>.*\bRELEASE_COOKIE\b.*)$", re.M | re.I)
DOCKER_PAIR_RE = re.compile(r"\bRELEASE_COOKIE(?:=|\s+)(?P<value>\"[^\"]*\"|'[^']*'|[^\s\\]+)")


def _read(path: Path) -> str | None:
    try:
        data = read_regular(path)
        return None if len(data) > MAX_TEXT else data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


# -- Elixir ----------------------------------------------------------------------------------
LITERAL_KINDS = ("atom", "string", "charlist", "sigil")


@dataclass(frozen=True)
class Attribute:
    """A module attribute defined as a literal (`@cookie "x"`) or a literal fallback."""

    start: int  # offset of the `@` of its definition
    end: int  # offset after its value
    value: str = field(repr=False)
    fallback: bool = False


def module_attributes(tokens: list[exlex.Tok]) -> dict[str, list[Attribute]]:
    """Every `@name <literal>` definition opening its line, by name, in file order.

    `cookie: @cookie` is the literal it names: treating it as an expression would let a
    literal cookie pass `release check` as "computed at build time".
    """
    out: dict[str, list[Attribute]] = {}
    n = len(tokens)
    for i in range(n - 2):
        at, name = tokens[i], tokens[i + 1]
        if not (
            at.text == "@"
            and at.newline_before
            and name.kind == "ident"
            and not name.newline_before
            and not tokens[i + 2].newline_before
        ):
            continue
        last = i + 2
        while last + 1 < n and not tokens[last + 1].newline_before:
            last += 1
        value, fallback = literal_argument(tokens, list(range(i + 2, last + 1)))
        if value is not None:
            out.setdefault(name.text, []).append(
                Attribute(at.start, tokens[last].end, value, fallback)
            )
    return out


def with_attributes(
    tokens: list[exlex.Tok], idxs: list[int], attributes: dict[str, list[Attribute]]
) -> tuple[list[exlex.Tok], bool]:
    """The tokens at `idxs` with each `@name` that names a literal attribute replaced by a
    string token holding its value; and whether one of those was a literal fallback."""
    out: list[exlex.Tok] = []
    fallback = False
    skip = False
    for k, i in enumerate(idxs):
        if skip:
            skip = False
            continue
        tok = tokens[i]
        if tok.text == "@" and k + 1 < len(idxs) and tokens[idxs[k + 1]].kind == "ident":
            name = tokens[idxs[k + 1]]
            defined = [a for a in attributes.get(name.text, []) if a.start < tok.start]
            if defined:
                out.append(
                    exlex.Tok(
                        "string", tok.text + name.text, tok.start, name.end, defined[-1].value
                    )
                )
                fallback = fallback or defined[-1].fallback
                skip = True
                continue
        out.append(tok)
    return out, fallback


def literal_argument(tokens: list[exlex.Tok], idxs: list[int]) -> tuple[str | None, bool]:
    """(literal cookie, is_fallback) of an argument's tokens."""
    toks = [tokens[i] for i in idxs]
    literal_kinds = LITERAL_KINDS
    if len(toks) == 1 and toks[0].kind in literal_kinds and toks[0].value is not None:
        return toks[0].value, False
    # String.to_atom("x") / :erlang.list_to_atom('x') / List.to_atom(~c"x")
    if (
        len(toks) >= 4
        and toks[-1].text == ")"
        and toks[-3].text == "("
        and toks[-4].text in CONVERTERS
        and toks[-2].kind in literal_kinds
        and toks[-2].value
    ):
        return toks[-2].value, False
    for j, tok in enumerate(toks[:-1]):
        nxt = toks[j + 1]
        if tok.text == "||" and nxt.kind in literal_kinds and nxt.value:
            return nxt.value, True
    # System.get_env("VAR", "default")
    for j, tok in enumerate(toks):
        if tok.text == "get_env" and j + 1 < len(toks) and toks[j + 1].text == "(":
            inner = [t for t in toks[j + 2 :] if t.text != ")"]
            if (
                len(inner) == 3
                and inner[1].text == ","
                and inner[2].kind in literal_kinds
                and inner[2].value
            ):
                return inner[2].value, True
    return None, False


def scan_elixir(text: str, shown: str) -> list[Finding]:
    try:
        tokens = exlex.code(exlex.tokenize(text))
        pairs = exlex.match_brackets(tokens, text)
    except exlex.ElixirSyntaxError:
        return []  # not our file to judge; `erlcookie scan` reads it as text
    out = []
    attributes: dict[str, list[Attribute]] | None = None
    for i in range(len(tokens) - 3):
        mod, dot, fun, paren = tokens[i : i + 4]
        if not (
            mod.text in ELIXIR_MODULES
            and dot.text == "."
            and fun.text == "set_cookie"
            and paren.text == "("
            and (i + 3) in pairs
        ):
            continue
        close = pairs[i + 3]
        args: list[list[int]] = [[]]
        k = i + 4
        while k < close:
            if tokens[k].kind == "punct" and tokens[k].text == ",":
                args.append([])
            else:
                stop = pairs.get(k, k)
                args[-1].extend(range(k, stop + 1))
                k = stop
            k += 1
        args = [a for a in args if a]
        if not args:
            continue
        if attributes is None:
            attributes = module_attributes(tokens)
        resolved, attribute_fallback = with_attributes(tokens, args[-1], attributes)
        value, fallback = literal_argument(resolved, list(range(len(resolved))))
        fallback = fallback or attribute_fallback
        if value:
            how = "falls back to a literal" if fallback else "is a literal"
            out.append(
                finding(
                    "release/set-cookie-literal",
                    shown,
                    text,
                    mod.start,
                    f"{mod.text}.set_cookie: the cookie {how}",
                    fixable=False,
                    cookie=value,
                )
            )
    return out


# -- Erlang ----------------------------------------------------------------------------------
def scan_erlang(text: str, shown: str) -> list[Finding]:
    tokens = et.tokenize(text, lenient=True)
    out = []
    for i in range(len(tokens) - 3):
        mod, colon, fun, paren = tokens[i : i + 4]
        if not (
            mod.kind == "atom"
            and mod.value in ("erlang", "auth")
            and colon.value == ":"
            and fun.kind == "atom"
            and fun.value == "set_cookie"
            and paren.value == "("
        ):
            continue
        depth, args, current = 0, [], []
        k = i + 4
        while k < len(tokens):
            tok = tokens[k]
            if tok.kind == "punct" and tok.value in ("(", "[", "{", "<<"):
                depth += 1
            elif tok.kind == "punct" and tok.value in (")", "]", "}", ">>"):
                if depth == 0:
                    break
                depth -= 1
            if depth == 0 and tok.kind == "punct" and tok.value == ",":
                args.append(current)
                current = []
            else:
                current.append(tok)
            k += 1
        if current:
            args.append(current)
        if not args:
            continue
        last = args[-1]
        value = None
        if len(last) == 1 and last[0].kind in ("atom", "string"):
            value = last[0].value
        elif (
            len(last) >= 4
            and last[0].kind == "atom"
            and last[0].value in CONVERTERS
            and last[1].value == "("
        ):
            inner = [t for t in last[2:] if t.kind in ("string", "atom")]
            if inner:
                value = inner[0].value
        if value:
            out.append(
                finding(
                    "release/set-cookie-literal",
                    shown,
                    text,
                    mod.start,
                    f"{mod.value}:set_cookie: the cookie is a literal",
                    fixable=False,
                    cookie=value,
                )
            )
    return out


# -- Dockerfiles -----------------------------------------------------------------------------
def _is_dockerfile(path: Path) -> bool:
    name = path.name
    return (
        name in ("Dockerfile", "Containerfile")
        or name.startswith("Dockerfile.")
        or name.endswith((".Dockerfile", ".dockerfile"))
    )


def scan_dockerfile(text: str, shown: str) -> list[Finding]:
    out = []
    for m in DOCKER_RE.finditer(text):
        for pair in DOCKER_PAIR_RE.finditer(m.group("rest")):
            value = pair.group("value")
            if value[:1] in "\"'" and value[-1:] == value[:1]:
                value = value[1:-1]
            if value and "$" not in value:
                out.append(
                    finding(
                        "release/dockerfile-literal-cookie",
                        shown,
                        text,
                        m.start("rest") + pair.start(),
                        "the image carries a literal RELEASE_COOKIE",
                        fixable=False,
                        cookie=value,
                    )
                )
    return out


def scan(tree: Tree) -> list[Finding]:
    findings: list[Finding] = []
    for path in tree.files:
        if path.name.endswith(ELIXIR_SUFFIXES):
            scanner = scan_elixir
        elif path.name.endswith(ERLANG_SUFFIXES):
            scanner = scan_erlang
        elif _is_dockerfile(path):
            scanner = scan_dockerfile
        else:
            continue
        text = _read(path)
        if text is None or ("set_cookie" not in text and "RELEASE_COOKIE" not in text):
            continue
        findings.extend(scanner(text, tree.rel(path)))
    return findings
