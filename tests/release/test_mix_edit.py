"""The Elixir tokenizer, and cutting `cookie:` out of mix.exs with every other byte kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erlcookie.release import exlex
from erlcookie.release.common import apply_edits
from erlcookie.release.mix import _cookie_options, _load, remove_option, verify_removal
from erlcookie.release.model import ReleaseParseError
from tests.release.conftest import expect_equal


def kinds(src: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in exlex.tokenize(src)]


def test_strings_hide_brackets_commas_and_hashes():
    src = 'x = "a, ] #{ "nested}" <> "]" } # b" # real comment\n'
    toks = exlex.tokenize(src)
    assert [t.kind for t in toks] == ["ident", "punct", "string", "comment"]
    assert toks[2].value is None  # interpolated: not a literal


@pytest.mark.parametrize(
    "src, kind, value",
    [
        ("~s(a(b\\)c)", "sigil", "a(b)c"),
        ("~S|a\\|b|", "sigil", "a|b"),
        ("~c'chars'", "sigil", "chars"),
        ("~r/a#b/i", "sigil", None),
        ("'charlist'", "charlist", "charlist"),
        (':"quoted atom"', "atom", "quoted atom"),
        (":plain_atom?", "atom", "plain_atom?"),
        ('"""\n  heredoc "x"\n  """', "string", 'heredoc "x"\n'),
        ('~S"""\n  raw \\n\n  """', "sigil", "raw \\n\n"),
    ],
)
def test_literals(src, kind, value):
    [tok] = exlex.tokenize(src)
    assert (tok.kind, tok.value) == (kind, value)


def test_char_literals_and_keywords():
    assert kinds('[?#, ?", "k": 1, a?: 2, do: 3]') == [
        ("punct", "["),
        ("char", "?#"),
        ("punct", ","),
        ("char", '?"'),
        ("punct", ","),
        ("kwkey", '"k":'),
        ("number", "1"),
        ("punct", ","),
        ("kwkey", "a?:"),
        ("number", "2"),
        ("punct", ","),
        ("kwkey", "do:"),
        ("number", "3"),
        ("punct", "]"),
    ]


@pytest.mark.parametrize(
    "src", ['"open', "~s(open", "x = [1, 2", "fn -> 1", "a ] b", '"""\nnever closed\n']
)
def test_broken_source_is_an_error(src):
    with pytest.raises(exlex.ElixirSyntaxError):
        toks = exlex.code(exlex.tokenize(src))
        exlex.match_brackets(toks, src)


CASES = [
    # (before, after): the entry and one comma go; nothing else changes.
    ('[\n  a: 1,\n  cookie: "c1",\n  b: 2\n]\n', "[\n  a: 1,\n  b: 2\n]\n"),
    ('[\n  a: 1,\n  cookie: "c1"\n]\n', "[\n  a: 1\n]\n"),
    ('[\n  cookie: "c1", # why\n  b: 2\n]\n', "[\n  b: 2\n]\n"),
    ('[a: 1, cookie: "c1", b: 2]\n', "[a: 1, b: 2]\n"),
    ('[a: 1, cookie: "c1"]\n', "[a: 1]\n"),
    ('[cookie: "c1", b: 2]\n', "[b: 2]\n"),
    ('[cookie: "c1"]\n', "[]\n"),
    (
        '[\n  a: 1,\n  cookie:\n    System.get_env("X") ||\n      "c1",\n  b: 2\n]\n',
        "[\n  a: 1,\n  b: 2\n]\n",
    ),
    (
        '[\n  a: [x: 1],\n  cookie: fn -> "c1" end.(),\n  b: %{k: [1]}\n]\n',
        "[\n  a: [x: 1],\n  b: %{k: [1]}\n]\n",
    ),
    ('[\r\n  a: 1,\r\n  cookie: "c1",\r\n  b: 2\r\n]\r\n', "[\r\n  a: 1,\r\n  b: 2\r\n]\r\n"),
    # The comment that introduced the entry goes with it: one line naming the cookie...
    (
        '[\n  a: 1,\n  # All nodes in the cluster must share this cookie\n  cookie: "c1"\n]\n',
        "[\n  a: 1\n]\n",
    ),
    (
        '[\n  a: 1,\n  # All nodes in the cluster must share this cookie\n  cookie: "c1",\n  b: 2\n]\n',
        "[\n  a: 1,\n  b: 2\n]\n",
    ),
    ('[\r\n  # shared cookie\r\n  cookie: "c1"\r\n]\r\n', "[\r\n]\r\n"),
    # ... or any comment block left with nothing under it; a header of what follows stays,
    # and so does a comment separated by a blank line or at another indentation.
    ('[\n  a: 1,\n  # Release options\n  # (see the docs)\n  cookie: "c1"\n]\n', "[\n  a: 1\n]\n"),
    ('[\n  # Release options\n  cookie: "c1",\n  b: 2\n]\n', "[\n  # Release options\n  b: 2\n]\n"),
    (
        '[\n  # The cookie, then\n  # the rest\n  cookie: "c1",\n  b: 2\n]\n',
        "[\n  # The cookie, then\n  # the rest\n  b: 2\n]\n",
    ),
    (
        '[\n  a: 1,\n  # a cookie\n\n  cookie: "c1",\n  b: 2\n]\n',
        "[\n  a: 1,\n  # a cookie\n\n  b: 2\n]\n",
    ),
    ('[\n# a cookie\n  cookie: "c1",\n  b: 2\n]\n', "[\n# a cookie\n  b: 2\n]\n"),
]


