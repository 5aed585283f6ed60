"""Severity: one ordered scale for every finding erlcookie reports."""

from __future__ import annotations

import enum

__all__ = ["Severity"]


class Severity(enum.StrEnum):
    """low < medium < high < critical. A `str`, so JSON and comparisons with text still work;
    ordered by rank, not alphabetically."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def raised(self) -> Severity:
        """One step up (critical stays critical)."""
        return _ORDER[min(self.rank + 1, len(_ORDER) - 1)]

    @property
    def sarif_level(self) -> str:
        return {"low": "note", "medium": "warning"}.get(self.value, "error")

    @property
    def security_severity(self) -> str:
        """What GitHub code scanning reads (0.0-10.0) from a rule's properties to rank alerts."""
        return {"low": "3.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}[self.value]

    def __lt__(self, other: object) -> bool:
        return self.rank < Severity(other).rank  # type: ignore[arg-type]

    def __le__(self, other: object) -> bool:
        return self.rank <= Severity(other).rank  # type: ignore[arg-type]

    def __gt__(self, other: object) -> bool:
        return self.rank > Severity(other).rank  # type: ignore[arg-type]

    def __ge__(self, other: object) -> bool:
        return self.rank >= Severity(other).rank  # type: ignore[arg-type]


_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
