"""Positions in text: the one home for offset -> (line, column) and "the line at offset".

Lines and columns are 1-based and columns count characters (SARIF `unicodeCodePoints`), the
way every report of erlcookie shows `path:line:column`.
"""

from __future__ import annotations

import bisect

__all__ = ["LineIndex", "column_of", "line_at", "line_col", "line_of"]


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset (one lookup; see `LineIndex` for many)."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def column_of(text: str, offset: int) -> int:
    return offset - (text.rfind("\n", 0, offset) + 1) + 1


def line_at(text: str, offset: int) -> str:
    """The whole line holding `offset`, without its newline."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start:] if end < 0 else text[start:end]


class LineIndex:
    """Line starts of one text, computed once: many lookups cost a bisect each."""

    __slots__ = ("text", "_starts")

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            find = self.text.find
            pos = find("\n")
            while pos >= 0:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            self._starts = starts
        return self._starts

    def line_col(self, offset: int) -> tuple[int, int]:
        starts = self._line_starts()
        index = bisect.bisect_right(starts, offset) - 1
        return index + 1, offset - starts[index] + 1

    def line_text(self, line: int) -> str:
        starts = self._line_starts()
        if line < 1 or line > len(starts):
            return ""
        start = starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]
