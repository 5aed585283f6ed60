"""One strength estimate for generate and audit: honest alphabets, true bits for every style."""

import base64
import json
import math
import os
import string

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from erlcookie.audit import audit_text
from erlcookie.cli import cli
from erlcookie.cookie.generate import STYLES
from erlcookie.cookie.strength import estimate_strength

# Deterministic cookies of each style at its default size, from fixed bytes.
RAW = bytes(range(7, 47))  # 40 bytes, no repetition
NOMINAL = {
    "elixir": (base64.urlsafe_b64encode(RAW).decode().rstrip("="), 320.0),
    "base32": (base64.b32encode(RAW[:32]).decode().rstrip("="), 256.0),
    "hex": (RAW[:32].hex(), 256.0),
    "erlang": (
        "ZJQXKVBHWMPFRTLDYGNC",
        94.0,
    ),  # not a keyboard walk: the audit calls those guessable
}


def test_every_style_is_covered():
    assert set(NOMINAL) == set(STYLES)


@pytest.mark.parametrize("style", sorted(NOMINAL))
def test_default_sizes_estimate_their_true_entropy(style):
    value, bits = NOMINAL[style]
    assert estimate_strength(value).bits == bits
    assert audit_text(value).bits == bits


@pytest.mark.parametrize(
    "value,alphabet",
    [
        ("abcdefghijKLMNOPQRST0123456789", "a-z+A-Z+0-9"),  # no - or _: not "base64url"
        ("abcdefghij-_", "a-z+-_"),
        ("0123456789", "0-9"),  # digits only: not "hex"
        ("deadbeef0123456789", "hex"),
        ("ABCDEFGHIJKLMNOPQRST234567", "base32"),
        ("ABCDEFGHIJKLMNOPQRSTUV", "A-Z"),
        ("abc!def%ghi", "a-z+symbols"),
    ],
)
def test_alphabet_names_only_groups_the_cookie_uses(value, alphabet):
    assert estimate_strength(value).alphabet == alphabet
    assert audit_text(value).alphabet == alphabet


def test_every_named_group_has_a_character_of_the_cookie():
    groups = {
        "a-z": str.islower,
        "A-Z": str.isupper,
        "0-9": str.isdigit,
        "-_": lambda ch: ch in "-_",
    }
    for value in ("aZ09-", "zzzz0000", "ZZ__zz", "k9k9k9k9k9x"):
        for name in estimate_strength(value).alphabet.split("+"):
            assert any(groups[name](ch) for ch in value), (name, value)


@pytest.mark.parametrize(
    "style,size",
    [(s, None) for s in sorted(STYLES)]
    + [("elixir", 16), ("elixir", 3), ("base32", 10), ("hex", 5), ("erlang", 30)],
)
def test_generate_and_audit_agree_on_the_same_cookie(tmp_path, style, size):
    runner = CliRunner()
    for attempt in range(5 if size != 3 else 60):  # 4-letter values: some are guessable
        path = tmp_path / f"c{attempt}"
        args = ["generate", "--style", style, "--write", str(path), "--json"]
        if size is not None:
            args += ["--length" if style == "erlang" else "--bytes", str(size)]
        made = runner.invoke(cli, args)
        assert made.exit_code == 0, made.output
        judged = runner.invoke(cli, ["audit", "--cookie-file", str(path), "--json"])
        assert judged.exit_code in (0, 1), judged.output
        assert json.loads(made.output)["bits"] == json.loads(judged.output)["bits"]
        os.chmod(path, 0o600)


GROUP_TEST = {
    "a-z": lambda ch: ch in string.ascii_lowercase,
    "A-Z": lambda ch: ch in string.ascii_uppercase,
    "0-9": lambda ch: ch in string.digits,
    "-_": lambda ch: ch in "-_",
    "symbols": lambda ch: ch not in string.ascii_letters + string.digits + "-_",
}
HEX_LIKE = {"hex", "base32"}


@given(st.text(min_size=1, max_size=80))
@settings(max_examples=300)
def test_estimate_is_bounded_and_names_only_used_groups(value):
    strength = estimate_strength(value)
    assert 0 <= strength.bits <= len(value) * math.log2(max(strength.alphabet_size, 2)) + 0.05
    if strength.alphabet not in HEX_LIKE | {"A-Z"}:
        for name in strength.alphabet.split("+"):
            assert any(GROUP_TEST[name](ch) for ch in value), (name, strength)
    assert audit_text(value).bits <= strength.bits  # audit only ever lowers it (OTP generator)