def _cut(tmp_path, before: str) -> str:
    path = tmp_path / "mix.exs"
    path.write_bytes(before.encode())
    f = _load(path, "mix.exs")
    options = _cookie_options(f)
    assert len(options) == 1
    edits = remove_option(f, options[0], "mix.exs")
    after = apply_edits(f.text, edits, "mix.exs")
    removed = {
        i
        for i, t in enumerate(f.tokens)
        if any(e.start <= t.start and t.end <= e.end for e in edits)
    }
    verify_removal(f, after, removed, "mix.exs")
    return after


@pytest.mark.parametrize("before, after", CASES)
def test_remove_cookie_entry(tmp_path, before, after):
    expect_equal(_cut(tmp_path, before), after, "mix.exs")


def test_cookie_outside_a_keyword_list_is_refused(tmp_path):
    path = tmp_path / "mix.exs"
    path.write_text('foo(cookie: "c1")\n')
    f = _load(path, "mix.exs")
    with pytest.raises(ReleaseParseError):
        remove_option(f, _cookie_options(f)[0], "mix.exs")


values = st.sampled_from(
    ['"c1"', "'c2'", "~s(c3)", ':"c4"', 'System.fetch_env!("C")', '"a,b" <> "]"', "[1, 2]"]
)
keys = st.sampled_from(
    [
        "include_executables_for: [:unix]",
        "steps: [:assemble]",
        "applications: [app: :permanent]",
        "quiet: true",
        'path: "rel/x"',
    ]
)


@given(
    before=st.lists(keys, max_size=3),
    after=st.lists(keys, max_size=3),
    value=values,
    multiline=st.booleans(),
    comment=st.booleans(),
)
def test_removal_keeps_every_other_entry(
    tmp_path_factory, before, after, value, multiline, comment
):
    entries = before + [f"cookie: {value}"] + after
    if multiline:
        body = ",\n".join("    " + e for e in entries)
        if comment:
            body = "    # releases\n" + body
        src = f"releases = [\n  app: [\n{body}\n  ]\n]\n"
    else:
        src = f"releases = [app: [{', '.join(entries)}]]\n"
    got = _cut(tmp_path_factory.mktemp("mix"), src)
    others = before + after
    if multiline:
        expected_body = ",\n".join("    " + e for e in others)
        if comment and others:  # a comment left with nothing under it goes too
            expected_body = "    # releases\n" + expected_body
        expected = (
            f"releases = [\n  app: [\n{expected_body}" + ("\n" if others else "") + "  ]\n]\n"
        )
    else:
        expected = f"releases = [app: [{', '.join(others)}]]\n"
    expect_equal(got, expected, "mix.exs")


def _nested_interpolation(levels: int) -> str:
    return '"' + '#{"' * levels + "x" + '"}' * levels + '"'


def test_interpolation_nesting_is_bounded_not_a_recursion_error():
    [tok] = exlex.tokenize(_nested_interpolation(exlex.MAX_INTERPOLATION_DEPTH))
    assert tok.kind == "string"
    with pytest.raises(exlex.ElixirSyntaxError, match="nested more than"):
        exlex.tokenize(_nested_interpolation(5000))
    # sigils and heredocs interpolate through the same path
    with pytest.raises(exlex.ElixirSyntaxError, match="nested more than"):
        exlex.tokenize("~s(" + _nested_interpolation(200) + ")")


@pytest.mark.parametrize("command", [["check"], ["fix"], ["fix", "--dry-run"]])
def test_deeply_nested_mix_exs_is_exit_3_with_a_message(command, tmp_path, run_cli):
    (tmp_path / "mix.exs").write_text(
        "defmodule A.MixProject do\n  use Mix.Project\n\n  def project do\n"
        f"    [app: :a, version: {_nested_interpolation(5000)}]\n  end\nend\n"
    )
    before = (tmp_path / "mix.exs").read_bytes()
    result = run_cli("release", *command, str(tmp_path))
    assert result.exit_code == 3
    assert "mix.exs" in result.stderr and "nested more than 64 levels" in result.stderr
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["mix.exs"]
    assert (tmp_path / "mix.exs").read_bytes() == before


def test_deeply_nested_rebar_config_is_exit_3_with_a_message(tmp_path, run_cli):
    (tmp_path / "rebar.config").write_text("{relx, " + "[" * 5000 + "]" * 5000 + "}.\n")
    result = run_cli("release", "fix", str(tmp_path))
    assert result.exit_code == 3
    assert "rebar.config" in result.stderr and "nested too deeply" in result.stderr
    assert "Traceback" not in result.output
