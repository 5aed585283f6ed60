"""Detectors: plain functions from one file's (path, text) to raw detections.

Each detector knows one syntax (vm.args, Elixir, Dockerfile, YAML, TOML, shell) and emits
`Detection`s that still hold the literal cookie; the engine turns them into findings that
hold only fingerprints. Detectors never print, log or raise with a value.

`detect(path, text)` runs them all, most specific first, and keeps one detection per
value position, so a compose list item is reported once as a compose finding and not
again as a generic `KEY=value`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from erlcookie.scan.syntax import (cookie_name_confidence, cookie_shaped, erlang_context,
                                   is_reference, normalise_name, read_line_value, read_quoted,
                                   read_value, split_args)

# A file is worth running the detectors on only if it mentions one of these (checked on
# the raw bytes, before decoding) or has a cookie-file name. Every detector's trigger
# text contains one of them.
PREFILTER_NEEDLES = (b"ookie", b"OOKIE")
COOKIE_NEEDLES = ("ookie", "OOKIE")  # "cookie", "Cookie", "COOKIE", "setcookie", ...
# `erl_call -c X` names no cookie; look for it only where commands are written.
_COMMAND_SUFFIXES = frozenset({"", ".sh", ".bash", ".zsh", ".ksh", ".fish", ".mk", ".yml",
                               ".yaml", ".md", ".txt", ".rst", ".adoc", ".escript", ".service",
                               ".ps1", ".bat", ".cmd", ".dockerfile", ".containerfile"})


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
    return (suffix in _COMMAND_SUFFIXES or name.startswith(("Dockerfile", "Containerfile"))) \
        and data.find(b"erl_call") >= 0


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

    __slots__ = ("path", "text", "name", "suffix", "_starts", "_hits")

    def __init__(self, path: str, text: str) -> None:
        self.path = path.replace("\\", "/")
        self.text = text
        self.name = posixpath.basename(self.path)
        self.suffix = posixpath.splitext(self.name)[1].lower()
        self._starts: list[int] | None = None
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

    def finditer(self, pattern: "re.Pattern[str]", *needles: str) -> Iterator["re.Match[str]"]:
        """`pattern.finditer` over the lines containing `needles` (default: cookie)."""
        for start, end in self.lines_with(*(needles or COOKIE_NEEDLES)):
            yield from pattern.finditer(self.text, start, end)

    def line_col(self, offset: int) -> tuple[int, int]:
        if self._starts is None:
            starts = [0]
            find = self.text.find
            pos = find("\n")
            while pos >= 0:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
            self._starts = starts
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1

    def line_text(self, line: int) -> str:
        self.line_col(0)
        assert self._starts is not None
        if line < 1 or line > len(self._starts):
            return ""
        start = self._starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]


# -- file kinds ----------------------------------------------------------------------------
def is_cookie_file(path: str) -> bool:
    p = path.replace("\\", "/")
    return posixpath.basename(p) == ".erlang.cookie" or p == "releases/COOKIE" or \
        p.endswith("/releases/COOKIE")


def is_vm_args(src: Source) -> bool:
    return bool(re.match(r"^vm\.args(\.[\w.]+)?$", src.name)) or src.name.endswith(".vm.args")


def is_dockerfile(src: Source) -> bool:
    n = src.name.lower()
    return n in ("dockerfile", "containerfile") or n.startswith(("dockerfile.", "containerfile.")) \
        or n.endswith((".dockerfile", ".containerfile"))


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


def _assignment_rule(src: Source, confidence: str | None, value: str,
                     high_rule: str) -> str | None:
    """Rule for `name = value`: the specific rule for cookie names, EC100 for other
    *cookie* names when the value looks like a secret, else nothing."""
    if confidence == "high":
        return high_rule
    if confidence == "generic" and cookie_shaped(value):
        return "EC100"
    return None


def _context_rule(src: Source) -> str:
    """The specific rule for a cookie variable assigned in this kind of file."""
    if is_dockerfile(src):
        return "EC007"
    if is_compose(src):
        return "EC012"
    if is_vm_args(src):
        return "EC001"
    if src.name == "fly.toml":
        return "EC013"
    return "EC005"


# -- EC002: committed cookie files ---------------------------------------------------------
def detect_cookie_file(src: Source) -> Iterator[Detection]:
    if not is_cookie_file(src.path):
        return
    m = re.search(r"[^\s]+(?:[ \t]+[^\s]+)*", src.text)
    if m and _literal_ok(m.group(0)):
        yield Detection("EC002", m.start(), m.end(), m.group(0), key=src.name)


# -- EC001 / EC006: -setcookie and friends ---------------------------------------------------
_SETCOOKIE_VMARGS = re.compile(r"(?m)^[ \t#%]*-setcookie\b[ \t]*(?P<rest>[^\n]*)")
_SETCOOKIE_CLI = re.compile(r"(?<![\w-])-setcookie[ \t]+(?P<rest>[^\n]*)")
_DASH_COOKIE = re.compile(r"(?<![\w-])--(?P<flag>cookie|erlang-cookie)(?:[ \t]*=[ \t]*|[ \t]+)"
                          r"(?P<rest>[^\n]*)")
_ERL_CALL = re.compile(r"\berl_call\b[^\n]*?(?<![\w-])-c[ \t]+(?P<rest>[^\n]*)")
_ARGV_FORM = re.compile(r"""(?P<fq>["'])(?P<flag>-setcookie|--cookie|--erlang-cookie)(?P=fq)"""
                        r"""\s*,\s*(?P<q>["'])(?P<val>[^"'\n]*)(?P=q)""")
_ECHO_TO_COOKIE_FILE = re.compile(
    r"""\b(?P<cmd>echo|printf)(?:[ \t]+-[neE]+)*[ \t]+(?P<rest>[^\n>|;&]*?)[ \t]*>>?[ \t]*"""
    r"""[^\s;|&]*\.erlang\.cookie""")
_ELIXIR_TOOL_LINE = re.compile(r"\b(?:iex|elixir|elixirc|livebook|mix|erl)\b|bin/[\w.-]+")
# In docs and code, `-setcookie X` counts only on a line that runs something BEAM-ish;
# in scripts, Makefiles, Dockerfiles, units and CI files every line is a command line.
_ERL_COMMAND_LINE = re.compile(
    r"\b(?:erl|werl|iex|elixir|escript|run_erl|erlexec|rebar3|mix|relx|exec|rabbitmq[\w-]*)\b"
    r"|%%!|bin/[\w.-]+|ERL_[A-Z]*FLAGS|ELIXIR_ERL_OPTIONS|(?<![\w-])--?s?name\b")
_SCRIPT_SUFFIXES = frozenset({"", ".sh", ".bash", ".zsh", ".ksh", ".fish", ".mk", ".yml",
                              ".yaml", ".service", ".env", ".escript", ".args", ".conf",
                              ".ps1", ".bat", ".cmd", ".dockerfile", ".containerfile", ".src",
                              ".eex", ".j2", ".tpl"})


def _is_script(src: Source) -> bool:
    return src.suffix in _SCRIPT_SUFFIXES or is_dockerfile(src) or \
        src.name in ("Makefile", "GNUmakefile", "Procfile", "Jenkinsfile", "Justfile")
_HTTP_TOOL_LINE = re.compile(r"\b(?:curl|wget|http|httpie|requests|ab|siege)\b")


def _line_at(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:] if end < 0 else text[start:end]


def _setcookie_words(rule: str, base: int, rest: str, key: str,
                     key_start: int) -> Iterator[Detection]:
    words = split_args(rest)
    if not words:
        return
    pick = words[0]
    # `-setcookie Node Cookie` sets the cookie for one peer; node names carry an @.
    if len(words) >= 2 and "@" in words[0][0] and not words[1][0].startswith(("-", "+")):
        pick = words[1]
    value = pick[0]
    if _literal_ok(value):
        yield Detection(rule, base + pick[1], base + pick[2], value, key=key, key_start=key_start)


def detect_vm_args(src: Source) -> Iterator[Detection]:
    if not is_vm_args(src):
        return
    for m in _SETCOOKIE_VMARGS.finditer(src.text):
        yield from _setcookie_words("EC001", m.start("rest"), m.group("rest"), "-setcookie",
                                    m.start())


def detect_command_line(src: Source) -> Iterator[Detection]:
    text = src.text
    if src.lines_with(*COOKIE_NEEDLES):
        script = _is_script(src)
        for m in src.finditer(_SETCOOKIE_CLI):
            # outside scripts, the command must come first: `erl -sname a -setcookie X`
            if not script and not _ERL_COMMAND_LINE.search(
                    text, text.rfind("\n", 0, m.start()) + 1, m.start()):
                continue
            yield from _setcookie_words("EC006", m.start("rest"), m.group("rest"), "-setcookie",
                                        m.start())
        for m in src.finditer(_DASH_COOKIE):
            flag = m.group("flag")
            line = _line_at(text, m.start())
            if flag == "cookie" and (_HTTP_TOOL_LINE.search(line)
                                     or not _ELIXIR_TOOL_LINE.search(line)):
                continue
            words = split_args(m.group("rest"))
            if words and _literal_ok(words[0][0]):
                base = m.start("rest")
                yield Detection("EC006", base + words[0][1], base + words[0][2], words[0][0],
                                key="--" + flag, key_start=m.start())
        for m in src.finditer(_ARGV_FORM):
            line = _line_at(text, m.start())
            if m.group("flag") == "--cookie" and (_HTTP_TOOL_LINE.search(line)
                                                  or not _ELIXIR_TOOL_LINE.search(line)):
                continue
            if _literal_ok(m.group("val")) and not m.group("val").startswith("-"):
                yield Detection("EC006", m.start("val"), m.end("val"), m.group("val"),
                                key=m.group("flag"), key_start=m.start())
        for m in src.finditer(_ECHO_TO_COOKIE_FILE):
            words = split_args(m.group("rest"))
            if m.group("cmd") == "printf" and words and "%" in words[0][0]:
                words = words[1:]
            if words and _literal_ok(words[0][0]):
                base = m.start("rest")
                yield Detection("EC006", base + words[0][1], base + words[0][2], words[0][0],
                                key=".erlang.cookie", key_start=m.start())
    if "erl_call" in text:
        for m in src.finditer(_ERL_CALL, "erl_call"):
            words = split_args(m.group("rest"))
            if words and _literal_ok(words[0][0]):
                base = m.start("rest")
                yield Detection("EC006", base + words[0][1], base + words[0][2], words[0][0],
                                key="erl_call -c", key_start=m.start())


# -- EC003 / EC004: Elixir and Erlang code -------------------------------------------------
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
            yield Detection("EC004", vs, ve, value, key=m.group("fn").lstrip(":"),
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
            rule = "EC003"
        else:
            rule = _assignment_rule(src, cookie_name_confidence(key), got[0], "EC005")
        if rule:
            yield Detection(rule, got[1], got[2], got[0], key=key, key_start=m.start())
    for m in src.finditer(_EX_KEY_STRING):
        got = _elixir_literal(text, m.end())
        if got and _literal_ok(got[0]):
            rule = _assignment_rule(src, cookie_name_confidence(m.group("key")), got[0], "EC005")
            if rule:
                yield Detection(rule, got[1], got[2], got[0], key=m.group("key"),
                                key_start=m.start())


# -- EC007: Dockerfile ENV / ARG -------------------------------------------------------------
_DOCKER_INSTR = re.compile(r"(?im)^[ \t]*(?P<instr>ENV|ARG)[ \t]+")
_DOCKER_PAIR = re.compile(r"(?P<key>[A-Za-z_][\w.-]*)=")


def _logical_line_end(text: str, pos: int) -> int:
    while True:
        end = text.find("\n", pos)
        if end < 0:
            return len(text)
        if text[:end].rstrip("\r").endswith("\\"):
            pos = end + 1
            continue
        return end


def detect_dockerfile(src: Source) -> Iterator[Detection]:
    if not is_dockerfile(src):
        return
    text = src.text
    for m in _DOCKER_INSTR.finditer(text):
        start, end = m.end(), _logical_line_end(text, m.end())
        body = text[start:end]
        pairs = list(_DOCKER_PAIR.finditer(body))
        if not pairs or pairs[0].start() != 0:
            if m.group("instr").upper() != "ENV":
                continue
            # legacy `ENV KEY value with spaces`
            km = re.match(r"(?P<key>[A-Za-z_][\w.-]*)[ \t]+", body)
            if not km:
                continue
            got = read_line_value(text, start + km.end())
            if got is None:
                continue
            value, vs, ve = got
            rule = _assignment_rule(src, cookie_name_confidence(km.group("key")), value, "EC007")
            if rule and _literal_ok(value):
                yield Detection(rule, vs, ve, value, key=km.group("key"), key_start=start)
            continue
        for pm in pairs:
            if pm.start() > 0 and body[pm.start() - 1] not in " \t\n\\":
                continue
            got = read_value(text, start + pm.end(), comment=False)
            if got is None:
                continue
            value, vs, ve = got
            rule = _assignment_rule(src, cookie_name_confidence(pm.group("key")), value, "EC007")
            if rule and _literal_ok(value):
                yield Detection(rule, vs, ve, value, key=pm.group("key"),
                                key_start=start + pm.start())


# -- EC008-EC012: YAML (Kubernetes, Helm values, compose, CI) -------------------------------
_YAML_LINE = re.compile(
    r"""^(?P<indent>[ \t]*)(?P<dash>(?:-[ \t]+)*)"""
    r"""(?:(?P<key>"[^"\n]*"|'[^'\n]*'|[^\s#:'"\[\]{},&*!|>%@`][^:\n]*?)[ \t]*:(?=[ \t\r]|$))?""")
_YAML_BLOCK = re.compile(r"^[|>][-+0-9]*[ \t]*(#.*)?$")
_K8S_KINDS_WITH_ENV = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod",
                       "ReplicaSet", "ReplicationController", "PodTemplate")
_ENV_PARENTS = ("env", "variables", "vars", "environment_variables", "envs", "extraenv",
                "extraenvvars", "environmentvariables", "global_env")


@dataclass
class _YamlEntry:
    key: str
    parents: tuple[str, ...]
    key_start: int
    value: str | None  # None: a nested block, a flow collection or an alias
    start: int
    end: int
    item: int | None  # list item this mapping key belongs to


def _yaml_value(text: str, pos: int, line_end: int, indent: int) -> tuple[str | None, int, int]:
    """The scalar after `key:` (or a block scalar below it)."""
    rest = text[pos:line_end]
    stripped = rest.strip()
    if not stripped or stripped.startswith("#"):
        return None, pos, pos
    # tags and anchors before the scalar
    while True:
        m = re.match(r"[ \t]*(?:!\S*|&\S+)[ \t]+", text[pos:line_end])
        if not m:
            break
        pos += m.end()
        stripped = text[pos:line_end].strip()
    if stripped[:1] in "{[*":
        return None, pos, pos
    if _YAML_BLOCK.match(stripped):
        # block scalar: the first non-empty line of the more-indented lines below
        cursor = line_end + 1
        while cursor < len(text):
            nl = text.find("\n", cursor)
            nl = len(text) if nl < 0 else nl
            line = text[cursor:nl]
            if line.strip():
                line_indent = len(line) - len(line.lstrip(" \t"))
                if line_indent <= indent:
                    return None, pos, pos
                s = cursor + line_indent
                e = cursor + len(line.rstrip(" \t\r"))
                return text[s:e], s, e
            cursor = nl + 1
        return None, pos, pos
    got = read_line_value(text, pos)
    if got is None:
        return None, pos, pos
    return got


def _yaml_entries(text: str, lo: int, hi: int) -> Iterator[tuple[str, object]]:
    """Walk one YAML document: ('key', _YamlEntry) and ('item', (text, start, parents))."""
    stack: list[tuple[int, str]] = []
    item_at_col: dict[int, int] = {}
    items = 0
    block_indent: int | None = None
    pos = lo
    while pos < hi:
        nl = text.find("\n", pos, hi)
        line_end = hi if nl < 0 else nl
        line = text[pos:line_end]
        next_pos = line_end + 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            pos = next_pos
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        if block_indent is not None:
            if indent > block_indent:
                pos = next_pos
                continue
            block_indent = None
        m = _YAML_LINE.match(line)
        if m is None or (m.group("key") is None and not m.group("dash")):
            pos = next_pos
            continue
        dash = m.group("dash")
        col = indent + len(dash)  # column of the key (or of a scalar list item)
        while stack and stack[-1][0] >= col:
            stack.pop()
        for c in [c for c in item_at_col if c > col or (dash and c == col)]:
            del item_at_col[c]
        parents = tuple(k for _, k in stack)
        if m.group("key") is None:
            # a plain scalar list item such as `- RELEASE_COOKIE=value`
            yield "item", (text, pos + col, line_end, parents)
            pos = next_pos
            continue
        raw_key = m.group("key")
        key = raw_key[1:-1] if raw_key and raw_key[0] in "\"'" else raw_key
        if dash:
            items += 1
            item_at_col[col] = items
        item = item_at_col.get(col)
        value, vs, ve = _yaml_value(text, pos + m.end(), line_end, indent if not dash else col)
        after = text[pos + m.end():line_end].strip()
        if _YAML_BLOCK.match(after):
            block_indent = col
        yield "key", _YamlEntry(key, parents, pos + m.start("key"), value, vs, ve, item)
        stack.append((col, key.lower()))
        pos = next_pos


def _yaml_documents(text: str) -> Iterator[tuple[int, int, str | None]]:
    bounds = [0] + [m.end() for m in re.finditer(r"(?m)^---[^\n]*$", text)] + [len(text) + 1]
    for lo, hi in zip(bounds, bounds[1:]):
        hi = min(hi, len(text))
        km = re.search(r"(?m)^kind:[ \t]*[\"']?(?P<kind>\w+)", text[lo:hi])
        yield lo, hi, km.group("kind") if km else None


def _decode_secret_data(value: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return value, "Secret data that is not valid base64 (reported as written)"
    if decoded.endswith("\r\n"):
        decoded = decoded[:-2]
    elif decoded.endswith("\n"):
        decoded = decoded[:-1]
    return decoded, "base64-decoded Secret data"


def _yaml_rule(src: Source, kind: str | None, parents: tuple[str, ...], key: str,
               value: str) -> tuple[str | None, str, str | None]:
    """(rule, value to audit, note) for a cookie-named YAML key with a literal value."""
    confidence = cookie_name_confidence(key)
    if confidence is None:
        return None, value, None
    parent = parents[-1] if parents else ""
    if confidence == "generic" and normalise_name(key) == "cookie" and (
            erlang_context(parents) or kind in ("Secret", "ConfigMap")):
        confidence = "high"  # `erlang: {cookie: ...}`, a Secret's `cookie` key
    if kind == "Secret" and parent in ("data", "stringdata"):
        if parent == "data":
            decoded, note = _decode_secret_data(value)
            return "EC010", decoded, note
        return "EC010", value, None
    if kind == "ConfigMap" and parent in ("data", "binarydata"):
        return _assignment_rule(src, confidence, value, "EC009"), value, None
    if parent == "environment" or (parent == "args" and "build" in parents):
        return _assignment_rule(src, confidence, value, "EC012"), value, None
    if parent.replace("_", "").replace("-", "") in _ENV_PARENTS:
        return _assignment_rule(src, confidence, value, "EC005"), value, None
    return _assignment_rule(src, confidence, value, "EC011"), value, None


def detect_yaml(src: Source) -> Iterator[Detection]:
    if not is_yaml(src):
        return
    text = src.text
    for lo, hi, kind in _yaml_documents(text):
        by_item: dict[int, dict[str, _YamlEntry]] = {}
        for what, payload in _yaml_entries(text, lo, hi):
            if what == "item":
                yield from _yaml_list_item(src, kind, *payload)  # type: ignore[misc]
                continue
            entry: _YamlEntry = payload  # type: ignore[assignment]
            if entry.item is not None:
                by_item.setdefault(entry.item, {})[entry.key.lower()] = entry
            if entry.value is None or not _literal_ok(entry.value):
                continue
            rule, value, note = _yaml_rule(src, kind, entry.parents, entry.key, entry.value)
            if rule and _literal_ok(value):
                yield Detection(rule, entry.start, entry.end, value, key=entry.key,
                                key_start=entry.key_start, note=note)
        # name/value pairs: Kubernetes container env (and the same shape elsewhere)
        for fields in by_item.values():
            name, val = fields.get("name"), fields.get("value")
            if not name or not name.value or "valuefrom" in fields:
                continue
            confidence = cookie_name_confidence(name.value)
            if confidence is None or val is None or val.value is None:
                continue
            if not _literal_ok(val.value):
                continue
            k8s = kind in _K8S_KINDS_WITH_ENV or "env" in name.parents or "containers" in \
                name.parents
            rule = _assignment_rule(src, confidence, val.value, "EC008" if k8s else "EC005")
            if rule:
                yield Detection(rule, val.start, val.end, val.value, key=name.value,
                                key_start=name.key_start)


def _yaml_list_item(src: Source, kind: str | None, text: str, start: int, end: int,
                    parents: tuple[str, ...]) -> Iterator[Detection]:
    """`- KEY=value` items: compose environment lists, kustomize generator literals."""
    body_start = start
    quoted = start < end and text[start] in "\"'"
    if quoted:
        body_start += 1
    m = re.match(r"(?P<key>[A-Za-z_][\w.-]*)=", text[body_start:end])
    if not m:
        return
    key = m.group("key")
    confidence = cookie_name_confidence(key)
    if confidence is None:
        return
    vs = body_start + m.end()
    if quoted:
        close = text.find(text[start], vs, end)
        ve = close if close >= 0 else end
    else:
        hash_at = text.find(" #", vs, end)
        ve = hash_at if hash_at >= 0 else end
        while ve > vs and text[ve - 1] in " \t\r":
            ve -= 1
    value = text[vs:ve]
    if not _literal_ok(value):
        return
    parent = parents[-1] if parents else ""
    if parent == "literals" and "secretgenerator" in parents:
        rule = _assignment_rule(src, confidence, value, "EC010")
    elif parent == "literals" and "configmapgenerator" in parents:
        rule = _assignment_rule(src, confidence, value, "EC009")
    elif parent in ("environment", "args"):
        rule = _assignment_rule(src, confidence, value, "EC012")
    else:
        rule = _assignment_rule(src, confidence, value, "EC005")
    if rule:
        yield Detection(rule, vs, ve, value, key=key, key_start=body_start)


# -- EC013 and friends: TOML ----------------------------------------------------------------
_TOML_LINE = re.compile(r"""(?m)^[ \t]*(?:\[(?P<section>[^\]\n]+)\]|(?P<key>"[^"\n]+"|'[^'\n]+'|"""
                        r"""[\w.-]+)[ \t]*=[ \t]*)""")


def detect_toml(src: Source) -> Iterator[Detection]:
    if not is_toml(src):
        return
    text = src.text
    section = ""
    for m in _TOML_LINE.finditer(text):
        if m.group("section") is not None:
            section = m.group("section").strip().strip("[]").strip()
            continue
        key = m.group("key").strip("\"'")
        confidence = cookie_name_confidence(key.rsplit(".", 1)[-1])
        if confidence is None:
            continue
        got = read_line_value(text, m.end())
        if got is None or not _literal_ok(got[0]):
            continue
        value, vs, ve = got
        in_env = section in ("env", "build.args") or key.startswith(("env.", "build.args."))
        high_rule = "EC013" if src.name == "fly.toml" and in_env else "EC005"
        rule = _assignment_rule(src, confidence, value, high_rule)
        if rule:
            yield Detection(rule, vs, ve, value, key=key, key_start=m.start("key"))


# -- EC005: shell, env, unit files, Makefiles, CI, any config --------------------------------
_ENV_ASSIGN = re.compile(
    r"(?P<lead>(?:^|(?<=[\s;&|(\"'=]))(?:export[ \t]+|set[ \t]+(?:-[gxUl]+[ \t]+)?|setenv[ \t]+"
    r"|declare[ \t]+-x[ \t]+|\$env:)?)"
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]*[Cc][Oo][Oo][Kk][Ii][Ee][A-Za-z0-9_]*)"
    r"(?P<op>[ \t]*(?:\?=|::=|:=|\+=|=)(?!=)[ \t]*|[ \t]+(?=[^\s=]))", re.M)
