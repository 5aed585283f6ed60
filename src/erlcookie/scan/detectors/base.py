"""What every detector shares: the `Source` of one file, `Detection`, the prefilter, file
kinds, and the choice between a specific rule and the generic EC100."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from erlcookie.findings.rules import (
    COMPOSE_ENV_COOKIE,
    DOCKERFILE_ENV,
    ENV_ASSIGNMENT,
    FLY_TOML_ENV,
    GENERIC_COOKIE_ASSIGNMENT,
    VM_ARGS_SETCOOKIE,
)
from erlcookie.scan.syntax import cookie_shaped, is_reference
from erlcookie.text import LineIndex

# A file is worth running the detectors on only if it mentions one of these (checked on
# the raw bytes, before decoding) or has a cookie-file name. Every detector's trigger
# text contains one of them.
PREFILTER_NEEDLES = (b"ookie", b"OOKIE")
COOKIE_NEEDLES = ("ookie", "OOKIE")  # "cookie", "Cookie", "COOKIE", "setcookie", ...
# `erl_call -c X` names no cookie; look for it only where commands are written.
_COMMAND_SUFFIXES = frozenset(
    {
        "",
        ".sh",
        ".bash",
        ".zsh",
        ".ksh",
        ".fish",
        ".mk",
        ".yml",
        ".yaml",
        ".md",
        ".txt",
        ".rst",
        ".adoc",
        ".escript",
        ".service",
        ".ps1",
        ".bat",
        ".cmd",
        ".dockerfile",
        ".containerfile",
    }
)


def needs_scan(path: str, data: bytes) -> bool:
    """The cheap prefilter: can this file contain anything a detector matches?"""
    for needle in PREFILTER_NEEDLES:
        if data.find(needle) >= 0:
            return True
    if path.endswith(("/COOKIE", ".erlang.cookie")) or path == "releases/COOKIE":
        return is_cookie_file(path)
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""
    return (
        suffix in _COMMAND_SUFFIXES or name.startswith(("Dockerfile", "Containerfile"))
    ) and data.find(b"erl_call") >= 0


@dataclass(frozen=True)
class Detection:
    """One literal cookie found in one file. `value` is the secret: never render it."""

    rule_id: str
    start: int  # offset of the value in the text
    end: int
    value: str = field(repr=False)
    key: str | None = None  # the variable, key or flag that carries it (safe to show)
    key_start: int | None = None  # offset of the key, for `erlcookie:allow` on that line
    note: str | None = None


class Source:
    """A file's text with its path facts and offset -> (line, column) mapping."""

    __slots__ = ("path", "text", "name", "suffix", "_lines", "_hits")

    def __init__(self, path: str, text: str) -> None:
        self.path = path.replace("\\", "/")
        self.text = text
        self.name = posixpath.basename(self.path)
        self.suffix = posixpath.splitext(self.name)[1].lower()
        self._lines = LineIndex(text)
        self._hits: dict[tuple[str, ...], list[tuple[int, int]]] = {}

    def lines_with(self, *needles: str) -> list[tuple[int, int]]:
        """(start, end) of every line containing one of `needles`, in order.

        Single-line detectors only look at these lines: a file that mentions a cookie once
        in 10,000 lines costs one line of regex work, not 10,000.
        """
        spans = self._hits.get(needles)
        if spans is not None:
            return spans
        text, positions = self.text, []
        for needle in needles:
            pos = text.find(needle)
            while pos >= 0:
                positions.append(pos)
                pos = text.find(needle, pos + len(needle))
        spans = []
        for pos in sorted(positions):
            if spans and pos <= spans[-1][1]:
                continue
            start = text.rfind("\n", 0, pos) + 1
            end = text.find("\n", pos)
            spans.append((start, len(text) if end < 0 else end))
        self._hits[needles] = spans
        return spans

    def finditer(self, pattern: re.Pattern[str], *needles: str) -> Iterator[re.Match[str]]:
        """`pattern.finditer` over the lines containing `needles` (default: cookie)."""
        for start, end in self.lines_with(*(needles or COOKIE_NEEDLES)):
            yield from pattern.finditer(self.text, start, end)

    def line_col(self, offset: int) -> tuple[int, int]:
        return self._lines.line_col(offset)

    def line_text(self, line: int) -> str:
        return self._lines.line_text(line)


# -- file kinds ----------------------------------------------------------------------------
def is_cookie_file(path: str) -> bool:
    p = path.replace("\\", "/")
    return (
        posixpath.basename(p) == ".erlang.cookie"
        or p == "releases/COOKIE"
        or p.endswith("/releases/COOKIE")
    )


def is_vm_args(src: Source) -> bool:
    return bool(re.match(r"^vm\.args(\.[\w.]+)?$", src.name)) or src.name.endswith(".vm.args")


def is_dockerfile(src: Source) -> bool:
    n = src.name.lower()
    return (
        n in ("dockerfile", "containerfile")
        or n.startswith(("dockerfile.", "containerfile."))
        or n.endswith((".dockerfile", ".containerfile"))
    )


def is_yaml(src: Source) -> bool:
    n = src.name.lower()
    return src.suffix in (".yaml", ".yml") or ".yaml." in n or ".yml." in n


def is_toml(src: Source) -> bool:
    return src.suffix == ".toml"


def is_compose(src: Source) -> bool:
    n = src.name.lower()
    return is_yaml(src) and ("compose" in n)


def is_elixir(src: Source) -> bool:
    return src.suffix in (".ex", ".exs", ".livemd", ".eex")


def _literal_ok(value: str) -> bool:
    return bool(value) and not is_reference(value) and "\n" not in value


def _assignment_rule(src: Source, confidence: str | None, value: str, high_rule: str) -> str | None:
    """Rule for `name = value`: the specific rule for cookie names, EC100 for other
    *cookie* names when the value looks like a secret, else nothing."""
    if confidence == "high":
        return high_rule
    if confidence == "generic" and cookie_shaped(value):
        return GENERIC_COOKIE_ASSIGNMENT
    return None


def _context_rule(src: Source) -> str:
    """The specific rule for a cookie variable assigned in this kind of file."""
    if is_dockerfile(src):
        return DOCKERFILE_ENV
    if is_compose(src):
        return COMPOSE_ENV_COOKIE
    if is_vm_args(src):
        return VM_ARGS_SETCOOKIE
    if src.name == "fly.toml":
        return FLY_TOML_ENV
    return ENV_ASSIGNMENT
