"""inject's file side: which files, reading and parsing them, and the output as a stream,
a redacted diff, or files rewritten in place."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from erlcookie.errors import OperationalError, UsageError
from erlcookie.inputs import read_bounded
from erlcookie.k8s import yamlstream
from erlcookie.k8s.inject.model import FileResult, InjectResult
from erlcookie.k8s.workloads import WORKLOAD_KINDS

YAML_SUFFIXES = (".yaml", ".yml")


def collect_files(paths: Iterable[str]) -> list[tuple[str, bool]]:
    """(path, named explicitly) for each FILE, and each *.yaml/*.yml below each DIR."""
    found: list[tuple[str, bool]] = []
    for raw in paths:
        if raw == "-":
            found.append(("-", True))
            continue
        path = Path(raw)
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                rel = sub.relative_to(path).parts
                if any(part.startswith(".") for part in rel):
                    continue
                if sub.is_file() and sub.suffix in YAML_SUFFIXES:
                    found.append((str(sub), False))
        elif path.exists():
            found.append((str(path), True))
        else:
            raise UsageError(f"{raw}: no such file or directory")
    return found


def read_input(path: str, stdin) -> str:
    try:
        raw = read_bounded(path, limit=1 << 24, what="manifest", stdin=stdin)
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OperationalError(f"{path}: not UTF-8 text") from None


def _wanted_kind(kind: str) -> bool:
    """Documents inject reads: workloads, lists of them, and ConfigMaps (a replaced
    configMapKeyRef is fingerprinted from the ConfigMap when it is in the input)."""
    return kind in WORKLOAD_KINDS or kind == "ConfigMap" or kind.endswith("List")


def _unrendered_template(doc: yamlstream.Document) -> int | None:
    """The file line of a `{{ ... }}` action that YAML read as a mapping used as a key.

    `name: {{ .Values.name }}` is valid YAML (a flow mapping whose key is a mapping), so a
    Helm template can parse; a manifest never has such keys. Quoted `{{ }}` stay strings.
    """

    def walk(node: Any) -> int | None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(key, (Mapping, list, tuple)) or (
                    hasattr(key, "keys") and callable(key.keys)
                ):
                    lc = getattr(node, "lc", None)
                    return doc.body_line + (lc.line if lc is not None else 0)
                found = walk(value)
                if found is not None:
                    return found
        elif isinstance(node, list):
            for item in node:
                found = walk(item)
                if found is not None:
                    return found
        return None

    return walk(doc.data)


def load_file(path: str, text: str, explicit: bool) -> FileResult:
    result = FileResult(path=path, original=text)
    body = text
    if body.startswith("\ufeff"):
        result.bom, body = True, body[1:]
    try:
        result.docs = yamlstream.parse_documents(body, path, wanted=_wanted_kind)
        for doc in result.docs:
            line = _unrendered_template(doc)
            if line is not None:
                raise yamlstream.YamlParseError(
                    f"{path}:{line + 1}: an unrendered template (`{{{{ ... }}}}`), not a manifest"
                )
    except yamlstream.YamlBombError:
        raise  # hostile input: refused even inside a directory
    except yamlstream.YamlParseError as exc:
        hint = (
            (" (a Helm template: render it first, e.g. `helm template . | erlcookie k8s inject -`)")
            if "{{" in text
            else ""
        )
        if explicit:
            raise yamlstream.YamlParseError(f"{exc}{hint}") from None
        result.skipped = f"{exc}{hint}"
        result.docs = []
    return result


# -- output ---------------------------------------------------------------------------------


def combined_output(result: InjectResult) -> str:
    """Every file's (edited) text as one stream, `---` between files."""
    parts: list[str] = []
    for f in result.files:
        text = f.output
        if not text.strip():
            continue
        if parts:
            if not parts[-1].endswith("\n"):
                parts.append("\n")
            if not text.lstrip("\ufeff").startswith("---"):
                parts.append("---\n")
        parts.append(text.lstrip("\ufeff") if parts else text)
    return "".join(parts)


def redacted_diff(result: FileResult, label: str | None = None) -> str:
    """A unified diff of one file, with the lines of replaced values redacted; `label`
    names the file in the headers (default: its path)."""
    if not result.changed:
        return ""
    old = result.original.splitlines(keepends=True)
    for number in sorted(result.secret_lines):
        if 0 <= number < len(old):
            line = old[number]
            indent = line[: len(line) - len(line.lstrip())]
            key = line.strip().split(":", 1)[0] + ":" if ":" in line else ""
            old[number] = f"{indent}{key} <redacted>\n"
    new = result.output.splitlines(keepends=True)
    name = label if label is not None else result.path
    name = name if name != "-" else "stdin"
    lines = difflib.unified_diff(
        old, new, fromfile=f"a/{name.lstrip('/')}", tofile=f"b/{name.lstrip('/')}"
    )
    secrets = sorted({c.reveal() for c in result.secrets}, key=len, reverse=True)
    out = []
    for line in lines:
        for secret in secrets:  # a replaced value may also sit in an unchanged context line
            line = line.replace(secret, "<redacted>")
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def write_in_place(result: InjectResult) -> list[str]:
    """Write each changed file atomically (mode kept); returns the paths written."""
    from erlcookie.cookie.files import write_text_preserving_mode

    written = []
    for f in result.files:
        if f.changed and f.path != "-":
            target = os.path.realpath(f.path)  # edit a symlink's target, not the link
            write_text_preserving_mode(target, f.output)
            written.append(f.path)
    return written
