"""erlcookie.audit as a library: exported names, and verdicts that are their JSON strings."""

import json

import erlcookie.audit as audit_pkg
from erlcookie.audit import Verdict, audit_text


def test_every_exported_name_resolves():
    for name in audit_pkg.__all__:
        assert getattr(audit_pkg, name) is not None, name


def test_verdicts_are_str_enum_with_the_cli_spelling():
    assert [v.value for v in Verdict] == ["ok", "weak", "predictable", "invalid"]
    result = audit_text("monster")
    assert result.verdict is Verdict.WEAK and result.verdict == "weak"
    data = json.loads(json.dumps(result.to_dict()))
    assert data["verdict"] == "weak" and {r["verdict"] for r in data["reasons"]} <= {"weak", "ok"}
    assert f"{result.verdict.upper()}" == "WEAK"


def test_worst_reason_wins():
    result = audit_text("monster monster")  # weak value and a space (invalid)
    assert result.verdict is Verdict.INVALID
    assert max(Verdict, key=lambda v: v.rank) is Verdict.INVALID
