"""Releases that take their cookie from RELEASE_COOKIE: `erlcookie release check` and `fix`.

`check(path)` returns a `Report` of findings with stable rule ids; `plan_fix(path)` returns
the file changes that fix them, computed in full before `apply` writes anything.
"""

from erlcookie.release.engine import apply, check, diff, plan_fix
from erlcookie.release.model import RULES, Finding, FixPlan, ReleaseParseError, Report

__all__ = ["RULES", "Finding", "FixPlan", "ReleaseParseError", "Report", "apply", "check",
           "diff", "plan_fix"]
