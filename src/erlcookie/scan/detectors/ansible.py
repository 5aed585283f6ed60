"""EC019: Ansible tasks that write a literal into an `.erlang.cookie` file.

`copy:` (or `ansible.builtin.copy:`, `template:` with inline content) with
`dest: /var/lib/rabbitmq/.erlang.cookie` and `content: "..."`: the playbook holds the
cookie of every node it configures. `content: "{{ vaulted_var }}"` is a reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import ANSIBLE_COOKIE_FILE
from erlcookie.scan.detectors.base import Detection, Source, _literal_ok, is_yaml
from erlcookie.scan.syntax import read_line_value

_DEST = re.compile(
    r"(?m)^(?P<indent>[ \t]*)(?:-[ \t]+)?(?:dest|path|destfile)[ \t]*:[ \t]*"
    r"[\"']?[^\n]*\.erlang\.cookie[\"']?[ \t]*$"
)
_KEY = re.compile(r"(?P<indent>[ \t]*)(?P<dash>-[ \t]+)?(?P<key>[\w.]+)[ \t]*:(?:[ \t]+|$)")


def _key_column(line: str) -> tuple[int, bool]:
    """Column of a YAML line's key (after any `- `), and whether it starts a list item."""
    stripped = line.lstrip(" \t")
    col = len(line) - len(stripped)
    dash = stripped.startswith("- ")
    while stripped.startswith("- "):
        stripped = stripped[2:].lstrip(" ")
    return len(line) - len(stripped) if dash else col, dash


def _block(text: str, line_start: int, indent: int) -> tuple[int, int]:
    """The lines of the mapping that the key at column `indent` on `line_start` belongs to."""
    lo = line_start
    first_col, first_dash = _key_column(text[line_start : text.find("\n", line_start)])
    if not first_dash:
        while lo > 0:
            prev = text.rfind("\n", 0, lo - 1) + 1
            line = text[prev : lo - 1]
            if line.strip() and not line.lstrip().startswith("#"):
                col, dash = _key_column(line)
                if col < indent:
                    break
                if col == indent and dash:
                    lo = prev
                    break
            lo = prev
    hi = text.find("\n", line_start)
    hi = len(text) if hi < 0 else hi
    while hi < len(text):
        nxt = text.find("\n", hi + 1)
        nxt = len(text) if nxt < 0 else nxt
        line = text[hi + 1 : nxt]
        if line.strip() and not line.lstrip().startswith("#"):
            col, dash = _key_column(line)
            if col < indent or (col == indent and dash):
                break
        hi = nxt
    return lo, hi


def detect_ansible_cookie_file(src: Source) -> Iterator[Detection]:
    if not is_yaml(src) or ".erlang.cookie" not in src.text:
        return
    text = src.text
    for m in _DEST.finditer(text):
        indent, _ = _key_column(m.group(0))
        lo, hi = _block(text, m.start(), indent)
        pos = lo
        while pos < hi:
            nl = text.find("\n", pos, hi)
            end = hi if nl < 0 else nl
            k = _KEY.match(text, pos, end)
            if k and k.group("key") == "content":
                col, _ = _key_column(text[pos:end])
                if col == indent:
                    got = read_line_value(text, k.end())
                    if got and got[0] and got[0][:1] in "|>":
                        got = _block_scalar(text, end, col)
                    if got and _literal_ok(got[0]):
                        yield Detection(
                            ANSIBLE_COOKIE_FILE,
                            got[1],
                            got[2],
                            got[0],
                            key="content",
                            key_start=k.start("key"),
                        )
            pos = end + 1


def _block_scalar(text: str, line_end: int, indent: int) -> tuple[str, int, int] | None:
    cursor = line_end + 1
    while cursor < len(text):
        nl = text.find("\n", cursor)
        nl = len(text) if nl < 0 else nl
        line = text[cursor:nl]
        if line.strip():
            ind = len(line) - len(line.lstrip(" \t"))
            if ind <= indent:
                return None
            s, e = cursor + ind, cursor + len(line.rstrip(" \t\r"))
            return text[s:e], s, e
        cursor = nl + 1
    return None
