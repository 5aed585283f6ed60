"""Releases that take their cookie from RELEASE_COOKIE: `erlcookie release check` and `fix`.

`check(path)` returns a `Report` of findings with stable rule ids; `plan_fix(path, FixOptions(...))`
returns the file changes that fix them, computed in full before `apply` writes anything. Each
build tool (mix, rebar3/relx) is a `BuildTool`; the engine never branches on which one.

The names below are imported on first use, so that `scan` can use `release.vmargs` (the one
vm.args reader) without loading the release analyzers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erlcookie._exports import lazy_exports

if TYPE_CHECKING:  # what type checkers and readers see; at run time see __getattr__
    from erlcookie.release.buildtool import BuildTool, FixOptions
    from erlcookie.release.engine import BUILD_TOOLS, apply, check, diff, plan_fix
    from erlcookie.release.layout import OutsideProjectError
    from erlcookie.release.model import RULES, Finding, FixPlan, ReleaseParseError, Report

__all__ = [
    "BUILD_TOOLS",
    "RULES",
    "BuildTool",
    "Finding",
    "FixOptions",
    "FixPlan",
    "OutsideProjectError",
    "ReleaseParseError",
    "Report",
    "apply",
    "check",
    "diff",
    "plan_fix",
]

_HOMES = {
    "BuildTool": "buildtool",
    "FixOptions": "buildtool",
    "BUILD_TOOLS": "engine",
    "apply": "engine",
    "check": "engine",
    "diff": "engine",
    "plan_fix": "engine",
    "OutsideProjectError": "layout",
    "RULES": "model",
    "Finding": "model",
    "FixPlan": "model",
    "ReleaseParseError": "model",
    "Report": "model",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
