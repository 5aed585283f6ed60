"""Erlang terms as `file:consult/1` reads them (rebar.config, relx.config), with positions.

`check` must be fast and must not need Erlang, so this is a careful pure-Python tokenizer
and term parser. Every token and term keeps its character offsets, which lets the fixers
change a single token (`vm_args` -> `vm_args_src`) or insert one element and leave every
other byte of the file, comments included, as it was. Anything it does not understand
raises `ErlangSyntaxError`: the callers then refuse to touch the file.

`tokenize(..., lenient=True)` is the forgiving mode used to look through Erlang *source*
files for `erlang:set_cookie/1,2` calls; it never raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from erlcookie.text import line_col

ESCAPES = {
    "b": "\b",
    "d": "\x7f",
    "e": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "s": " ",
    "t": "\t",
    "v": "\v",
    "'": "'",
    '"': '"',
    "\\": "\\",
}
# Longest first, so `=>` wins over `=` and `<<` over `<`.
PUNCTUATION = (
    "=:=",
    "=/=",
    "...",
    "<<",
    ">>",
    "=>",
    ":=",
    "->",
    "<-",
    "<=",
    "||",
    "::",
    "==",
    "/=",
    "=<",
    ">=",
    "++",
    "--",
    "!",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ",",
    "|",
    ":",
    ";",
    "#",
    "?",
    "=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
)


class ErlangSyntaxError(ValueError):
    """Text that is not a sequence of Erlang terms (the message never quotes the text)."""

    def __init__(self, message: str, offset: int, source: str):
        self.offset = offset
        self.line, self.column = line_col(source, offset)
        super().__init__(f"line {self.line}, column {self.column}: {message}")


@dataclass(frozen=True)
class Token:
    kind: str  # atom var string char int float punct dot comment
    value: object
    start: int
    end: int


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_@"


def _escape(src: str, i: int) -> tuple[str, int]:
    """Decode the escape whose backslash is at src[i-1]; return (char, next index)."""
    if i >= len(src):
        raise IndexError
    ch = src[i]
    if ch in "01234567":
        j = i
        while j < len(src) and j < i + 3 and src[j] in "01234567":
            j += 1
        return chr(int(src[i:j], 8)), j
    if ch == "x":
        if i + 1 < len(src) and src[i + 1] == "{":
            close = src.index("}", i + 2)
            return chr(int(src[i + 2 : close], 16)), close + 1
        return chr(int(src[i + 1 : i + 3], 16)), i + 3
    if ch == "^":
        return chr(ord(src[i + 1]) & 31), i + 2
    return ESCAPES.get(ch, ch), i + 1


def _quoted(src: str, i: int, quote: str) -> tuple[str, int]:
    """Read a quoted atom or string starting after its opening quote."""
    out = []
    while True:
        if i >= len(src):
            raise IndexError
        ch = src[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            decoded, i = _escape(src, i + 1)
            out.append(decoded)
            continue
        out.append(ch)
        i += 1


def _number(src: str, i: int) -> tuple[str, object, int]:
    j = i
    while j < len(src) and (src[j].isdigit() or src[j] == "_"):
        j += 1
    if j < len(src) and src[j] == "#":  # Base#Digits
        base = int(src[i:j].replace("_", ""))
        k = j + 1
        while k < len(src) and (src[k].isalnum() or src[k] == "_"):
            k += 1
        return "int", int(src[j + 1 : k].replace("_", ""), base), k
    if j + 1 < len(src) and src[j] == "." and src[j + 1].isdigit():
        k = j + 1
        while k < len(src) and (src[k].isdigit() or src[k] == "_"):
            k += 1
        if k < len(src) and src[k] in "eE":
            m = k + 1
            if m < len(src) and src[m] in "+-":
                m += 1
            if m < len(src) and src[m].isdigit():
                while m < len(src) and src[m].isdigit():
                    m += 1
                k = m
        return "float", float(src[i:k].replace("_", "")), k
    return "int", int(src[i:j].replace("_", "")), j


def tokenize(src: str, *, lenient: bool = False, keep_comments: bool = False) -> list[Token]:
    """Split Erlang text into tokens; raise ErlangSyntaxError unless `lenient`."""
    tokens: list[Token] = []
    i, n = 0, len(src)

    def fail(message: str, at: int):
        raise ErlangSyntaxError(message, at, src)

    while i < n:
        ch = src[i]
        start = i
        if ch.isspace():
            i += 1
            continue
        if ch == "%":
            end = src.find("\n", i)
            end = n if end < 0 else end
            if keep_comments:
                tokens.append(Token("comment", src[i:end], i, end))
            i = end
            continue
        try:
            if ch.isalpha() and ch.islower():
                while i < n and _is_name_char(src[i]):
                    i += 1
                tokens.append(Token("atom", src[start:i], start, i))
            elif ch.isalpha() or ch == "_":
                while i < n and _is_name_char(src[i]):
                    i += 1
                tokens.append(Token("var", src[start:i], start, i))
            elif ch == "'":
                value, i = _quoted(src, i + 1, "'")
                tokens.append(Token("atom", value, start, i))
            elif ch == '"':
                if src.startswith('"""', i) and not lenient:
                    fail("triple-quoted strings are not supported", i)
                value, i = _quoted(src, i + 1, '"')
                tokens.append(Token("string", value, start, i))
            elif ch == "$":
                if i + 1 >= n:
                    fail("character literal at end of file", i)
                if src[i + 1] == "\\":
                    value, i = _escape(src, i + 2)
                else:
                    value, i = src[i + 1], i + 2
                tokens.append(Token("char", ord(value), start, i))
            elif ch.isdigit():
                kind, value, i = _number(src, i)
                tokens.append(Token(kind, value, start, i))
            elif ch == "." and (i + 1 >= n or src[i + 1].isspace() or src[i + 1] == "%"):
                tokens.append(Token("dot", ".", start, i + 1))
                i += 1
            else:
                for punct in PUNCTUATION:
                    if src.startswith(punct, i):
                        tokens.append(Token("punct", punct, start, i + len(punct)))
                        i += len(punct)
                        break
                else:
                    if not lenient:
                        fail("unexpected character (not shown: it may be part of a secret)", i)
                    tokens.append(Token("punct", ch, start, i + 1))
                    i += 1
        except (IndexError, ValueError) as exc:
            if isinstance(exc, ErlangSyntaxError):
                raise
            if lenient:
                break
            fail("unterminated or malformed literal", start)
    return tokens


