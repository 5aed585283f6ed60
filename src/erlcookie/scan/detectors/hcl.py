"""EC005 / EC008 / EC010: Terraform and other HCL.

`resource "kubernetes_secret" { data = { cookie = "..." } }` is a committed Secret,
`env { name = "RELEASE_COOKIE" value = "..." }` a container env literal, and
`variable "erlang_cookie" { default = "..." }` a default every apply without the variable
uses. Blocks are followed line by line (`header {` ... `}`); `var.x`, `local.x` and `${...}`
are references.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import ENV_ASSIGNMENT, K8S_ENV_LITERAL, K8S_SECRET_COMMITTED
from erlcookie.scan.detectors.base import Detection, Source, _assignment_rule, _literal_ok
from erlcookie.scan.syntax import cookie_name_confidence, normalise_name, read_quoted

_HCL_SUFFIXES = (".tf", ".tfvars", ".hcl", ".nomad", ".tf.json")
_OPEN = re.compile(
    r"""^[ \t]*(?P<header>[A-Za-z_][\w-]*(?:[ \t]+(?:"[^"\n]*"|[\w-]+))*)"""
    r"""[ \t]*(?:=[ \t]*)?\{[ \t]*(?:#.*|//.*)?$"""
)
_ATTR = re.compile(r"""[ \t]*(?P<key>"[^"\n]+"|[A-Za-z_][\w.-]*)[ \t]*=[ \t]*(?=\S)""")
_SECRET_RESOURCES = ("kubernetes_secret", "kubernetes_secret_v1")


def is_hcl(src: Source) -> bool:
    return src.name.lower().endswith(_HCL_SUFFIXES)


def _hcl_value(text: str, pos: int) -> tuple[str, int, int] | None:
    if text.startswith('"', pos):
        got = read_quoted(text, pos)
        if got is None or "${" in got[0] or "%{" in got[0]:
            return None
        return got[0], pos + 1, got[1] - 1
    return None  # bare words are references (var.x, local.x), numbers or booleans


def detect_hcl(src: Source) -> Iterator[Detection]:
    if not is_hcl(src):
        return
    text = src.text
    stack: list[str] = []  # block headers, outermost first
    env_blocks: list[dict[str, tuple[str, int, int, int]]] = []
    pos, n = 0, len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        line = text[pos:end]
        stripped = line.strip()
        if stripped.startswith(("#", "//")) or not stripped:
            pos = end + 1
            continue
        opened = _OPEN.match(line)
        if opened:
            header = opened.group("header")
            stack.append(header)
            if header.split()[0] == "env":
                env_blocks.append({})
        elif stripped.startswith("}") and stack:
            closed = stack.pop()
            if closed.split()[0] == "env" and env_blocks:
                yield from _env_block(src, env_blocks.pop())
        else:
            a = _ATTR.match(text, pos, end)
            if a:
                key = a.group("key").strip('"')
                got = _hcl_value(text, a.end())
                if got and _literal_ok(got[0]):
                    if stack and stack[-1].split()[0] == "env" and env_blocks:
                        env_blocks[-1][key] = (got[0], got[1], got[2], a.start("key"))
                    else:
                        yield from _attribute(src, stack, key, got, a.start("key"))
                elif stack and stack[-1].split()[0] == "env" and env_blocks:
                    env_blocks[-1].setdefault(key, ("", -1, -1, a.start("key")))
        pos = end + 1


def _words(header: str) -> list[str]:
    return [w.strip('"') for w in header.split()]


def _attribute(
    src: Source, stack: list[str], key: str, got: tuple[str, int, int], key_start: int
) -> Iterator[Detection]:
    value, vs, ve = got
    outer = [_words(h) for h in stack]
    in_secret = any(
        w[:2] in (["resource", r] for r in _SECRET_RESOURCES)
        or w[:2] in (["data", r] for r in _SECRET_RESOURCES)
        for w in outer
    )
    block = outer[-1][0] if outer else ""
    if in_secret and block in ("data", "string_data", "binary_data"):
        confidence = cookie_name_confidence(key)
        if confidence is None:
            return
        if normalise_name(key) == "cookie":
            confidence = "high"
        rule = _assignment_rule(src, confidence, value, K8S_SECRET_COMMITTED)
    elif outer and outer[-1][0] == "variable" and key == "default" and len(outer[-1]) > 1:
        name = outer[-1][1]
        rule = _assignment_rule(src, cookie_name_confidence(name), value, ENV_ASSIGNMENT)
        key = f"variable {name} default"
    else:
        return  # other attributes: the generic assignment rules see `erlang_cookie = "..."`
    if rule:
        yield Detection(rule, vs, ve, value, key=key, key_start=key_start)


def _env_block(src: Source, fields: dict[str, tuple[str, int, int, int]]) -> Iterator[Detection]:
    name, value = fields.get("name"), fields.get("value")
    if not name or not value or value[1] < 0 or not name[0]:
        return
    confidence = cookie_name_confidence(name[0])
    rule = _assignment_rule(src, confidence, value[0], K8S_ENV_LITERAL) if confidence else None
    if rule:
        yield Detection(rule, value[1], value[2], value[0], key=name[0], key_start=name[3])
