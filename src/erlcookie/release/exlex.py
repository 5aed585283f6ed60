"""A tokenizer for Elixir source, enough to find and cut keyword entries in mix.exs.

It knows everything that can hide a bracket, a comma or a `#` from a naive scan: comments,
strings and charlists with escapes and nested `#{...}` interpolation, heredocs, sigils with
all eight delimiters (and heredoc sigils), quoted atoms and keyword keys, and `?c` character
literals (`?#`, `?"`). Tokens keep their offsets so edits can remove exactly one keyword
entry and leave every other byte of the file alone; `verify_removal` then re-tokenizes the
result to prove only the intended tokens went away.
"""

from __future__ import annotations

from dataclasses import dataclass

from erlcookie.text import line_col

SIGIL_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">", "/": "/", "|": "|", '"': '"', "'": "'"}
ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "s": " ",
    "e": "\x1b",
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "d": "\x7f",
    "f": "\f",
    "v": "\v",
}
OPERATORS = (
    "...",
    "===",
    "!==",
    "<<<",
    ">>>",
    "|||",
    "&&&",
    "~~~",
    "^^^",
    "<|>",
    "<~>",
    "|>",
    "->",
    "<-",
    "=>",
    "::",
    "..",
    "++",
    "--",
    "<>",
    "==",
    "!=",
    "&&",
    "||",
    "<=",
    ">=",
    "\\\\",
    "=~",
    "%{",
    "<<",
    ">>",
    "**",
    "//",
    "<~",
    "~>",
)
OPENERS = {"(": ")", "[": "]", "{": "}", "%{": "}", "<<": ">>"}
BLOCK_OPENERS = ("do", "fn")
# `"#{"#{...}"}"` nests a string in an interpolation in a string: each level is a few
# Python frames, so the depth is bounded far below the interpreter's recursion limit.
MAX_INTERPOLATION_DEPTH = 64


class ElixirSyntaxError(ValueError):
    def __init__(self, message: str, offset: int, source: str):
        self.offset = offset
        self.line, self.column = line_col(source, offset)
        super().__init__(f"line {self.line}, column {self.column}: {message}")


@dataclass(frozen=True)
class Tok:
    kind: str  # comment string charlist sigil atom kwkey ident alias number char punct
    text: str  # the source text of the token
    start: int
    end: int
    value: str | None = None  # decoded literal text; None when interpolated or not a literal
    newline_before: bool = False