_QUOTED_KEY = re.compile(
    r"""(?P<q>["'])(?P<key>[^"'\n]*[Cc][Oo][Oo][Kk][Ii][Ee][^"'\n]*)(?P=q)\]?[ \t]*"""
    r"""(?::|=>|=(?!=))[ \t]*(?=["'])""")
_PUT_ENV = re.compile(r"""\b(?:put_env|putenv|setenv|Setenv|setdefault|set_env|SetEnvironmentVariable)"""
                      r"""\s*\(\s*(?P<q>["'])(?P<key>[^"'\n]*[Cc][Oo][Oo][Kk][Ii][Ee][^"'\n]*)(?P=q)"""
                      r"""\s*,\s*(?=["'])""")
_SHELL_DEFAULT = re.compile(r"\$\{(?P<key>[A-Za-z_]\w*):?[-=](?P<val>[^}$`\n]*)\}")
_TEMPLATE_DEFAULT = re.compile(
    r"""\{\{[^}\n]*?[Cc]ookie[^}\n]*?\|\s*default\s+(?P<q>["'])(?P<val>[^"'\n]*)(?P=q)"""
    r"""|\{\{-?\s*default\s+(?P<q2>["'])(?P<val2>[^"'\n]*)(?P=q2)\s+[^}\n]*?[Cc]ookie""")


