"""EC017 / EC018: cookies handed to deployment tools on their command lines.

`helm install ... --set auth.erlangCookie=X` (dotted keys, comma-separated pairs,
`--set-string`, `erlangFlags.setcookie=X`) and `kubectl create secret generic ...
--from-literal=cookie=X`, in scripts, Makefiles, CI files and README snippets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import HELM_SET_COOKIE, KUBECTL_LITERAL_COOKIE
from erlcookie.scan.detectors.base import Detection, Source, _assignment_rule, _literal_ok
from erlcookie.scan.syntax import cookie_name_confidence, normalise_name

_HELM_SET = re.compile(r"(?<![\w-])--set(?:-string)?(?:[ \t]*=[ \t]*|[ \t]+)(?P<rest>[^\n]*)")
_FROM_LITERAL = re.compile(r"(?<![\w-])--from-literal(?:[ \t]*=[ \t]*|[ \t]+)(?P<rest>[^\n]*)")


def _cookie_key(name: str) -> str | None:
    """'high' for a key that holds an Erlang cookie, 'generic' for other cookie names."""
    norm = normalise_name(name)
    if norm in ("setcookie", "cookie", "erlangcookie") or name.lower() == ".erlang.cookie":
        return "high"
    return cookie_name_confidence(name)


def _token(text: str, pos: int, end: int) -> tuple[int, int]:
    """The shell word at text[pos:end] (quotes kept), as (start, end)."""
    while pos < end and text[pos] in " \t":
        pos += 1
    i, quote = pos, ""
    while i < end:
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in " \t;|&)\\":
            break
        i += 1
    return pos, i


def _unquote(text: str, start: int, end: int) -> tuple[str, int, int]:
    if end - start >= 2 and text[start] in "\"'" and text[end - 1] == text[start]:
        return text[start + 1 : end - 1], start + 1, end - 1
    return text[start:end], start, end


def _pairs(word: str, base: int) -> Iterator[tuple[str, str, int, int, int]]:
    """`a.b=c,d=e` -> (key path, value, key start, value start, value end); `\\,` and `\\.`
    escape as helm reads them."""
    i, n = 0, len(word)
    while i < n:
        eq = word.find("=", i)
        if eq < 0:
            return
        key = word[i:eq]
        j = eq + 1
        while j < n and word[j] != "," or (j < n and word[j - 1] == "\\"):
            j += 1
        if "," in key:  # a comma before the '=': the previous value held a list
            i = i + key.rfind(",") + 1
            continue
        yield key, word[eq + 1 : j].replace("\\,", ","), base + i, base + eq + 1, base + j
        i = j + 1


def detect_helm_set(src: Source) -> Iterator[Detection]:
    text = src.text
    if "--set" not in text:
        return
    for m in src.finditer(_HELM_SET):
        ts, te = _token(text, m.start("rest"), m.end("rest"))
        word, base, _ = _unquote(text, ts, te)
        for key, _raw, ks, vs, ve in _pairs(word, base):
            value, vs, ve = _unquote(text, vs, ve)
            last = re.split(r"(?<!\\)\.", key)[-1].replace("\\.", ".")
            confidence = _cookie_key(last)
            if confidence is None or not _literal_ok(value):
                continue
            rule = _assignment_rule(src, confidence, value, HELM_SET_COOKIE)
            if rule:
                yield Detection(rule, vs, ve, value, key=key, key_start=ks)


def detect_kubectl_literal(src: Source) -> Iterator[Detection]:
    text = src.text
    if "--from-literal" not in text:
        return
    for m in src.finditer(_FROM_LITERAL):
        ts, te = _token(text, m.start("rest"), m.end("rest"))
        word, base, _ = _unquote(text, ts, te)  # "key=value" quoted whole
        eq = word.find("=")
        if eq <= 0:
            continue
        key = word[:eq]
        value, vs, ve = _unquote(text, base + eq + 1, base + len(word))  # key='value'
        confidence = _cookie_key(key)
        if confidence is None or not _literal_ok(value):
            continue
        rule = _assignment_rule(src, confidence, value, KUBECTL_LITERAL_COOKIE)
        if rule:
            yield Detection(rule, vs, ve, value, key=key, key_start=base)
