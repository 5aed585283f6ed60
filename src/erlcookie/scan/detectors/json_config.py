"""EC008-EC010 / EC020: JSON read structurally (Kubernetes manifests written as JSON, VS Code
launch.json).

A manifest in JSON holds the same env `{"name": ..., "value": ...}` pairs, Secret
`stringData`/`data` and ConfigMap `data` as its YAML twin. launch.json's Erlang/Elixir debug
configurations carry a `"cookie"` for the node they start. A small tokenizer keeps every
string's offsets, so findings point at the value; JSON with comments (jsonc) is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import (
    ENV_ASSIGNMENT,
    IDE_LAUNCH_COOKIE,
    K8S_CONFIGMAP_COOKIE,
    K8S_ENV_LITERAL,
    K8S_SECRET_COMMITTED,
)
from erlcookie.scan.detectors.base import Detection, Source, _assignment_rule, _literal_ok
from erlcookie.scan.syntax import cookie_name_confidence, erlang_context, normalise_name

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<punct>[{}\[\]:,])"""
    r"""|(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<lit>[^\s{}\[\]:,"]+))""",
    re.S,
)
_MAX_JSON = 2_000_000


class _Node:
    __slots__ = ("kind", "items", "start", "end")

    def __init__(self, kind, items=None, start=0, end=0):
        self.kind = kind  # "obj", "arr", "str", "lit"
        self.items = items  # dict for obj (key -> (_Node, key offset)), list for arr, str
        self.start = start
        self.end = end


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    import json

    try:
        return json.loads('"' + raw + '"')
    except ValueError:
        return raw


def parse(text: str) -> _Node | None:
    """A position-keeping parse of JSON (comments allowed), or None if it is not JSON."""
    tokens = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos:].strip():
                return None
            break
        pos = m.end()
        if m.group("comment") is not None:
            continue
        if m.group("str") is not None:
            tokens.append(("str", m.start("str"), m.end("str")))
        elif m.group("punct") is not None:
            tokens.append((m.group("punct"), m.start("punct"), m.end("punct")))
        elif m.group("lit") is not None:
            tokens.append(("lit", m.start("lit"), m.end("lit")))
    index = 0

    def value(depth: int) -> _Node:
        nonlocal index
        if depth > 200 or index >= len(tokens):
            raise ValueError
        kind, s, e = tokens[index]
        index += 1
        if kind == "str":
            return _Node("str", _unescape(text[s + 1 : e - 1]), s + 1, e - 1)
        if kind == "lit":
            return _Node("lit", text[s:e], s, e)
        if kind == "{":
            items: dict = {}
            while index < len(tokens) and tokens[index][0] != "}":
                k, ks, ke = tokens[index]
                if k != "str" or index + 1 >= len(tokens) or tokens[index + 1][0] != ":":
                    raise ValueError
                index += 2
                items[_unescape(text[ks + 1 : ke - 1])] = (value(depth + 1), ks + 1)
                if index < len(tokens) and tokens[index][0] == ",":
                    index += 1
            index += 1
            return _Node("obj", items, s, e)
        if kind == "[":
            elems = []
            while index < len(tokens) and tokens[index][0] != "]":
                elems.append(value(depth + 1))
                if index < len(tokens) and tokens[index][0] == ",":
                    index += 1
            index += 1
            return _Node("arr", elems, s, e)
        raise ValueError

    try:
        return value(0) if tokens and tokens[0][0] in "{[" else None
    except (ValueError, IndexError):
        return None


def _walk(node: _Node, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], _Node]]:
    yield path, node
    if node.kind == "obj":
        for key, (child, _ks) in node.items.items():
            yield from _walk(child, path + (key,))
    elif node.kind == "arr":
        for child in node.items:
            yield from _walk(child, path + ("[]",))


def _str(node: _Node | None) -> str | None:
    return node.items if node is not None and node.kind == "str" else None


_WORTH_PARSING = re.compile(
    r""""name"\s*:\s*"[^"\n]*(?:ookie|OOKIE)"""
    r"""|"kind"\s*:\s*"(?:Secret|ConfigMap)"|"(?:\.erlang\.)?cookie"\s*:"""
)


def detect_json(src: Source) -> Iterator[Detection]:
    if src.suffix not in (".json", ".jsonc", ".code-workspace") or len(src.text) > _MAX_JSON:
        return
    if not _WORTH_PARSING.search(src.text):
        return  # nothing structural to find: the generic key rules still read the file
    root = parse(src.text)
    if root is None:
        return
    launch = src.name in ("launch.json",) or src.suffix == ".code-workspace"
    for path, node in _walk(root, ()):
        if node.kind != "obj":
            continue
        items = node.items
        kind = _str(items.get("kind", (None,))[0])
        # launch.json: {"type": "erlang", "cookie": "..."}
        if launch and "cookie" in items:
            value = items["cookie"][0]
            if _str(value) is not None and _literal_ok(value.items):
                yield Detection(
                    IDE_LAUNCH_COOKIE,
                    value.start,
                    value.end,
                    value.items,
                    key="cookie",
                    key_start=items["cookie"][1],
                )
        # configuration in JSON: {"erlang": {"cookie": "..."}} (a Chef data bag, app config)
        if "cookie" in items and not launch and erlang_context(path[-2:]):
            value = items["cookie"][0]
            if _str(value) is not None and _literal_ok(value.items):
                yield Detection(
                    ENV_ASSIGNMENT,
                    value.start,
                    value.end,
                    value.items,
                    key="cookie",
                    key_start=items["cookie"][1],
                )
        # Secret / ConfigMap data
        if kind in ("Secret", "ConfigMap"):
            for section in ("stringData", "data"):
                data = items.get(section, (None,))[0]
                if data is None or data.kind != "obj":
                    continue
                yield from _data(src, kind, section, data)
        # env {"name": X, "value": Y}
        name = _str(items.get("name", (None,))[0])
        val = items.get("value", (None,))[0]
        if name and _str(val) is not None and "valueFrom" not in items and "env" in path[-2:]:
            confidence = cookie_name_confidence(name)
            if confidence and _literal_ok(val.items):
                rule = _assignment_rule(
                    src,
                    confidence,
                    val.items,
                    K8S_ENV_LITERAL
                    if "containers" in path or "initContainers" in path
                    else ENV_ASSIGNMENT,
                )
                if rule:
                    yield Detection(
                        rule,
                        val.start,
                        val.end,
                        val.items,
                        key=name,
                        key_start=items["name"][0].start,
                    )


def _data(src: Source, kind: str, section: str, data: _Node) -> Iterator[Detection]:
    from erlcookie.scan.detectors.yaml import _decode_secret_data

    for key, (child, ks) in data.items.items():
        if _str(child) is None or not _literal_ok(child.items):
            continue
        confidence = cookie_name_confidence(key)
        if confidence is None:
            continue
        if normalise_name(key) == "cookie" or key == ".erlang.cookie":
            confidence = "high"
        value, note = child.items, None
        if kind == "Secret" and section == "data":
            value, note = _decode_secret_data(child.items)
        rule = K8S_SECRET_COMMITTED if kind == "Secret" else K8S_CONFIGMAP_COOKIE
        rule = _assignment_rule(src, confidence, value, rule)
        if rule and _literal_ok(value):
            yield Detection(rule, child.start, child.end, value, key=key, key_start=ks, note=note)
