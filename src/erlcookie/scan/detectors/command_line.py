"""EC006: cookies on command lines (erl -setcookie, iex --cookie, erl_call -c, echo into
.erlang.cookie) in scripts, Makefiles, CI files, Dockerfiles and documents."""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import COMMAND_LINE_COOKIE
from erlcookie.scan.detectors.base import (
    COOKIE_NEEDLES,
    Detection,
    Source,
    _literal_ok,
    is_dockerfile,
    is_vm_args,
)
from erlcookie.scan.syntax import split_args
from erlcookie.text import line_at

_SETCOOKIE_CLI = re.compile(r"(?<![\w-])--?setcookie[ \t]+(?P<rest>[^\n]*)")  # rebar3: --setcookie
_DASH_COOKIE = re.compile(
    r"(?<![\w-])--(?P<flag>cookie|erlang-cookie)(?:[ \t]*=[ \t]*|[ \t]+)"
    r"(?P<rest>[^\n]*)"
)
_ERL_CALL = re.compile(r"\berl_call\b[^\n]*?(?<![\w-])-c[ \t]+(?P<rest>[^\n]*)")
_ARGV_FORM = re.compile(
    r"""(?P<fq>["'])(?P<flag>-setcookie|--cookie|--erlang-cookie)(?P=fq)"""
    r"""\s*,\s*(?P<q>["'])(?P<val>[^"'\n]*)(?P=q)"""
)
_ECHO_TO_COOKIE_FILE = re.compile(
    r"""\b(?P<cmd>echo|printf)(?:[ \t]+-[neE]+)*[ \t]+(?P<rest>[^\n>|;&]*?)[ \t]*>>?[ \t]*"""
    r"""[^\s;|&]*\.erlang\.cookie"""
)
_ELIXIR_TOOL_LINE = re.compile(r"\b(?:iex|elixir|elixirc|livebook|mix|erl)\b|bin/[\w.-]+")
# In docs and code, `-setcookie X` counts only on a line that runs something BEAM-ish;
# in scripts, Makefiles, Dockerfiles, units and CI files every line is a command line.
_ERL_COMMAND_LINE = re.compile(
    r"\b(?:erl|werl|iex|elixir|escript|run_erl|erlexec|rebar3|mix|relx|exec|rabbitmq[\w-]*)\b"
    r"|%%!|bin/[\w.-]+|ERL_[A-Z]*FLAGS|ELIXIR_ERL_OPTIONS|(?<![\w-])--?s?name\b"
)
_SCRIPT_SUFFIXES = frozenset(
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
        ".service",
        ".env",
        ".escript",
        ".args",
        ".conf",
        ".ps1",
        ".bat",
        ".cmd",
        ".dockerfile",
        ".containerfile",
        ".src",
        ".eex",
        ".j2",
        ".tpl",
    }
)


def _is_script(src: Source) -> bool:
    return (
        src.suffix in _SCRIPT_SUFFIXES
        or is_dockerfile(src)
        or src.name in ("Makefile", "GNUmakefile", "Procfile", "Jenkinsfile", "Justfile")
    )


_HTTP_TOOL_LINE = re.compile(r"\b(?:curl|wget|http|httpie|requests|ab|siege)\b")


_PROSE_CALL = re.compile(
    r"\b(?:echo|echoerr|printf|print|puts|say|warn\w*|error|die|fail|abort"
    r"|log\w*|info|debug|notice|msg|message|usage)\b"
)
_PROSE_WORD = re.compile(r"^[a-z]+[.,;:!?]$")
_INTO_FILE = re.compile(r"""["'][^"'\n]*(?:>>?|\|[ \t]*tee\b)""")


