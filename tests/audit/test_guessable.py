"""Human-chosen cookies are judged by how guessable they are (zxcvbn), random ones stay ok.

Values copied from examples and tutorials score high on character-class entropy and so were
rated `ok`; they are words, keyboard runs and leetspeak. Cookies from every generator
erlcookie knows, and OTP-style letters from the CSPRNG, must never be called guessable.
"""

from __future__ import annotations

import secrets
import string
import subprocess
import sys
import time

import pytest

from erlcookie.audit import audit_text
from erlcookie.audit.guessable import COMPOSED, SCREEN, estimate, word_coverage
from erlcookie.cookie.generate import STYLES, generate

HUMAN_CHOSEN = [
    "put_some_random_string_here",
    "secret-erlang-cookie",
    "XRAYRABBITMQCLUSTER",
    "AbCd3rl4ngC00k13WxYz",
    "OCTASTACKRABBITMQCOOKIE",
    "ANSIBLECLUSTERCOOKIE",
    "Kubernetes-Erlang-Cluster-Cookie",
    "Sup3rS3cr3tC00k1e",
    "qwertyuiopasdfghjkl",
]


@pytest.mark.parametrize("value", HUMAN_CHOSEN)
def test_human_chosen_cookies_are_weak(value):
    result = audit_text(value)
    assert result.verdict == "weak"
    assert [r.code for r in result.reasons] == ["guessable"]
    assert result.bits < 80, "the reported strength is the guess estimate, not the alphabet's"
    assert value not in result.reasons[0].message


@pytest.mark.parametrize("app", ["shop", "billing", "acme", "payments-api", "xyzcorp"])
def test_app_secret_cookie_is_weak(app):
    for value in (f"{app}-secret-cookie", f"{app}_erlang_cookie", f"{app.upper()}COOKIE2024"):
        assert audit_text(value, context=(app,)).verdict == "weak"


def test_the_apps_own_name_counts_as_a_word():
    value = "zorblaxqwm-cookie-zorblaxqwm"
    assert estimate(value) is None or not estimate(value).weak
    assert estimate(value, ["zorblaxqwm"]).weak


def test_a_long_passphrase_is_not_called_guessable():
    # six random words: zxcvbn puts it above 80 bits; the audit agrees
    result = audit_text("correct-horse-battery-staple-orange-tiger")
    assert "guessable" not in [r.code for r in result.reasons]


@pytest.mark.parametrize("style", sorted(STYLES))
def test_generated_cookies_of_every_style_stay_ok(style):
    sizes = {STYLES[style].default_size, 16, 24, 32}
    if style == "erlang":
        sizes = {20, 24, 32}
    for size in sorted(sizes):
        for _ in range(150):
            value = generate(style, size=size).reveal()
            result = audit_text(value)
            codes = [r.code for r in result.reasons]
            assert "guessable" not in codes, f"a {style} cookie of size {size} called guessable"
            if result.bits >= 80:
                assert result.verdict == "ok", f"{style}/{size}: {codes}"


def test_otp_style_letters_from_the_csprng_are_never_guessable():
    # 20 uppercase letters, OTP's alphabet and length. Measured over 100,000: 11 pass the
    # word screen, and zxcvbn explains at most half of any of them (COMPOSED is 0.6).
    screened = 0
    for _ in range(10_000):
        value = "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))
        if word_coverage(value) >= SCREEN:
            screened += 1
            guess = estimate(value)
            assert guess is None or guess.composed < COMPOSED or guess.bits >= 80
    assert screened < 20, "random letters pass the word screen far more often than measured"


def test_screening_random_cookies_is_cheap():
    values = [generate(style).reveal() for style in sorted(STYLES) for _ in range(100)]
    estimate(values[0])  # load the word lists once
    start = time.perf_counter()
    for value in values:
        assert estimate(value) is None
    per_value = (time.perf_counter() - start) / len(values)
    assert per_value < 0.005, f"{per_value * 1000:.2f} ms per random cookie"


def test_zxcvbn_is_not_imported_at_start_up():
    code = (
        "import sys, erlcookie.cli, erlcookie.audit, erlcookie.scan.engine; "
        "assert 'zxcvbn' not in sys.modules, 'zxcvbn imported eagerly'"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr[-500:]


def test_auditing_a_random_cookie_does_not_load_the_matcher():
    code = (
        "import sys; from erlcookie.audit import audit_text; "
        "from erlcookie.cookie.generate import generate; "
        "assert audit_text(generate().reveal()).verdict == 'ok'; "
        "assert 'zxcvbn' not in sys.modules, 'the matcher was loaded for a random cookie'; "
        "assert audit_text('secret-erlang-cookie').verdict == 'weak'"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr[-500:]