def detect_env_assignments(src: Source) -> Iterator[Detection]:
    text = src.text
    context_rule = _context_rule(src)
    for m in src.finditer(_ENV_ASSIGN):
        lead, op = m.group("lead"), m.group("op")
        if op.strip() == "" and not (lead.startswith("setenv") or lead.startswith("set -")):
            continue  # `KEY value` is only an assignment for fish `set -x` and csh `setenv`
        got = read_value(text, m.end(), comment=True)
        if got is None:
            continue
        value, vs, ve = got
        key = m.group("key")
        rule = _assignment_rule(src, cookie_name_confidence(key), value, context_rule)
        if rule and _literal_ok(value):
            yield Detection(rule, vs, ve, value, key=key, key_start=m.start("key"))
    for rx in (_QUOTED_KEY, _PUT_ENV):
        for m in src.finditer(rx):
            got = read_quoted(text, m.end())
            if got is None:
                continue
            value = got[0]
            key = m.group("key")
            rule = _assignment_rule(src, cookie_name_confidence(key), value, context_rule)
            if rule and _literal_ok(value):
                yield Detection(rule, m.end() + 1, got[1] - 1, value, key=key,
                                key_start=m.start("key"))
    for m in src.finditer(_SHELL_DEFAULT):
        key = m.group("key")
        value = m.group("val").strip().strip("\"'")
        if cookie_name_confidence(key) != "high" or not _literal_ok(value):
            continue
        vs = m.start("val") + m.group("val").find(value)
        yield Detection(context_rule, vs, vs + len(value), value, key=key,
                        key_start=m.start("key"), note=f"fallback default of ${{{key}}}")
    for m in src.finditer(_TEMPLATE_DEFAULT):
        group = "val" if m.group("val") is not None else "val2"
        value = m.group(group)
        if _literal_ok(value):
            yield Detection("EC011" if is_yaml(src) else context_rule, m.start(group),
                            m.end(group), value, key="default", key_start=m.start(),
                            note="template default value")


Detector = Callable[[Source], Iterable[Detection]]

# Most specific first: when two detectors report the same value position, the first wins.
DETECTORS: tuple[Detector, ...] = (
    detect_cookie_file, detect_vm_args, detect_dockerfile, detect_yaml, detect_toml,
    detect_code_calls, detect_elixir_config, detect_command_line, detect_env_assignments,
)


def detect(path: str, text: str) -> list[Detection]:
    """Every literal cookie in one file, one detection per value position."""
    return detect_source(Source(path, text))


def detect_source(src: Source) -> list[Detection]:
    seen: set[tuple[int, int]] = set()
    out: list[Detection] = []
    for detector in DETECTORS:
        for d in detector(src):
            span = (d.start, d.end)
            if span in seen:
                continue
            seen.add(span)
            out.append(d)
    out.sort(key=lambda d: d.start)
    return out
