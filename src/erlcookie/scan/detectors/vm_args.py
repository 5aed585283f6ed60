"""EC001: `-setcookie` in vm.args files."""

from __future__ import annotations

import re
from typing import Iterator

from erlcookie.scan.detectors.base import Detection, Source, is_vm_args
from erlcookie.scan.detectors.command_line import _setcookie_words

_SETCOOKIE_VMARGS = re.compile(r"(?m)^[ \t#%]*-setcookie\b[ \t]*(?P<rest>[^\n]*)")


def detect_vm_args(src: Source) -> Iterator[Detection]:
    if not is_vm_args(src):
        return
    for m in _SETCOOKIE_VMARGS.finditer(src.text):
        yield from _setcookie_words("EC001", m.start("rest"), m.group("rest"), "-setcookie",
                                    m.start())
