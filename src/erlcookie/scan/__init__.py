"""Finding leaked and weak cookies in trees, staged changes and git history.

The core is importable without the CLI: `scan(paths, ScanOptions(...), mode)` in
`erlcookie.scan.engine` returns a `ScanReport` (the severity floor and the baseline are
options the engine applies); `erlcookie.scan.report` renders it as text rows, and the shared
findings layer (`erlcookie.findings.formats`) as JSON or SARIF. Detectors are plain
functions over (path, text) in `erlcookie.scan.detectors`, one module per syntax; rules live
in the shared registry `erlcookie.findings.rules`. Reports hold cookie fingerprints, never
cookie values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erlcookie._exports import lazy_exports

if TYPE_CHECKING:
    from erlcookie.scan.detectors import detect
    from erlcookie.scan.engine import ScanOptions, scan, scan_text
    from erlcookie.scan.model import ScanReport

_HOMES = {
    "ScanOptions": "engine",
    "scan": "engine",
    "scan_text": "engine",
    "ScanReport": "model",
    "detect": "detectors",
}
__all__ = sorted(_HOMES)
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