class _Lexer:
    def __init__(self, src: str):
        self.src = src
        self.n = len(src)
        self.depth = 0  # interpolations open around the current position

    def fail(self, message: str, at: int):
        raise ElixirSyntaxError(message, at, self.src)

    # -- quoted text --------------------------------------------------------------------
    def quoted(
        self, i: int, close: str, *, escapes: bool, interpolation: bool, heredoc: bool = False
    ) -> tuple[str | None, int]:
        """Read up to the closing delimiter; return (decoded value or None, next index)."""
        src, out, literal = self.src, [], True
        start = i
        while True:
            if i >= self.n:
                self.fail("unterminated string, charlist or sigil", start)
            if heredoc:
                if src.startswith(close, i) and src[src.rfind("\n", 0, i) + 1 : i].strip() == "":
                    value = "".join(out)
                    return (
                        self._dedent(value, src[src.rfind("\n", 0, i) + 1 : i]) if literal else None
                    ), i + len(close)
            elif src.startswith(close, i):
                return ("".join(out) if literal else None), i + len(close)
            ch = src[i]
            if ch == "\\" and i + 1 < self.n:
                nxt = src[i + 1]
                if escapes:
                    if nxt == "\n":
                        i += 2
                        continue
                    if nxt in "xu":
                        literal = False  # rare in configs; do not guess its value
                        i += 2
                        continue
                    out.append(ESCAPES.get(nxt, nxt))
                else:
                    # Uppercase sigils keep backslashes but still let one escape the end.
                    out.append(nxt if src.startswith(close, i + 1) else "\\" + nxt)
                i += 2
                continue
            if interpolation and ch == "#" and i + 1 < self.n and src[i + 1] == "{":
                i = self.skip_interpolation(i + 2)
                literal = False
                continue
            out.append(ch)
            i += 1

    @staticmethod
    def _dedent(value: str, indent: str) -> str:
        lines = value.split("\n")
        if lines and lines[0] == "":
            lines = lines[1:]
        return "\n".join(
            line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines
        )

    def skip_interpolation(self, i: int) -> int:
        """Index after the `}` that closes an interpolation whose body starts at i."""
        if self.depth >= MAX_INTERPOLATION_DEPTH:
            self.fail(f"interpolation nested more than {MAX_INTERPOLATION_DEPTH} levels deep", i)
        self.depth += 1
        depth = 0
        while True:
            tok, i = self.next_token(i, newline_before=False)
            if tok is None:
                self.fail("unterminated interpolation", i)
            if tok.kind == "punct":
                if tok.text in ("{", "%{"):
                    depth += 1
                elif tok.text == "}":
                    if depth == 0:
                        self.depth -= 1
                        return tok.end
                    depth -= 1

    # -- one token ----------------------------------------------------------------------
    def next_token(self, i: int, newline_before: bool) -> tuple[Tok | None, int]:
        src, n = self.src, self.n
        while i < n and src[i].isspace():
            i += 1
        if i >= n:
            return None, i
        start, ch = i, src[i]

        def tok(kind: str, end: int, value: str | None = None) -> tuple[Tok, int]:
            return Tok(kind, src[start:end], start, end, value, newline_before), end

        if ch == "#":
            nl = src.find("\n", i)
            return tok("comment", n if nl < 0 else nl)
        if src.startswith('"""', i) or src.startswith("'''", i):
            q = src[i : i + 3]
            if src.find("\n", i + 3) < 0:
                self.fail("unterminated heredoc", i)
            value, end = self.quoted(
                src.index("\n", i + 3) + 1, q, escapes=True, interpolation=True, heredoc=True
            )
            kind = "string" if q == '"""' else "charlist"
            return tok(kind, end, value)
        if ch in "\"'":
            value, end = self.quoted(i + 1, ch, escapes=True, interpolation=True)
            if end < n and src[end] == ":" and (end + 1 >= n or src[end + 1].isspace()):
                return tok("kwkey", end + 1, value)
            return tok("string" if ch == '"' else "charlist", end, value)
        if ch == "~" and i + 1 < n and src[i + 1].isalpha():
            j = i + 1
            if src[j].isupper():
                while j < n and (src[j].isupper() or src[j].isdigit()):
                    j += 1
            else:
                j += 1
            letters = src[i + 1 : j]
            raw = letters[0].isupper()
            if src.startswith('"""', j) or src.startswith("'''", j):
                q = src[j : j + 3]
                if src.find("\n", j + 3) < 0:
                    self.fail("unterminated sigil heredoc", i)
                value, end = self.quoted(
                    src.index("\n", j + 3) + 1,
                    q,
                    escapes=not raw,
                    interpolation=not raw,
                    heredoc=True,
                )
            else:
                if j >= n or src[j] not in SIGIL_PAIRS:
                    self.fail("unknown sigil delimiter", j)
                value, end = self.quoted(
                    j + 1, SIGIL_PAIRS[src[j]], escapes=not raw, interpolation=not raw
                )
            while end < n and src[end].isalnum():
                end += 1  # modifiers
            return tok("sigil", end, value if letters in ("s", "S", "c", "C") else None)
        if ch == ":" and i + 1 < n:
            nxt = src[i + 1]
            if nxt in "\"'":
                value, end = self.quoted(i + 2, nxt, escapes=True, interpolation=True)
                return tok("atom", end, value)
            if nxt.isalpha() or nxt == "_":
                j = i + 1
                while j < n and (src[j].isalnum() or src[j] in "_@"):
                    j += 1
                if j < n and src[j] in "?!":
                    j += 1
                return tok("atom", j, src[i + 1 : j])
        if ch == "?" and i + 1 < n and not src[i + 1].isspace():
            if src[i + 1] == "\\" and i + 2 < n:
                return tok("char", i + 3)
            return tok("char", i + 2)
        if ch.isdigit():
            j = i
            while j < n and (
                src[j].isalnum()
                or src[j] == "_"
                or (src[j] == "." and j + 1 < n and src[j + 1].isdigit())
            ):
                j += 1
            return tok("number", j)
        if ch.isalpha() or ch == "_":
            j = i
            while j < n and (src[j].isalnum() or src[j] == "_"):
                j += 1
            if j < n and src[j] in "?!":
                j += 1
            if j < n and src[j] == ":" and (j + 1 >= n or src[j + 1].isspace()):
                return tok("kwkey", j + 1, src[i:j])
            return tok("alias" if ch.isupper() else "ident", j, src[i:j])
        for op in OPERATORS:
            if src.startswith(op, i):
                return tok("punct", i + len(op))
        return tok("punct", i + 1)

    def tokens(self) -> list[Tok]:
        out: list[Tok] = []
        i = 0
        while True:
            j = i
            while j < self.n and self.src[j].isspace():
                j += 1
            tok, i = self.next_token(j, "\n" in self.src[i:j] or not out)
            if tok is None:
                return out
            out.append(tok)


def tokenize(src: str) -> list[Tok]:
    """All tokens (comments included); raise ElixirSyntaxError on what it cannot read."""
    return _Lexer(src).tokens()


def code(tokens: list[Tok]) -> list[Tok]:
    return [t for t in tokens if t.kind != "comment"]


def match_brackets(tokens: list[Tok], src: str) -> dict[int, int]:
    """Map each opener's index to its closer's index (brackets and do/fn ... end)."""
    pairs: dict[int, int] = {}
    stack: list[tuple[int, str]] = []
    for idx, t in enumerate(tokens):
        if t.kind == "punct" and t.text in OPENERS:
            stack.append((idx, OPENERS[t.text]))
        elif t.kind == "ident" and t.text in BLOCK_OPENERS:
            stack.append((idx, "end"))
        elif (t.kind == "punct" and t.text in (")", "]", "}", ">>")) or (
            t.kind == "ident" and t.text == "end"
        ):
            if not stack or stack[-1][1] != t.text:
                raise ElixirSyntaxError(f"unbalanced '{t.text}'", t.start, src)
            pairs[stack.pop()[0]] = idx
    if stack:
        raise ElixirSyntaxError("unclosed bracket or block", tokens[stack[-1][0]].start, src)
    return pairs


def value_end(tokens: list[Tok], first: int, pairs: dict[int, int]) -> int:
    """Index of the last token of the expression starting at `first` (ends at , or a closer)."""
    idx = first
    last = first - 1
    while idx < len(tokens):
        t = tokens[idx]
        if t.kind == "punct" and t.text in (",", ")", "]", "}", ">>"):
            break
        if t.kind == "ident" and t.text == "end":
            break
        if t.kind == "kwkey" and idx > first:
            break  # the next entry of a keyword list without a comma cannot happen; be safe
        if idx in pairs:
            idx = pairs[idx]
        last = idx
        idx += 1
    return last
