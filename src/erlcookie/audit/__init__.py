"""The cookie audit: is this cookie fine to run a cluster on?

`audit_cookie` judges a Cookie (and the mode of the file it came from); `audit_text` judges
a bare string. Verdicts are a StrEnum whose values are the CLI and JSON spelling.
"""

from erlcookie.audit.checks import (
    MIN_BITS,
    RECOMMENDED_BITS,
    VERDICT_ORDER,
    AuditResult,
    Reason,
    Verdict,
    audit_cookie,
    audit_text,
)
from erlcookie.audit.otp_generator import GeneratorMatch

__all__ = [
    "MIN_BITS",
    "RECOMMENDED_BITS",
    "VERDICT_ORDER",
    "AuditResult",
    "GeneratorMatch",
    "Reason",
    "Verdict",
    "audit_cookie",
    "audit_text",
]
