"""EC001: `-setcookie` in vm.args files, read by the same reader as `release check`.

`erlcookie.release.vmargs` reads a vm.args the way erlexec does (quotes, backslashes, `#`
comments), so `scan` and `release check` cannot disagree about which word is the cookie.
"""

from __future__ import annotations

from collections.abc import Iterator

from erlcookie.findings.rules import VM_ARGS_SETCOOKIE
from erlcookie.release import vmargs
from erlcookie.scan.detectors.base import Detection, Source, _literal_ok, is_vm_args
from erlcookie.scan.syntax import is_reference


def detect_vm_args(src: Source) -> Iterator[Detection]:
    if not is_vm_args(src):
        return
    for flag in vmargs.find(vmargs.every_flag(src.text), "-setcookie"):
        if not flag.args:
            continue
        # `-setcookie Cookie`, or `-setcookie Node Cookie` for one peer
        word = flag.args[0] if len(flag.args) == 1 else flag.args[1]
        # a template argument (`<%= ... %>`, `{{ ... }}`) is split into words; judge it whole
        if not _literal_ok(word.value) or is_reference(src.text[flag.args[0].start : flag.end]):
            continue
        start, end = word.start, word.end
        if len(word.raw) >= 2 and word.raw[0] in "\"'" and word.raw[-1] == word.raw[0]:
            start, end = start + 1, end - 1  # point at the cookie, not at its quotes
        yield Detection(
            VM_ARGS_SETCOOKIE, start, end, word.value, key="-setcookie", key_start=flag.word.start
        )
