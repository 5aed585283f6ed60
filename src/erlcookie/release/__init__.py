"""Releases that take their cookie from RELEASE_COOKIE: `erlcookie release check` and `fix`.

`check(path)` returns a `Report` of findings with stable rule ids; `plan_fix(path, FixOptions(...))`
returns the file changes that fix them, computed in full before `apply` writes anything. Each
build tool (mix, rebar3/relx) is a `BuildTool`; the engine never branches on which one.
"""

from erlcookie.release.buildtool import BuildTool, FixOptions
from erlcookie.release.engine import BUILD_TOOLS, apply, check, diff, plan_fix
from erlcookie.release.layout import OutsideProjectError
from erlcookie.release.model import RULES, Finding, FixPlan, ReleaseParseError, Report

__all__ = ["BUILD_TOOLS", "RULES", "BuildTool", "Finding", "FixOptions", "FixPlan",
           "OutsideProjectError", "ReleaseParseError", "Report", "apply", "check", "diff",
           "plan_fix"]
