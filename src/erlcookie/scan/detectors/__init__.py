"""Detectors: plain functions from one file's (path, text) to raw detections.

Each detector knows one syntax (vm.args, Elixir, Dockerfile, YAML, TOML, shell) and emits
`Detection`s that still hold the literal cookie; the engine turns them into findings that
hold only fingerprints. Detectors never print, log or raise with a value.

One module per syntax; `detect(path, text)` runs them all, most specific first, and keeps
one detection per value position, so a compose list item is reported once as a compose
finding and not again as a generic `KEY=value`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from erlcookie.scan.detectors.ansible import detect_ansible_cookie_file
from erlcookie.scan.detectors.base import (
    COOKIE_NEEDLES,
    PREFILTER_NEEDLES,
    Detection,
    Source,
    is_cookie_file,
    needs_scan,
)
from erlcookie.scan.detectors.cli_tools import detect_helm_set, detect_kubectl_literal
from erlcookie.scan.detectors.code import (
    detect_code_calls,
    detect_elixir_config,
    detect_symbol_pairs,
)
from erlcookie.scan.detectors.code_fallbacks import detect_code_fallbacks
from erlcookie.scan.detectors.command_line import detect_command_line
from erlcookie.scan.detectors.conf import detect_conf
from erlcookie.scan.detectors.cookie_file import detect_cookie_file
from erlcookie.scan.detectors.dockerfile import detect_dockerfile
from erlcookie.scan.detectors.env import detect_env_assignments
from erlcookie.scan.detectors.erlang_config import detect_erlang_terms, detect_schema_default
from erlcookie.scan.detectors.hcl import detect_hcl
from erlcookie.scan.detectors.json_config import detect_json
from erlcookie.scan.detectors.markdown import detect_markdown
from erlcookie.scan.detectors.toml import detect_toml
from erlcookie.scan.detectors.vm_args import detect_vm_args
from erlcookie.scan.detectors.yaml import detect_yaml

__all__ = [
    "COOKIE_NEEDLES",
    "DETECTORS",
    "PREFILTER_NEEDLES",
    "Detection",
    "Detector",
    "Source",
    "detect",
    "detect_source",
    "is_cookie_file",
    "needs_scan",
]

Detector = Callable[[Source], Iterable[Detection]]

# Most specific first: when two detectors report the same value position, the first wins.
# Markdown goes first: a fenced block's findings carry its language's rules.
DETECTORS: tuple[Detector, ...] = (
    detect_cookie_file,
    detect_markdown,
    detect_vm_args,
    detect_dockerfile,
    detect_ansible_cookie_file,
    detect_yaml,
    detect_json,
    detect_hcl,
    detect_toml,
    detect_conf,
    detect_schema_default,
    detect_erlang_terms,
    detect_code_calls,
    detect_elixir_config,
    detect_symbol_pairs,
    detect_code_fallbacks,
    detect_helm_set,
    detect_kubectl_literal,
    detect_command_line,
    detect_env_assignments,
)


def detect(path: str, text: str) -> list[Detection]:
    """Every literal cookie in one file, one detection per value position."""
    return detect_source(Source(path, text))


def detect_source(src: Source) -> list[Detection]:
    seen: set[tuple[int, int]] = set()
    out: list[Detection] = []
    for detector in DETECTORS:
        for d in detector(src):
            span = (d.start, d.end)
            if span in seen:
                continue
            seen.add(span)
            out.append(d)
    out.sort(key=lambda d: d.start)
    return out
