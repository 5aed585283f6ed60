import base64
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erlcookie.audit import audit_cookie
from erlcookie.cookie.generate import STYLES, generate
from erlcookie.cookie.strength import estimate_strength
from erlcookie.errors import UsageError

SAFE = re.compile(r"[A-Za-z0-9_-]+")


def test_default_style_is_strong_and_safe():
    c = generate()
    assert SAFE.fullmatch(c.reveal())
    assert "=" not in c.reveal()
    assert estimate_strength(c.reveal()).bits >= 256
    assert len(c) <= 255
    assert audit_cookie(c).verdict == "ok"


def test_elixir_style_matches_base_url_encode64_of_40_bytes():
    raw = generate("elixir").reveal()
    assert len(raw) == 54  # ceil(40 * 4 / 3), unpadded
    decoded = base64.urlsafe_b64decode(raw + "==")
    assert len(decoded) == 40


def test_erlang_style_is_otp_alphabet_and_never_predictable():
    for _ in range(200):
        c = generate("erlang")
        assert re.fullmatch(r"[A-Z]{20}", c.reveal())
        assert audit_cookie(c).verdict != "predictable"


@given(style=st.sampled_from(sorted(STYLES)), size=st.integers(min_value=1, max_value=120))
@settings(max_examples=300)
def test_every_style_and_size(style, size):
    length = {
        "erlang": size,
        "elixir": math.ceil(size * 4 / 3),
        "base32": math.ceil(size * 8 / 5),
        "hex": size * 2,
    }[style]
    if length > 255:
        with pytest.raises(UsageError):
            generate(style, size=size)
        return
    c = generate(style, size=size).reveal()
    assert len(c) == length
    alphabet = {
        "erlang": r"[A-Z]",
        "elixir": r"[A-Za-z0-9_-]",
        "base32": r"[A-Z2-7]",
        "hex": r"[0-9a-f]",
    }[style]
    assert re.fullmatch(alphabet + "+", c)


def test_no_cookie_starts_with_a_dash():
    # erl -setcookie and vm.args take a leading '-' for the next flag: such a cookie would be
    # ignored and the node would run on ~/.erlang.cookie (one elixir-style value in 64 did)
    values = [generate("elixir", size=3).reveal() for _ in range(3000)]
    assert not [v for v in values if v.startswith("-")]
    assert any("-" in v for v in values)  # the dash itself is still in the alphabet


def test_distribution_is_uniform_enough():
    # 2000 x 20 letters: every letter appears; chi-square far from degenerate.
    counts = {}
    for _ in range(2000):
        for ch in generate("erlang").reveal():
            counts[ch] = counts.get(ch, 0) + 1
    assert len(counts) == 26
    expected = 2000 * 20 / 26
    chi2 = sum((n - expected) ** 2 / expected for n in counts.values())
    assert chi2 < 80  # 25 degrees of freedom: p < 1e-7 above this


def test_unknown_style_and_bad_size():
    with pytest.raises(UsageError):
        generate("rot13")
    with pytest.raises(UsageError):
        generate("hex", size=0)
