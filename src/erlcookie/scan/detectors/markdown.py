"""Documentation: code blocks in Markdown and reStructuredText are scanned with their
language's rules.

README snippets are what users copy, so a ```yaml block is read as YAML, a ```sh block as a
script, a ```dockerfile block as a Dockerfile, ```erlang and ```elixir blocks as code and
config, ```ini/```conf/```hocon as those files; in .rst, `.. code-block:: LANG` and `::`
literal blocks likewise. Findings point into the document. Text outside blocks is still read
by the generic detectors, with their stricter rules for prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.scan.detectors.base import Detection, Source

_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx", ".livemd", ".rst")
_RST_DIRECTIVE = re.compile(
    r"(?m)^(?P<indent>[ \t]*)(?:\.\.[ \t]+(?:code-block|code|sourcecode)::"
    r"[ \t]*(?P<lang>[^\s]*)|(?P<literal>[^\n]*\S)?::)[ \t]*$"
)
# cuttlefish/HOCON keys that tell an unlabelled block is a .conf file
_CONF_HINT = re.compile(r"(?m)^[ \t]*(?:node\.cookie|distributed_cookie)[ \t]*=")
_FENCE = re.compile(
    r"(?m)^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*"
    r"(?P<info>[^\n`]*)$"
)
# A fence's language -> the file name its content is read as.
_LANGUAGES = {
    "yaml": "snippet.yaml",
    "yml": "snippet.yaml",
    "helm": "snippet.yaml",
    "sh": "snippet.sh",
    "bash": "snippet.sh",
    "shell": "snippet.sh",
    "console": "snippet.sh",
    "zsh": "snippet.sh",
    "shell-session": "snippet.sh",
    "shellsession": "snippet.sh",
    "terminal": "snippet.sh",
    "fish": "snippet.fish",
    "powershell": "snippet.ps1",
    "ps1": "snippet.ps1",
    "": "snippet.txt",
    "text": "snippet.txt",
    "txt": "snippet.txt",
    "plain": "snippet.txt",
    "dockerfile": "Dockerfile",
    "docker": "Dockerfile",
    "containerfile": "Dockerfile",
    "erlang": "snippet.config",
    "erl": "snippet.config",
    "erlang-repl": "snippet.erl",
    "elixir": "snippet.exs",
    "ex": "snippet.exs",
    "exs": "snippet.exs",
    "iex": "snippet.exs",
    "ini": "snippet.ini",
    "cfg": "snippet.ini",
    "conf": "snippet.conf",
    "hocon": "snippet.conf",
    "properties": "snippet.conf",
    "toml": "snippet.toml",
    "json": "snippet.json",
    "jsonc": "snippet.json",
    "hcl": "snippet.tf",
    "terraform": "snippet.tf",
    "tf": "snippet.tf",
    "make": "Makefile",
    "makefile": "Makefile",
    "env": "snippet.env",
    "dotenv": "snippet.env",
    "systemd": "snippet.service",
    "vm.args": "vm.args",
    "vmargs": "vm.args",
}


def is_markdown(src: Source) -> bool:
    return src.name.lower().endswith(_MARKDOWN_SUFFIXES)


_LIQUID = re.compile(r"\{%-?[ \t]*highlight[ \t]+(?P<lang>[\w.+-]+)[^%]*%\}[ \t]*\n")
_LIQUID_END = re.compile(r"\{%-?[ \t]*endhighlight[ \t]*-?%\}")


def fenced_blocks(text: str) -> Iterator[tuple[str, int, int]]:
    """(language, content start, content end) of every fenced block, and of Jekyll's
    `{% highlight LANG %}` blocks."""
    if "{%" in text:
        for m in _LIQUID.finditer(text):
            end = _LIQUID_END.search(text, m.end())
            yield m.group("lang").lower(), m.end(), len(text) if end is None else end.start()
    pos = 0
    while True:
        m = _FENCE.search(text, pos)
        if m is None:
            return
        fence = m.group("fence")
        info = m.group("info").strip().lower()
        language = re.split(r"[\s{,]", info, maxsplit=1)[0] if info else ""
        start = m.end() + 1
        close = re.compile(
            r"(?m)^[ \t]{0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$"
        )
        c = close.search(text, start)
        end = len(text) if c is None else c.start()
        if start <= end:
            yield language, start, end
        pos = len(text) if c is None else c.end()


def rst_blocks(text: str) -> Iterator[tuple[str, int, int]]:
    """(language, content start, content end) of reStructuredText code and literal blocks."""
    for m in _RST_DIRECTIVE.finditer(text):
        if m.group("literal") is not None and m.group("literal").lstrip().startswith(".."):
            continue  # another directive (`.. note::`), not a literal block
        indent = len(m.group("indent").expandtabs())
        pos = m.end() + 1
        start = end = None
        while pos < len(text):
            nl = text.find("\n", pos)
            nl = len(text) if nl < 0 else nl
            line = text[pos:nl]
            if line.strip():
                line_indent = len(line) - len(line.lstrip(" \t"))
                if line_indent <= indent:
                    break
                if start is None and line.lstrip().startswith(":") and m.group("lang") is not None:
                    pos = nl + 1  # a directive option such as :linenos:
                    continue
                if start is None:
                    start = pos
                end = nl
            pos = nl + 1
        if start is not None and end is not None:
            yield (m.group("lang") or "").lower(), start, end


def _snippet_path(src: Source, language: str, body: str) -> str:
    if language in ("", "text", "txt", "plain", "none") and _CONF_HINT.search(body):
        language = "conf"
    name = _LANGUAGES.get(language)
    if name is None:
        return ""
    if name == "snippet.yaml" and re.search(r"(?m)^services:[ \t]*$", body):
        name = "docker-compose.yaml"
    if name == "snippet.config" and re.search(r"(?m)^-(?:setcookie|name|sname)\b", body):
        name = "vm.args"
    directory = src.path.rpartition("/")[0]
    return f"{directory}/{name}" if directory else name


def detect_markdown(src: Source) -> Iterator[Detection]:
    if (
        not is_markdown(src)
        or "```" not in src.text
        and "~~~" not in src.text
        and "::" not in src.text
        and "{%" not in src.text
    ):
        return
    from erlcookie.scan.detectors import detect_source  # the registry imports this module

    text = src.text
    blocks = rst_blocks(text) if src.suffix == ".rst" else fenced_blocks(text)
    for language, start, end in blocks:
        body = text[start:end]
        if "ookie" not in body and "OOKIE" not in body:
            continue
        path = _snippet_path(src, language, body)
        if not path:
            continue
        if language in ("console", "shell-session", "shellsession", "terminal"):
            body = re.sub(r"(?m)^([ \t]*)[$#%>][ \t]", lambda m: m.group(1) + "  ", body)
        for d in detect_source(Source(path, body)):
            yield Detection(
                d.rule_id,
                start + d.start,
                start + d.end,
                d.value,
                key=d.key,
                key_start=None if d.key_start is None else start + d.key_start,
                note=d.note,
            )
