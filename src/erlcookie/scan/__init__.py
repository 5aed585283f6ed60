"""Finding leaked and weak cookies in trees, staged changes and git history.

The core is importable without the CLI: `scan_tree`, `scan_staged` and `scan_history` in
`erlcookie.scan.engine` return a `ScanReport`; `erlcookie.scan.report` renders it as text
rows, JSON or SARIF; `erlcookie.scan.baseline` accepts known findings. Detectors are plain
functions over (path, text) in `erlcookie.scan.detectors`; rules live in
`erlcookie.scan.rules`. Reports hold cookie fingerprints, never cookie values.
"""
