"""EC008-EC012: YAML (Kubernetes manifests, Helm values, docker-compose, CI files)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

from erlcookie.findings.rules import (
    COMPOSE_ENV_COOKIE,
    ENV_ASSIGNMENT,
    K8S_CONFIGMAP_COOKIE,
    K8S_ENV_LITERAL,
    K8S_SECRET_COMMITTED,
    YAML_COOKIE_VALUE,
)
from erlcookie.scan.detectors.base import (
    Detection,
    Source,
    _assignment_rule,
    _literal_ok,
    is_compose,
    is_yaml,
)
from erlcookie.scan.syntax import (
    cookie_name_confidence,
    erlang_context,
    normalise_name,
    read_line_value,
)

_YAML_LINE = re.compile(
    r"""^(?P<indent>[ \t]*)(?P<dash>(?:-[ \t]+)*)"""
    r"""(?:(?P<key>"[^"\n]*"|'[^'\n]*'|[^\s#:'"\[\]{},&*!|>%@`][^:\n]*?)[ \t]*:(?=[ \t\r]|$))?"""
)
_YAML_BLOCK = re.compile(r"^[|>][-+0-9]*[ \t]*(#.*)?$")
_K8S_KINDS_WITH_ENV = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Pod",
    "ReplicaSet",
    "ReplicationController",
    "PodTemplate",
)
_ENV_PARENTS = (
    "env",
    "variables",
    "vars",
    "environment_variables",
    "envs",
    "extraenv",
    "extraenvvars",
    "environmentvariables",
    "global_env",
)


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
        after = text[pos + m.end() : line_end].strip()
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


def _yaml_rule(
    src: Source, kind: str | None, parents: tuple[str, ...], key: str, value: str
) -> tuple[str | None, str, str | None]:
    """(rule, value to audit, note) for a cookie-named YAML key with a literal value."""
    confidence = cookie_name_confidence(key)
    if key == "setcookie":  # a flag map such as the CouchDB chart's erlangFlags
        confidence = "high"
    if confidence is None:
        return None, value, None
    parent = parents[-1] if parents else ""
    if (
        confidence == "generic"
        and normalise_name(key) == "cookie"
        and (erlang_context(parents) or kind in ("Secret", "ConfigMap"))
    ):
        confidence = "high"  # `erlang: {cookie: ...}`, a Secret's `cookie` key
    if kind == "Secret" and parent in ("data", "stringdata"):
        if parent == "data":
            decoded, note = _decode_secret_data(value)
            return K8S_SECRET_COMMITTED, decoded, note
        return K8S_SECRET_COMMITTED, value, None
    if kind == "ConfigMap" and parent in ("data", "binarydata"):
        return _assignment_rule(src, confidence, value, K8S_CONFIGMAP_COOKIE), value, None
    if parent == "environment" or (parent == "args" and "build" in parents):
        # the compose rule only in compose files (snapcraft and Ansible have `environment:` too)
        rule = COMPOSE_ENV_COOKIE if is_compose(src) else ENV_ASSIGNMENT
        return _assignment_rule(src, confidence, value, rule), value, None
    if parent.replace("_", "").replace("-", "") in _ENV_PARENTS:
        return _assignment_rule(src, confidence, value, ENV_ASSIGNMENT), value, None
    return _assignment_rule(src, confidence, value, YAML_COOKIE_VALUE), value, None


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
            if (
                entry.value is None
                and text[entry.start : entry.start + 80].lstrip(" \t")[:1] == "{"
            ):
                yield from _flow_mapping(src, kind, entry)
                continue
            if entry.value is None or not _literal_ok(entry.value):
                continue
            rule, value, note = _yaml_rule(src, kind, entry.parents, entry.key, entry.value)
            if rule and _literal_ok(value):
                yield Detection(
                    rule,
                    entry.start,
                    entry.end,
                    value,
                    key=entry.key,
                    key_start=entry.key_start,
                    note=note,
                )
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
            k8s = (
                kind in _K8S_KINDS_WITH_ENV or "env" in name.parents or "containers" in name.parents
            )
            rule = _assignment_rule(
                src, confidence, val.value, K8S_ENV_LITERAL if k8s else ENV_ASSIGNMENT
            )
            if rule:
                yield Detection(
                    rule, val.start, val.end, val.value, key=name.value, key_start=name.key_start
                )


_FLOW_PAIR = re.compile(r"""[ \t]*(?P<key>"[^"\n]*"|'[^'\n]*'|[^\s:,{}\[\]"']+)[ \t]*:[ \t]+""")


def _flow_mapping(src: Source, kind: str | None, entry: _YamlEntry) -> Iterator[Detection]:
    """`erlangFlags: {name: couchdb, setcookie: monster}`: one level of flow mapping."""
    text = src.text
    start = text.find("{", entry.start)
    line_end = text.find("\n", entry.start)
    line_end = len(text) if line_end < 0 else line_end
    close = text.find("}", start, line_end)
    if start < 0 or close < 0 or "{" in text[start + 1 : close]:
        return
    parents = (*entry.parents, entry.key.lower())
    pos = start + 1
    while pos < close:
        m = _FLOW_PAIR.match(text, pos, close)
        comma = text.find(",", pos, close)
        nxt = close if comma < 0 else comma
        if m:
            key = m.group("key").strip("\"'")
            got = read_line_value(text[:nxt], m.end())
            if got and _literal_ok(got[0]):
                rule, value, note = _yaml_rule(src, kind, parents, key, got[0])
                if rule and _literal_ok(value):
                    yield Detection(
                        rule, got[1], got[2], value, key=key, key_start=m.start("key"), note=note
                    )
        pos = nxt + 1


def _yaml_list_item(
    src: Source, kind: str | None, text: str, start: int, end: int, parents: tuple[str, ...]
) -> Iterator[Detection]:
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
        rule = _assignment_rule(src, confidence, value, K8S_SECRET_COMMITTED)
    elif parent == "literals" and "configmapgenerator" in parents:
        rule = _assignment_rule(src, confidence, value, K8S_CONFIGMAP_COOKIE)
    elif parent in ("environment", "args"):
        rule = _assignment_rule(src, confidence, value, COMPOSE_ENV_COOKIE)
    else:
        rule = _assignment_rule(src, confidence, value, ENV_ASSIGNMENT)
    if rule:
        yield Detection(rule, vs, ve, value, key=key, key_start=body_start)
