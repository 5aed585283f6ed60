"""The cookie audit: is this cookie fine to run a cluster on?"""

from erlcookie.audit.checks import AuditResult, Reason, audit_cookie, audit_text

__all__ = ["AuditResult", "Reason", "audit_cookie", "audit_text"]
