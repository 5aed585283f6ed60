"""Baselines: accept known findings so only new leaks fail the build.

A baseline is a small JSON file of finding identities (rule + path + cookie fingerprint
+ ordinal, hashed), with the readable parts alongside for review. It holds fingerprints,
never cookies, so it can be committed. Line numbers are informational only: a finding
that moves stays accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from erlcookie import __version__
from erlcookie.cookie.files import write_text_preserving_mode
from erlcookie.errors import OperationalError, UsageError
from erlcookie.findings.model import Finding
from erlcookie.inputs import read_bounded
from erlcookie.scan.model import ScanReport

FORMAT = "erlcookie-scan-baseline"
VERSION = 1


def load(path: str) -> set[str]:
    """The accepted identities in a baseline file."""
    try:
        data = json.loads(read_bounded(path, limit=1 << 26, what="baseline"))
    except FileNotFoundError:
        raise UsageError(
            f"baseline {path} does not exist (create it with --write-baseline)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationalError(f"cannot read baseline {path}: {exc.__class__.__name__}") from None
    except json.JSONDecodeError as exc:
        raise OperationalError(f"baseline {path} is not valid JSON (line {exc.lineno})") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("findings"), list)
    ):
        raise OperationalError(
            f"{path} is not an erlcookie scan baseline "
            f'(expected "format": "{FORMAT}" and a findings list)'
        )
    if data.get("version") != VERSION:
        raise OperationalError(
            f"baseline {path} has version {data.get('version')!r}; "
            f"this erlcookie reads version {VERSION}"
        )
    ids = set()
    for entry in data["findings"]:
        if isinstance(entry, dict) and isinstance(entry.get("identity"), str):
            ids.add(entry["identity"])
        else:
            raise OperationalError(f"baseline {path} has an entry without an identity")
    return ids


def apply(report: ScanReport, accepted: set[str]) -> None:
    """Move findings in the baseline from `findings` to `accepted`."""
    keep, moved = [], []
    for f in report.findings:
        (moved if f.identity in accepted else keep).append(f)
    report.findings, report.accepted = keep, moved


def render(findings: Iterable[Finding]) -> str:
    entries = {}
    for f in findings:
        entries[f.identity] = {
            "identity": f.identity,
            "rule": f.rule_id,
            "path": f.path,
            "fingerprint": f.fingerprint,
            "line": f.line,
        }
    data = {
        "format": FORMAT,
        "version": VERSION,
        "generated_by": f"erlcookie {__version__}",
        "findings": sorted(entries.values(), key=lambda e: (e["path"], e["rule"], e["identity"])),
    }
    return json.dumps(data, indent=2) + "\n"


def write(path: str, findings: Iterable[Finding]) -> None:
    write_text_preserving_mode(path, render(findings))
