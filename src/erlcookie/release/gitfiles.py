"""Which cookie files git tracks, or would pick up, under a path (a small git adapter).

Only `git ls-files` is run, with a timeout and no pager; without git or outside a work tree
the caller falls back to what lies in the tree.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from erlcookie.scan.detectors import is_cookie_file  # one definition of a cookie file

GIT_TIMEOUT = 20.0


@dataclass
class GitView:
    tracked: list[str]        # relative to the path asked about
    untracked: list[str]      # not ignored, not yet added


def _ls_files(base: Path, *extra: str) -> list[str] | None:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0")
    try:
        proc = subprocess.run(["git", "-C", str(base), "ls-files", "-z", *extra, "--", "."],
                              capture_output=True, timeout=GIT_TIMEOUT, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def cookie_files(base: Path) -> GitView | None:
    """Cookie files git knows about under `base`; None when git cannot tell."""
    tracked = _ls_files(base)
    if tracked is None:
        return None
    untracked = _ls_files(base, "--others", "--exclude-standard") or []
    return GitView([p for p in tracked if is_cookie_file(p)],
                   [p for p in untracked if is_cookie_file(p)])