# -- terms -----------------------------------------------------------------------------------
@dataclass
class Term:
    start: int
    end: int


@dataclass
class Atom(Term):
    name: str = ""


@dataclass
class Str(Term):
    value: str = ""
    tokens: list[Token] = field(default_factory=list)  # adjacent literals concatenate


@dataclass
class Num(Term):
    value: object = 0


@dataclass
class Tuple(Term):
    items: list[Term] = field(default_factory=list)

    def tag(self) -> str | None:
        if self.items and isinstance(self.items[0], Atom):
            return self.items[0].name
        return None


@dataclass
class List(Term):
    items: list[Term] = field(default_factory=list)
    tail: Term | None = None
    open_end: int = 0  # offset just after '['


@dataclass
class Map(Term):
    pairs: list[tuple[Term, Term]] = field(default_factory=list)


@dataclass
class Bin(Term):
    items: list[Term] = field(default_factory=list)


class _Parser:
    def __init__(self, src: str, tokens: list[Token]):
        self.src = src
        self.tokens = tokens
        self.pos = 0

    def fail(self, message: str, token: Token | None = None):
        offset = token.start if token else (self.tokens[-1].end if self.tokens else 0)
        raise ErlangSyntaxError(message, offset, self.src)

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            self.fail("unexpected end of file (a term is not finished)")
        self.pos += 1
        return tok

    def expect(self, text: str) -> Token:
        tok = self.take()
        if tok.kind not in ("punct", "dot") or tok.value != text:
            self.fail(f"expected '{text}'", tok)
        return tok

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "punct" and tok.value == text

    def term(self, depth: int = 0) -> Term:
        if depth > 200:
            self.fail("terms nested too deeply", self.peek())
        tok = self.take()
        if tok.kind == "atom":
            return Atom(tok.start, tok.end, name=tok.value)
        if tok.kind == "string":
            parts = [tok]
            while (nxt := self.peek()) is not None and nxt.kind == "string":
                parts.append(self.take())
            return Str(
                tok.start, parts[-1].end, value="".join(p.value for p in parts), tokens=parts
            )
        if tok.kind in ("int", "float", "char"):
            return Num(tok.start, tok.end, value=tok.value)
        if tok.kind == "var":
            self.fail("variables are not allowed in a config file", tok)
        if tok.kind == "punct":
            if tok.value == "-" or tok.value == "+":
                num = self.take()
                if num.kind not in ("int", "float"):
                    self.fail("expected a number after the sign", num)
                value = -num.value if tok.value == "-" else num.value
                return Num(tok.start, num.end, value=value)
            if tok.value == "{":
                items = self.sequence("}", depth)
                return Tuple(tok.start, self.tokens[self.pos - 1].end, items=items)
            if tok.value == "[":
                items: list[Term] = []
                tail = None
                if not self.at("]"):
                    items.append(self.term(depth + 1))
                    while self.at(","):
                        self.take()
                        items.append(self.term(depth + 1))
                    if self.at("|"):
                        self.take()
                        tail = self.term(depth + 1)
                close = self.expect("]")
                return List(tok.start, close.end, items=items, tail=tail, open_end=tok.end)
            if tok.value == "<<":
                items = self.sequence(">>", depth)
                return Bin(tok.start, self.tokens[self.pos - 1].end, items=items)
            if tok.value == "#":
                self.expect("{")
                pairs = []
                if not self.at("}"):
                    while True:
                        key = self.term(depth + 1)
                        self.expect("=>")
                        pairs.append((key, self.term(depth + 1)))
                        if not self.at(","):
                            break
                        self.take()
                close = self.expect("}")
                return Map(tok.start, close.end, pairs=pairs)
        self.fail("expected a term", tok)

    def sequence(self, close: str, depth: int) -> list[Term]:
        items: list[Term] = []
        if self.at(close):
            self.take()
            return items
        items.append(self.term(depth + 1))
        while self.at(","):
            self.take()
            items.append(self.term(depth + 1))
        self.expect(close)
        return items


def parse_terms(src: str) -> list[Term]:
    """All the terms of a consult-style file, each ended by a dot."""
    parser = _Parser(src, tokenize(src))
    terms = []
    while parser.peek() is not None:
        terms.append(parser.term())
        end = parser.take()
        if end.kind != "dot":
            parser.fail("expected '.' after a term", end)
    return terms


def proplist_get(lst: List, key: str) -> list[Tuple]:
    """Every `{key, ...}` tuple of a proplist, in order."""
    return [item for item in lst.items if isinstance(item, Tuple) and item.tag() == key]


def walk(term: Term):
    """Depth-first over a term and everything inside it."""
    yield term
    children: list[Term] = []
    if isinstance(term, (Tuple, Bin)):
        children = term.items
    elif isinstance(term, List):
        children = term.items + ([term.tail] if term.tail is not None else [])
    elif isinstance(term, Map):
        children = [t for pair in term.pairs for t in pair]
    for child in children:
        yield from walk(child)


def erlang_string(value: str) -> str:
    """An Erlang string literal for `value` (for text the fixers insert)."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
