"""vm.args files, read the way `erlexec` reads an `-args_file`, with positions.

Checked against erlexec on OTP 25: `#` starts a comment anywhere outside quotes (even in
the middle of a word), double and single quotes group text and are removed (no escapes
inside them), a backslash outside quotes escapes the next character, and words run
together (`a"b c"d` is `ab cd`). A flag is a word starting with `-` or `+`; the words up
to the next flag are its arguments, so `-setcookie C` sets the node's own cookie and
`-setcookie Node C` the cookie used with one peer.

Only the spans of the words change when we rewrite, so comments, blank lines and every
other flag stay byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from erlcookie.text import line_of  # noqa: F401  (the analyzers call vmargs.line_of)

VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class VmArgsError(ValueError):
    def __init__(self, message: str, line: int):
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class Word:
    value: str  # after quote removal: what erl sees
    raw: str  # the source text
    start: int
    end: int


@dataclass
class Flag:
    word: Word
    args: list[Word] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.word.value

    @property
    def end(self) -> int:
        return self.args[-1].end if self.args else self.word.end


def words(text: str) -> list[Word]:
    """Split vm.args text into words; raise VmArgsError on an unterminated quote."""
    out: list[Word] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        start = i
        value = []
        while i < n and not text[i].isspace():
            ch = text[i]
            if ch == "#":
                break
            if ch in "\"'":
                close = text.find(ch, i + 1)
                if close < 0:
                    raise VmArgsError("unterminated quote", text.count("\n", 0, i) + 1)
                value.append(text[i + 1 : close])
                i = close + 1
                continue
            if ch == "\\" and i + 1 < n:
                value.append(text[i + 1])
                i += 2
                continue
            value.append(ch)
            i += 1
        out.append(Word("".join(value), text[start:i], start, i))
    return out


def flags(text: str) -> list[Flag]:
    result: list[Flag] = []
    for word in words(text):
        if word.raw[:1] in "-+" and word.value[:1] in "-+":
            result.append(Flag(word))
        elif result:
            result[-1].args.append(word)
        # words before the first flag are ignored by erl (and do not occur in practice)
    return result


_COMMENT_LEAD = re.compile(r"[ \t]*[#%]+[ \t]*")


def _shifted(flag: Flag, by: int) -> Flag:
    def move(w: Word) -> Word:
        return Word(w.value, w.raw, w.start + by, w.end + by)

    return Flag(move(flag.word), [move(w) for w in flag.args])


def _lines(text: str):
    pos = 0
    for line in text.splitlines(keepends=True):
        yield pos, line
        pos += len(line)


def every_flag(text: str) -> list[Flag]:
    """Every flag a reader of the file can see, for the scanner: the active ones as erl reads
    them, and those in comment lines (`## -setcookie X`: erl skips them, but the cookie is
    in the repository all the same). A line erl cannot read (an unterminated quote) is left
    out instead of failing the whole file; `parse` is the strict reader for `release`."""
    try:
        found = flags(text)
    except VmArgsError:
        found = []
        for pos, line in _lines(text):
            try:
                found += [_shifted(f, pos) for f in flags(line)]
            except VmArgsError:
                continue
    for pos, line in _lines(text):
        lead = _COMMENT_LEAD.match(line)
        if (
            lead is None
            or not lead.group().strip()
            or line[lead.end() : lead.end() + 1] not in "-+"
        ):
            continue
        try:
            found += [_shifted(f, pos + lead.end()) for f in flags(line[lead.end() :])]
        except VmArgsError:
            continue
    found.sort(key=lambda f: f.word.start)
    return found


def parse(text: str, shown: str) -> list[Flag]:
    """`flags`, with an unreadable file reported as a ReleaseParseError (exit 3)."""
    from erlcookie.release.model import ReleaseParseError

    try:
        return flags(text)
    except VmArgsError as exc:
        raise ReleaseParseError(shown, str(exc)) from None


def find(flag_list: list[Flag], name: str) -> list[Flag]:
    return [f for f in flag_list if f.name == name]


def line_bounds(text: str, offset: int) -> tuple[int, int]:
    """Start of the line holding `offset` and the offset after its newline."""
    start = text.rfind("\n", 0, offset) + 1
    nl = text.find("\n", offset)
    return start, (len(text) if nl < 0 else nl + 1)


def remove_flag(text: str, flag: Flag) -> str:
    """Drop a flag and its arguments; the whole line when nothing else is on it (with the
    comment that introduced it)."""
    start, end = line_bounds(text, flag.word.start)
    before = text[start : flag.word.start]
    after_words = [w for w in words(text[flag.end : end])]
    if not before.strip() and not after_words:
        from erlcookie.release.common import introducing_comment_start

        return text[: introducing_comment_start(text, start, end)] + text[end:]
    # Other flags share the line: cut only this flag's words and the blanks after them.
    stop = flag.end
    while stop < len(text) and text[stop] in " \t":
        stop += 1
    return text[: flag.word.start] + text[stop:]


def replace_span(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def insert_line_after(text: str, offset: int, line: str) -> str:
    """Insert `line` (no newline) on its own line after the line holding `offset`."""
    _, end = line_bounds(text, offset)
    prefix = "" if end == 0 or text[end - 1 : end] == "\n" else "\n"
    return text[:end] + prefix + line + "\n" + text[end:]


def variables(value: str) -> list[tuple[str, str | None]]:
    """`${NAME}` / `${NAME:-default}` references in a word, as relx's start script sees them."""
    return [(m.group(1), m.group(2)) for m in VAR_RE.finditer(value)]
