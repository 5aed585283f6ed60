"""Small helpers the rebar3 and mix analyzers share: text edits and findings with positions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from erlcookie.cookie.value import Cookie
from erlcookie.release.model import CookieInfo, Finding, ReleaseParseError
from erlcookie.text import line_col


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str


def apply_edits(text: str, edits: list[Edit], shown: str) -> str:
    """Apply non-overlapping edits (refusing overlaps: they would mean a confused plan)."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for a, b in zip(ordered, ordered[1:]):
        if b.start < a.end:
            raise ReleaseParseError(shown, "two changes overlap; fix it by hand")
    for edit in reversed(ordered):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


def finding(
    rule: str,
    shown: str,
    text: str,
    offset: int,
    message: str,
    *,
    fixable: bool,
    cookie: str | None = None,
) -> Finding:
    """A finding at a character offset; a literal cookie becomes a fingerprint and a verdict."""
    line, column = line_col(text, offset)
    info = CookieInfo.of(cookie) if cookie else None
    secret = Cookie(cookie, source=shown) if cookie else None
    return Finding(
        rule, shown, line, column, detail=message, fixable=fixable, cookie=info, secret=secret
    )


def line_indent(text: str, offset: int) -> str | None:
    """The whitespace before `offset` when nothing else precedes it on its line."""
    start = text.rfind("\n", 0, offset) + 1
    before = text[start:offset]
    return before if before.strip() == "" else None


def template(name: str) -> str:
    """A text file shipped in erlcookie/release/templates."""
    return (Path(__file__).parent / "templates" / name).read_text(encoding="utf-8")


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def introducing_comment_start(text: str, line_start: int, line_end: int, marker: str = "#") -> int:
    """Where the comment that introduced a line being removed begins (else `line_start`).

    The comment lines directly above the removed lines (`line_start` to `line_end`), at
    the same indentation with no blank line between, go with them when they would be left
    with nothing under them, or when they are one line that names the cookie: `# All
    nodes in the cluster must share this cookie` above `cookie: "..."` must not stay
    behind. A longer block that goes on to other lines is a section header: it stays.
    """
    removed = text[line_start:line_end]
    indent = _indent(removed)
    start = line_start
    names_cookie = False
    lines = 0
    while start > 0:
        prev = text.rfind("\n", 0, start - 1) + 1
        line = text[prev:start].rstrip("\r\n")
        if _indent(line) != indent or not line.strip().startswith(marker):
            break
        names_cookie = names_cookie or "cookie" in line.lower()
        lines += 1
        start = prev
    if start == line_start:
        return line_start
    following = next((line for line in text[line_end:].splitlines() if line.strip()), None)
    orphaned = (
        following is None
        or len(_indent(following)) < len(indent)
        or following.strip()[:1] in (")", "]", "}")
        or following.strip() == "end"
    )
    return start if orphaned or (names_cookie and lines == 1) else line_start
