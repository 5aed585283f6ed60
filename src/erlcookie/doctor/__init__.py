"""`erlcookie doctor`: one diagnosis of a whole project, and the offline fixes.

`diagnose(path)` runs `release check`, an in-memory `k8s inject --check` (plus cookies that
reach pods through envFrom) and `scan` over the project, reports each problem once, grouped
by rule with its fix, and orders the next steps so a running cluster never splits.
`fix.plan(diagnosis)` and `fix.apply(plan)` do what is safe offline.
"""

from __future__ import annotations

from erlcookie.doctor.diagnose import diagnose
from erlcookie.doctor.model import Diagnosis, DoctorOptions, Item, Problem

__all__ = ["Diagnosis", "DoctorOptions", "Item", "Problem", "diagnose"]
