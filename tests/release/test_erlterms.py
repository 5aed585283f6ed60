"""The pure-Python reader of rebar.config terms, against hand cases, erl itself and hypothesis."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erlcookie.release import erlterms as et

FIXTURES = Path(__file__).parent / "fixtures"


def plain(term: et.Term):
    """A term as plain Python data, to compare with what erl says."""
    if isinstance(term, et.Atom):
        return {"atom": term.name}
    if isinstance(term, et.Str):
        return {"string": term.value}
    if isinstance(term, et.Num):
        return term.value
    if isinstance(term, et.Tuple):
        return {"tuple": [plain(t) for t in term.items]}
    if isinstance(term, et.List):
        assert term.tail is None
        return [plain(t) for t in term.items]
    raise AssertionError(type(term))


def test_tokens_keep_offsets_and_tricky_literals():
    src = '{a, "x, y]}" , $" , \'q\\\'uote\', 16#ff, -1.5e3, [1|T]}. % "comment {\n'
    tokens = et.tokenize(src, lenient=True)
    kinds = [(t.kind, t.value) for t in tokens]
    assert ("string", "x, y]}") in kinds
    assert ("char", ord('"')) in kinds
    assert ("atom", "q'uote") in kinds
    assert ("int", 255) in kinds
    assert ("float", 1.5e3) in kinds
    assert ("var", "T") in kinds
    for tok in tokens:
        assert src[tok.start : tok.end]  # every token maps back onto its source text


def test_escapes():
    [term] = et.parse_terms(r'"a\nb\tc\\d\"e\x41\x{263A}\101\s".')
    assert term.value == 'a\nb\tc\\d"eA\u263aA '


def test_adjacent_strings_concatenate():
    [term] = et.parse_terms('"abc" "def".')
    assert isinstance(term, et.Str) and term.value == "abcdef"


def test_maps_binaries_and_nesting():
    [term] = et.parse_terms('{k, #{a => <<"b">>, 1 => [x, {y}]}, []}.')
    assert isinstance(term.items[1], et.Map) and len(term.items[1].pairs) == 2
    assert isinstance(term.items[2], et.List) and term.items[2].items == []


@pytest.mark.parametrize(
    "src, where",
    [
        ("{relx, [a, b}.", (1, 13)),
        ('{relx, "unterminated}.\n', (1, 8)),
        ("{relx, Var}.", (1, 8)),
        ("{a, b}\n{c, d}.", (2, 1)),
        ('"""\ntriple\n""".', (1, 1)),
        ('{a, ~"sigil"}.', (1, 5)),
    ],
)
def test_syntax_errors_say_where(src, where):
    with pytest.raises(et.ErlangSyntaxError) as err:
        et.parse_terms(src)
    assert (err.value.line, err.value.column) == where
    assert str(err.value).startswith(f"line {where[0]}, column {where[1]}")


def test_relx_sections_and_profiles():
    text = (FIXTURES / "rebar3_commented" / "rebar.config").read_text()
    from erlcookie.release.rebar import release_names, relx_sections

    sections = relx_sections(et.parse_terms(text))
    assert [(s.where, s.base) for s in sections] == [("relx", True), ("profile prod", False)]
    assert release_names(sections) == ["shop"]


# Atoms, strings and numbers that erl and we must read identically.
atoms = st.from_regex(r"[a-z][a-zA-Z0-9_@]{0,8}", fullmatch=True).filter(
    lambda a: (
        a
        not in {
            "after",
            "and",
            "andalso",
            "band",
            "begin",
            "bnot",
            "bor",
            "bsl",
            "bsr",
            "bxor",
            "case",
            "catch",
            "cond",
            "div",
            "end",
            "fun",
            "if",
            "let",
            "not",
            "of",
            "or",
            "orelse",
            "receive",
            "rem",
            "try",
            "when",
            "xor",
            "maybe",
            "else",
        }
    )
)
strings = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


def erl_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(term) -> str:
    kind, value = term
    if kind == "atom":
        return value
    if kind == "qatom":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if kind == "string":
        return erl_string(value)
    if kind == "int":
        return str(value)
    if kind == "tuple":
        return "{" + ", ".join(render(t) for t in value) + "}"
    return "[" + ",\n  ".join(render(t) for t in value) + "]"


def expected(term):
    kind, value = term
    if kind in ("atom", "qatom"):
        return {"atom": value}
    if kind == "string":
        return {"string": value}
    if kind == "int":
        return value
    if kind == "tuple":
        return {"tuple": [expected(t) for t in value]}
    return [expected(t) for t in value]


leaves = st.one_of(
    st.tuples(st.just("atom"), atoms),
    st.tuples(st.just("qatom"), strings.filter(bool)),
    st.tuples(st.just("string"), strings),
    st.tuples(st.just("int"), st.integers(-(10**6), 10**6)),
)
terms = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(st.just("tuple"), st.lists(inner, max_size=4)),
        st.tuples(st.just("list"), st.lists(inner, max_size=4)),
    ),
    max_leaves=12,
)


@given(st.lists(terms, min_size=1, max_size=3))
def test_parse_what_we_render(values):
    src = "%% generated\n" + "".join(f"{render(v)}. % c\n" for v in values)
    parsed = et.parse_terms(src)
    assert [plain(p) for p in parsed] == [expected(v) for v in values]


def _erl_consult_as_json(path: Path) -> list:
    """What `file:consult/1` reads, as JSON (printed by a tiny encoder written in Erlang)."""
    script = r"""
