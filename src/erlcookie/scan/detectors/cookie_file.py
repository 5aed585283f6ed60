"""EC002: a committed .erlang.cookie or releases/COOKIE file."""

from __future__ import annotations

import re
from collections.abc import Iterator

from erlcookie.findings.rules import COMMITTED_COOKIE_FILE
from erlcookie.scan.detectors.base import Detection, Source, _literal_ok, is_cookie_file


# -- EC002: committed cookie files ---------------------------------------------------------
def detect_cookie_file(src: Source) -> Iterator[Detection]:
    if not is_cookie_file(src.path):
        return
    m = re.search(r"[^\s]+(?:[ \t]+[^\s]+)*", src.text)
    if m and _literal_ok(m.group(0)):
        yield Detection(COMMITTED_COOKIE_FILE, m.start(), m.end(), m.group(0), key=src.name)
