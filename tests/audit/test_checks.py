import pytest

from erlcookie.audit import audit_text
from erlcookie.audit.otp_generator import otp_cookie
from erlcookie.cookie.generate import generate


@pytest.mark.parametrize(
    "value",
    [
        "monster",
        "cookie",
        "secret",
        "changeme",
        "nocookie",
        "myapp_cookie",
        "rabbitmq_cookie",
        "MyCookie",
        "{{name}}_cookie",
    ],
)
def test_known_weak_and_template_values(value):
    result = audit_text(value)
    assert result.verdict in ("weak", "invalid")
    codes = {r.code for r in result.reasons}
    assert codes & {"known-value", "relx-template", "template-leftover"}


@pytest.mark.parametrize(
    "value,code",
    [
        ("has space" + "x" * 30, "shell-unsafe"),
        ("quote'd" + "x" * 30, "shell-unsafe"),
        ('dq"' + "x" * 30, "shell-unsafe"),
        ("dollar$HOME" + "x" * 30, "shell-unsafe"),
        ("x" * 256, "too-long"),
        (" lead" + "x" * 30, "edge-whitespace"),
        ("ünïcode" + "x" * 30, "non-ascii"),
        ("tab\there" + "x" * 30, "shell-unsafe"),
        ("ctl\x01" + "x" * 30, "control-chars"),
        ("", "empty"),
        ("-Zq7Lw2" + "k9" * 20, "leading-dash"),
    ],
)
def test_deployment_breakers_are_invalid(value, code):
    result = audit_text(value)
    assert result.verdict == "invalid"
    assert code in {r.code for r in result.reasons}


def test_predictable_beats_everything_but_invalid():
    result = audit_text(otp_cookie(404289480))
    assert result.verdict == "predictable" and result.bits == 36.0
    assert result.generator.seed == 404289480
    assert "seed" not in result.to_dict()["predictable"], (
        "seed is cookie-equivalent: hidden by default"
    )
    assert result.to_dict(reveal_state=True)["predictable"]["seed"] == 404289480


def test_strength_bits():
    assert audit_text(generate("elixir").reveal()).bits >= 256
    assert audit_text(generate("hex").reveal()).bits == 256
    assert audit_text("A" * 40).bits < 10
    assert audit_text("abab" * 10).verdict == "weak"
    r = audit_text(generate("erlang").reveal())
    assert r.verdict == "ok" and 90 < r.bits < 95


def test_generated_cookies_are_ok():
    for style in ("elixir", "base32", "hex"):
        assert audit_text(generate(style).reveal()).verdict == "ok"