Enc = fun E(M) when is_map(M) -> [${, lists:join($,, [[E(K), $:, E(V)] || {K, V} <- maps:to_list(M)]), $}];
          E(L) when is_list(L) -> [$[, lists:join($,, [E(X) || X <- L]), $]];
          E(B) when is_binary(B) -> [$", [case C of $" -> "\\\""; $\\ -> "\\\\"; $\n -> "\\n"; _ -> C end || C <- unicode:characters_to_list(B)], $"];
          E(I) when is_integer(I) -> integer_to_list(I)
      end,
Dump = fun D(T) when is_atom(T) -> #{<<"atom">> => atom_to_binary(T)};
           D(T) when is_integer(T) -> T;
           D(T) when is_tuple(T) -> #{<<"tuple">> => [D(X) || X <- tuple_to_list(T)]};
           D([]) -> [];
           D(T) when is_list(T) ->
               case io_lib:printable_list(T) of
                   true -> #{<<"string">> => list_to_binary(T)};
                   false -> [D(X) || X <- T]
               end
       end,
{ok, Terms} = file:consult(os:getenv("CONFIG")),
io:format("~ts~n", [Enc([Dump(T) || T <- Terms])]),
halt().
"""
    proc = subprocess.run(
        ["erl", "-noshell", "-eval", script],
        env={"CONFIG": str(path), "PATH": "/usr/bin:/bin", "HOME": str(path.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.interop
@pytest.mark.parametrize(
    "name",
    ["rebar3_template", "rebar3_commented", "rebar3_old", "rebar3_per_node", "rebar3_no_vm_args"],
)
def test_we_read_rebar_config_exactly_as_erl_does(name, tmp_path):
    path = FIXTURES / name / "rebar.config"
    ours = [plain_for_erl(t) for t in et.parse_terms(path.read_text())]
    assert ours == _erl_consult_as_json(path)


def plain_for_erl(term: et.Term):
    """Like `plain`, but strings and char codes the way the Erlang dumper prints them."""
    if isinstance(term, et.Str):
        return {"string": term.value} if term.value else []
    if isinstance(term, et.Tuple):
        return {"tuple": [plain_for_erl(t) for t in term.items]}
    if isinstance(term, et.List):
        return [plain_for_erl(t) for t in term.items]
    return plain(term)
