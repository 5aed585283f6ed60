"""Term helpers: extent walking agrees with erlang-py; bounds; redaction; conversions."""

from __future__ import annotations

import struct
import zlib

import erlang
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erlcookie.cookie.value import Cookie
from erlcookie.distribution import terms
from tests.support.redaction import assert_not_shown

atoms = st.text(min_size=0, max_size=20).map(terms.atom)
leaves = st.one_of(
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=False),
    atoms,
    st.binary(max_size=40).map(terms.binary),
    st.binary(max_size=40),  # STRING_EXT
    st.booleans(),
    st.none(),
    st.builds(
        terms.pid,
        st.just("n@h"),
        st.integers(0, 2**15),
        st.integers(0, 2**13),
        st.integers(0, 2**32 - 1),
    ),
    st.builds(
        terms.reference,
        st.just("n@h"),
        st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3),
        st.integers(0, 2**32 - 1),
    ),
)
erl_terms = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.integers(0, 100), children, max_size=3),
    ),
    max_leaves=25,
)


@settings(max_examples=300)
@given(erl_terms)
def test_extent_and_decode_agree_with_erlang_py(term):
    data = erlang.term_to_binary(term)
    assert terms.term_extent(data) == len(data)
    decoded, end = terms.decode(data + b"trailing")
    assert end == len(data)
    assert erlang.term_to_binary(decoded) == data


@settings(max_examples=100)
@given(erl_terms, erl_terms)
def test_decode_all_splits_two_terms(a, b):
    first, second = erlang.term_to_binary(a), erlang.term_to_binary(b)
    found = terms.decode_all(first + second)
    assert [erlang.term_to_binary(t) for t in found] == [first, second]


@settings(max_examples=50)
@given(erl_terms)
def test_compressed_terms(term):
    data = erlang.term_to_binary(term, compressed=6)
    assert terms.term_extent(data) == len(data)
    assert erlang.term_to_binary(terms.decode(data)[0]) == erlang.term_to_binary(term)


def test_real_otp_encodings():
    # Bytes from OTP 25's term_to_binary for {ok, <<"x">>, [1,2], #{a => 1.5}, 'é', -7, 99999999999}
    data = bytes.fromhex(
        "8368077702 6f6b6d0000000178 6b00020102 740000000177016146 3ff8000000000000"
        "7702c3a9 62fffffff9 6e0500ff e7 76 48 17".replace(" ", "")
    )
    term, end = terms.decode(data)
    assert end == len(data)
    assert terms.to_python(term) == ("ok", b"x", "\x01\x02", {"a": 1.5}, "é", -7, 99999999999)


def test_depth_limit():
    deep = b"\x83" + b"h\x01" * (terms.MAX_DEPTH + 5) + b"j"
    with pytest.raises(terms.TermError, match="deeper"):
        terms.term_extent(deep)
    ok = b"\x83" + b"h\x01" * 50 + b"j"
    assert terms.term_extent(ok) == len(ok)
    # Lists nest through their tails too: [[[...]]]
    deep_list = b"\x83" + b"l\x00\x00\x00\x01" * (terms.MAX_DEPTH + 5)
    with pytest.raises(terms.TermError):
        terms.decode(deep_list + b"j" * (terms.MAX_DEPTH + 5))


@pytest.mark.parametrize(
    "data,words",
    [
        (b"\x83n\xff\x00" + b"\x01" * 255, None),  # 255-byte bignum: fine
        (b"\x83o" + struct.pack(">I", terms.MAX_BIG_BYTES + 1) + b"\x00", "bignum"),
        (b"\x83l\xff\xff\xff\xffj", "more elements"),  # count lies
        (b"\x83h\xff" + b"j" * 10, "more elements"),
        (b"\x83t\x7f\xff\xff\xffjj", "more elements"),
        (b"\x83m\xff\xff\xff\xff", "truncated"),
        (b"\x83k\x00\x05ab", "truncated"),
        (b"\x84j", "version"),
        (b"\x83", "truncated"),
        (b"\x83R\x01", "unsupported"),  # atom cache ref
        (b"\x83y", "unsupported"),  # LOCAL_EXT
        (b"\x83h\x01P", "unsupported"),  # nested compression
        (b"\x83Z\x00\x09d\x00\x01a", "reference of 9 words"),
        (b"\x83p\x00\x00\x00\x02", "below its own header"),
        (b"\x83q" + b"w\x01m" + b"w\x01f" + b"b\x00\x00\x00\x01", "arity"),
        (b"\x83X" + b"a\x01", "expected an atom"),
    ],
)
def test_bounds(data, words):
    if words is None:
        assert terms.term_extent(data) == len(data)
        return
    with pytest.raises(terms.TermError, match=words):
        terms.decode(data)


