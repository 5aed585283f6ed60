"""`k8s inject`: wire workloads to the cookie Secret, offline, in place or as a diff.

Env mode sets the cookie variable from a `secretKeyRef` in each app container, replacing a
literal `value:`, a `configMapKeyRef` or a reference to another Secret (reported by
fingerprint or by name, never by value). Mount mode projects the Secret's key as a file
(mode 0400, subPath mount) where images such as RabbitMQ read `.erlang.cookie`.
Documents no edit touches are copied byte for byte (see `yamlstream`). Idempotent: a
second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from erlcookie.errors import UsageError
from erlcookie.findings.model import Finding
from erlcookie.k8s.inject.editor import DocumentEditor, EditContext, configmaps_in
from erlcookie.k8s.inject.files import (
    collect_files,
    combined_output,
    load_file,
    read_input,
    redacted_diff,
    write_in_place,
)
from erlcookie.k8s.inject.model import Change, FileResult, InjectOptions, InjectResult, finding

__all__ = [
    "InjectOptions",
    "InjectResult",
    "FileResult",
    "Change",
    "Finding",
    "inject",
    "inject_paths",
    "collect_files",
    "load_file",
    "combined_output",
    "redacted_diff",
    "write_in_place",
]


def inject(files: list[FileResult], options: InjectOptions) -> InjectResult:
    """Edit the parsed files in memory (nothing is written here)."""
    ctx = EditContext(options, configmaps_in(files))
    for result in files:
        for doc in result.docs:
            if doc.data is not None:
                DocumentEditor(ctx, result, doc).run()
    inj = InjectResult(files, ctx.workloads, options, ctx.namespaces)
    if options.containers:
        missing = [name for name in options.containers if name not in ctx.named_seen]
        if missing:
            raise UsageError(
                f"--container {', '.join(missing)}: no such container in any "
                "selected workload of the input"
            )
    return inj


def inject_paths(paths: Iterable[str], options: InjectOptions, *, stdin=None) -> InjectResult:
    import sys

    files = [
        load_file(path, read_input(path, stdin or sys.stdin), explicit)
        for path, explicit in collect_files(paths)
    ]
    for result in files:
        if result.skipped:
            result.findings.append(
                finding(
                    result.path,
                    1,
                    None,
                    None,
                    None,
                    "skipped",
                    f"skipped: {result.skipped}",
                    severity="warning",
                )
            )
    return inject(files, options)