def _in_prose(text: str, line_start: int, pos: int) -> bool:
    """Is `pos` inside a message (`echo "... -setcookie ..."`) or a comment that runs no
    command? Such text explains the flag; it does not pass a cookie."""
    before = text[max(line_start, pos - 2000) : pos]  # bounded: a minified line is not prose
    hash_at = before.find("#")
    if (
        hash_at >= 0
        and (hash_at == 0 or before[hash_at - 1] in " \t")
        and before[:hash_at].count('"') % 2 == 0
    ):
        return not _ERL_COMMAND_LINE.search(before, hash_at)
    for quote in ('"', "'"):
        if before.count(quote) % 2 == 1:
            opened = before.rfind(quote)
            if _PROSE_CALL.search(before, 0, opened) and not _ERL_COMMAND_LINE.search(
                before, opened
            ):
                end = text.find("\n", pos, pos + 2000)
                after = text[pos : pos + 2000] if end < 0 else text[pos:end]
                return not _INTO_FILE.search(after)  # echo "-setcookie x" >> vm.args writes one
    return False


def _setcookie_words(
    rule: str, base: int, rest: str, key: str, key_start: int
) -> Iterator[Detection]:
    words = split_args(rest)
    if not words:
        return
    pick = words[0]
    # `-setcookie Node Cookie` sets the cookie for one peer; node names carry an @.
    if len(words) >= 2 and "@" in words[0][0] and not words[1][0].startswith(("-", "+")):
        pick = words[1]
    value = pick[0]
    if _PROSE_WORD.match(value) and not pick[3]:
        return  # "... needs a -setcookie parameter."
    if _literal_ok(value):
        yield Detection(rule, base + pick[1], base + pick[2], value, key=key, key_start=key_start)


def detect_command_line(src: Source) -> Iterator[Detection]:
    text = src.text
    if src.lines_with(*COOKIE_NEEDLES):
        script = _is_script(src)
        # in vm.args the vm.args reader (detect_vm_args) has the final word on -setcookie
        for m in () if is_vm_args(src) else src.finditer(_SETCOOKIE_CLI):
            # outside scripts, the command must come first: `erl -sname a -setcookie X`
            line_start = text.rfind("\n", 0, m.start()) + 1
            if not script and not _ERL_COMMAND_LINE.search(text, line_start, m.start()):
                continue
            if _in_prose(text, line_start, m.start()):
                continue
            yield from _setcookie_words(
                COMMAND_LINE_COOKIE, m.start("rest"), m.group("rest"), "-setcookie", m.start()
            )
        for m in src.finditer(_DASH_COOKIE):
            flag = m.group("flag")
            line = line_at(text, m.start())
            if flag == "cookie" and (
                _HTTP_TOOL_LINE.search(line) or not _ELIXIR_TOOL_LINE.search(line)
            ):
                continue
            words = split_args(m.group("rest"))
            if words and _literal_ok(words[0][0]):
                base = m.start("rest")
                yield Detection(
                    COMMAND_LINE_COOKIE,
                    base + words[0][1],
                    base + words[0][2],
                    words[0][0],
                    key="--" + flag,
                    key_start=m.start(),
                )
        for m in src.finditer(_ARGV_FORM):
            line = line_at(text, m.start())
            if m.group("flag") == "--cookie" and (
                _HTTP_TOOL_LINE.search(line) or not _ELIXIR_TOOL_LINE.search(line)
            ):
                continue
            if _literal_ok(m.group("val")) and not m.group("val").startswith("-"):
                yield Detection(
                    COMMAND_LINE_COOKIE,
                    m.start("val"),
                    m.end("val"),
                    m.group("val"),
                    key=m.group("flag"),
                    key_start=m.start(),
                )
        for m in src.finditer(_ECHO_TO_COOKIE_FILE):
            words = split_args(m.group("rest"))
            if m.group("cmd") == "printf" and words and "%" in words[0][0]:
                words = words[1:]
            if words and _literal_ok(words[0][0]):
                base = m.start("rest")
                yield Detection(
                    COMMAND_LINE_COOKIE,
                    base + words[0][1],
                    base + words[0][2],
                    words[0][0],
                    key=".erlang.cookie",
                    key_start=m.start(),
                )
    if "erl_call" in text:
        for m in src.finditer(_ERL_CALL, "erl_call"):
            words = split_args(m.group("rest"))
            if words and _literal_ok(words[0][0]):
                base = m.start("rest")
                yield Detection(
                    COMMAND_LINE_COOKIE,
                    base + words[0][1],
                    base + words[0][2],
                    words[0][0],
                    key="erl_call -c",
                    key_start=m.start(),
                )