def test_zlib_bomb_is_refused_without_inflating_it():
    payload = b"k\xff\xff" + b"a" * 65535
    inner = payload * 400  # ~26 MB when inflated, ~26 KB compressed
    bomb = b"\x83P" + struct.pack(">I", len(inner)) + zlib.compress(inner, 9)
    with pytest.raises(terms.TermError, match="claims"):
        terms.term_extent(bomb)
    # A size that lies low: inflating stops at size + 1 bytes.
    liar = b"\x83P" + struct.pack(">I", 10) + zlib.compress(b"j" * 1_000_000)
    with pytest.raises(terms.TermError, match="does not match"):
        terms.term_extent(liar)
    with pytest.raises(terms.TermError, match="zlib"):
        terms.term_extent(b"\x83P\x00\x00\x00\x05notzlib")


def _nil_list(n: int) -> bytes:
    """A list of n empty lists: one byte per element, 16 MB in 16 KB once compressed."""
    return b"l" + struct.pack(">I", n) + b"j" * n + b"j"


def test_element_budget_refuses_a_long_list_before_building_it():
    data = b"\x83" + _nil_list(terms.MAX_ELEMENTS)
    with pytest.raises(terms.TermError, match="more than 65536 elements"):
        terms.decode(data)
    ok = b"\x83" + _nil_list(1000)
    assert len(terms.decode(ok)[0]) == 1000
    small = terms.TermBudget(max_elements=100)
    with pytest.raises(terms.TermError, match="elements"):
        terms.decode(ok, budget=small)
    # Nested containers each within the bound still add up.
    nested = b"\x83l\x00\x00\x00\x02" + _nil_list(60) + _nil_list(60) + b"j"
    with pytest.raises(terms.TermError, match="more than 100 elements"):
        terms.term_extent(nested, budget=small)


def test_compressed_list_bomb_is_refused_by_its_declared_size_or_its_elements():
    inner = _nil_list(16 * 1024 * 1024)
    bomb = b"\x83P" + struct.pack(">I", len(inner)) + zlib.compress(inner, 9)
    assert len(bomb) < 20_000
    with pytest.raises(terms.TermError, match="claims"):
        terms.decode(bomb)
    # Within the declared-size limit, the element count stops it.
    inner = _nil_list(terms.MAX_DECOMPRESSED - 16)
    bomb = b"\x83P" + struct.pack(">I", len(inner)) + zlib.compress(inner, 9)
    with pytest.raises(terms.TermError, match="elements"):
        terms.decode(bomb)


def test_control_and_message_share_one_budget():
    half = b"\x83" + _nil_list(40)
    budget = terms.TermBudget(max_elements=60)
    assert len(terms.decode(half, budget=budget)[0]) == 40
    with pytest.raises(terms.TermError, match="elements"):
        terms.decode_all(half + half, budget=budget)


def test_erlang_py_failures_become_term_errors():
    # A valid shape whose atom bytes are not UTF-8: erlang-py raises UnicodeDecodeError.
    with pytest.raises(terms.TermError, match="undecodable"):
        terms.decode(b"\x83w\x02\xff\xfe")


def test_cookie_in_terms_encodes_as_atom_and_is_redacted():
    cookie = Cookie("the-secret-value")
    args = [terms.atom("n@h"), cookie, (cookie, [cookie])]
    data = terms.encode(args)
    assert data == erlang.term_to_binary(
        [
            terms.atom("n@h"),
            terms.atom("the-secret-value"),
            (terms.atom("the-secret-value"), [terms.atom("the-secret-value")]),
        ]
    )
    assert terms.secrets_in(args) == {b"the-secret-value"}
    decoded = terms.decode(data)[0]
    shown = terms.safe_repr(decoded, terms.secrets_in(args))
    assert "<redacted>" in shown
    # the secret as a binary or a charlist is caught too
    as_binary = terms.safe_repr(
        (terms.binary(b"the-secret-value"), b"the-secret-value"), {b"the-secret-value"}
    )
    assert_not_shown(cookie, shown, terms.safe_repr(args), as_binary)


def test_encode_errors_do_not_quote_the_term():
    with pytest.raises(terms.TermError) as info:
        terms.encode([object()])
    assert "object at" not in str(info.value)


def test_format_and_conversions():
    t = (
        terms.atom("ok"),
        terms.atom("Quoted Atom"),
        b"text",
        b"\x01\x02",
        terms.binary(b"b"),
        [1, 2.5],
        erlang.OtpErlangList([1, 2], improper=True),
        {terms.atom("k"): True},
        None,
    )
    assert terms.format_term(t) == (
        '{ok,\'Quoted Atom\',"text",[1,2],<<"b">>,[1,2.5],[1|2],#{k => true},undefined}'
    )
    assert terms.safe_repr(list(range(1000)), limit=20).endswith("...")
    assert terms.format_term(terms.binary(b"\x00\x01")) == "<<0,1>>"
    assert terms.format_term(terms.binary(b"")) == "<<>>"
    assert terms.to_python(t)[:3] == ("ok", "Quoted Atom", "text")
    assert terms.text([104, 233]) == "hé"
    assert terms.text(terms.binary("hé".encode())) == "hé"
    assert terms.atom_text(True) == "true" and terms.atom_text(None) == "undefined"
    with pytest.raises(terms.TermError):
        terms.atom_text(5)
    assert terms.to_python({(1, erlang.OtpErlangList([2])): [3]}) == {(1, (2,)): [3]}
