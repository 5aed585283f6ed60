"""EC007: Dockerfile ENV and ARG."""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import DOCKERFILE_ENV
from erlcookie.scan.detectors.base import (
    Detection,
    Source,
    _assignment_rule,
    _literal_ok,
    is_dockerfile,
)
from erlcookie.scan.syntax import cookie_name_confidence, read_line_value, read_value

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
            rule = _assignment_rule(
                src, cookie_name_confidence(km.group("key")), value, DOCKERFILE_ENV
            )
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
            rule = _assignment_rule(
                src, cookie_name_confidence(pm.group("key")), value, DOCKERFILE_ENV
            )
            if rule and _literal_ok(value):
                yield Detection(
                    rule, vs, ve, value, key=pm.group("key"), key_start=start + pm.start()
                )
