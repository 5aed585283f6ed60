"""Splitting YAML streams without losing a byte, and re-dumping only what changed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from erlcookie.k8s.yamlstream import YamlParseError, parse_documents, render, split_documents

LINES = [
    "---\n",
    "--- # marker comment\n",
    "...\n",
    "# comment\n",
    "\n",
    "a: 1\n",
    "b:\n",
    "  - x\n",
    "  - y: 'q'\n",
    "%YAML 1.2\n",
    "key: |\n",
    "  --- not a marker\n",
    'c: "---"\n',
    "   # indented comment\n",
    "d: ~\r\n",
    "---\r\n",
    "e: [1, 2]\n",
]


@given(st.lists(st.sampled_from(LINES), max_size=30), st.booleans())
def test_split_loses_and_adds_nothing(lines, trailing_newline):
    text = "".join(lines)
    if not trailing_newline:
        text = text.rstrip("\n")
    docs = split_documents(text)
    assert "".join(d.text for d in docs) == text
    for doc in docs:
        assert doc.prefix + doc.body + doc.suffix == doc.text
    assert [d.index for d in docs] == list(range(len(docs)))


@pytest.mark.parametrize(
    "text, bodies",
    [
        ("a: 1\n---\nb: 2\n", ["a: 1\n", "b: 2\n"]),
        ("---\n# Source: c/t.yaml\nkind: A\n---\n# Source: c/empty.yaml\n", ["kind: A\n", ""]),
        ("a: 1\n...\n# after the end\nb: 2\n", ["a: 1\n", "b: 2\n"]),  # a bare document after `...`
        (
            "%YAML 1.2\n---\na: 1\n",
            ["%YAML 1.2\n---\na: 1\n"],
        ),  # directives stay with their document
        ("key: |\n  --- inside a block scalar\n", ["key: |\n  --- inside a block scalar\n"]),
        ("x: 1\r\n---\r\ny: 2\r\n", ["x: 1\r\n", "y: 2\r\n"]),
    ],
)
def test_document_boundaries(text, bodies):
    assert [d.body for d in split_documents(text)] == bodies


def test_document_lines_are_file_lines():
    docs = split_documents("a: 1\n---\n# Source: x\n\nb: 2\n")
    assert (docs[1].line, docs[1].body_line) == (1, 4)


def test_parse_error_names_file_and_line():
    text = "a: 1\n---\n# Source: chart/x.yaml\nb:\n  - x\n  y: 1\n---\nc: 3\n"
    with pytest.raises(YamlParseError) as info:
        parse_documents(text, "stream.yaml")
    assert str(info.value).startswith("stream.yaml:6:") and info.value.exit_code == 3


def edit_and_render(text: str, index: int, edit) -> str:
    docs = parse_documents(text, "t.yaml")
    edit(docs[index].data)
    render(docs[index])
    return "".join(d.output for d in docs)


def test_only_the_edited_document_changes_and_its_prefix_stays():
    text = (
        "---\n# Source: chart/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\n"
        'metadata:\n  name: a   # keep me\n  creationTimestamp: null\ndata:\n  k: "v"\n'
        "---\n# Source: chart/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: b}\ndata:\n  k: 'v'\n  n: ~\n"
    )
    out = edit_and_render(text, 0, lambda d: d["data"].__setitem__("k2", "new"))
    first, second = split_documents(out)
    assert second.text == split_documents(text)[1].text
    assert first.text == text.split("---\n# Source: chart/templates/b.yaml")[0].replace(
        '  k: "v"\n', '  k: "v"\n  k2: new\n'
    )


def test_render_keeps_the_documents_own_indentation():
    kubectl_style = "spec:\n  containers:\n  - name: a\n    image: i\n"
    helm_style = "spec:\n  containers:\n    - name: a\n      image: i\n"
    for text in (kubectl_style, helm_style):
        out = edit_and_render(
            text, 0, lambda d: d["spec"]["containers"].append({"name": "b", "image": "j"})
        )
        indent = "  " if text is kubectl_style else "    "
        assert out == text + f"{indent}- name: b\n{indent}  image: j\n"


def test_render_keeps_crlf_null_spellings_and_a_missing_final_newline():
    text = "a: null\r\nb: ~\r\nc:\r\nd: 1"
    out = edit_and_render(text, 0, lambda d: d.__setitem__("d", 2))
    assert out == "a: null\r\nb: ~\r\nc:\r\nd: 2"


def test_respelling_never_changes_meaning():
    text = "env: ~\nother: null\n"
    out = edit_and_render(text, 0, lambda d: d.__setitem__("env", [{"name": "X"}]))
    assert YAML(typ="safe").load(out) == {"env": [{"name": "X"}], "other": None}


def test_unwanted_kinds_are_not_parsed_and_stay_as_they_are():
    text = (
        "kind: Service\nspec: {ports: [oops\n---\n"  # broken, but not ours to judge
        'kind: Deployment\nspec: {}\n---\n{"kind": "Pod"}\n'
    )
    docs = parse_documents(text, "t.yaml", wanted=lambda kind: kind != "Service")
    assert [d.data is None for d in docs] == [True, False, False]
    assert "".join(d.output for d in docs) == text


def test_json_documents_stay_json_with_their_indentation():
    import json

    for indent in (2, 4, None):
        text = (
            json.dumps(
                {"kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "1"}}, indent=indent
            )
            + "\n"
        )
        out = edit_and_render(text, 0, lambda d: d["data"].__setitem__("b", "2"))
        assert json.loads(out) == {
            "kind": "ConfigMap",
            "metadata": {"name": "x"},
            "data": {"a": "1", "b": "2"},
        }
        assert out == json.dumps(json.loads(out), indent=indent) + "\n"


# -- bounds: hostile documents are refused in bounded time ----------------------------------


def billion_laughs(levels: int = 9) -> str:
    """A Deployment whose annotations hold nine aliases of nine aliases of ... (9**9 leaves
    when walked as a tree, about 540 bytes on disk)."""
    lines = [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: lol",
        "  annotations:",
        '    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    prev = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        lines.append(f"    {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    lines += [
        "spec:",
        "  template:",
        "    spec:",
        "      containers:",
        "      - name: app",
        "        image: app:1",
    ]
    return "\n".join(lines) + "\n"


def deeply_nested(levels: int = 5000) -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: deep\n  labels: "
        + "[" * levels
        + "]" * levels
        + "\nspec:\n  containers:\n  - name: app\n    image: app:1\n"
    )


@pytest.mark.timeout(20)
def test_billion_laughs_is_refused():
    from erlcookie.k8s.yamlstream import YamlBombError

    text = billion_laughs()
    assert len(text) < 600
    with pytest.raises(YamlBombError, match=r"^bomb\.yaml:\d+: refused: its aliases expand"):
        parse_documents(text, "bomb.yaml")


@pytest.mark.timeout(20)
def test_deep_nesting_is_refused_before_the_recursion_overflows():
    from erlcookie.k8s.yamlstream import MAX_DEPTH, YamlBombError

    with pytest.raises(YamlBombError, match=r"^deep\.yaml:5: refused: nested more than"):
        parse_documents(deeply_nested(5000), "deep.yaml")
    with pytest.raises(YamlBombError):
        parse_documents(deeply_nested(MAX_DEPTH), "deep.yaml")
    assert parse_documents(deeply_nested(MAX_DEPTH - 10), "ok.yaml")[0].data["kind"] == "Pod"


@pytest.mark.timeout(20)
@pytest.mark.timeout(20)
def test_depth_through_a_chain_of_aliases_is_refused():
    """Each anchor is shallow, but each holds an alias of the one before: walked, the data
    is as deep as all of them together (it crashed the walkers with a RecursionError)."""
    from erlcookie.k8s.yamlstream import YamlBombError

    lines = ["kind: Pod", "metadata:", "  annotations:"]
    for i in range(40):
        lines.append(f"    a{i}: &a{i} " + "[" * 60 + (f"*a{i - 1}" if i else "x") + "]" * 60)
    with pytest.raises(
        YamlBombError,
        match=r"^chain\.yaml:1: refused: its aliases nest it more "
        r"than 100 levels deep",
    ):
        parse_documents("\n".join(lines) + "\n", "chain.yaml")


def test_an_alias_inside_its_own_anchor_is_refused():
    from erlcookie.k8s.yamlstream import YamlBombError

    with pytest.raises(
        YamlBombError,
        match=r"^c\.yaml:2: refused: an alias refers to a node "
        r"that contains it",
    ):
        parse_documents("kind: Pod\nmetadata: &m\n  name: x\n  self: *m\n", "c.yaml")


def test_small_aliases_and_merge_keys_still_load():
    from erlcookie.k8s.yamlstream import expanded_size

    text = billion_laughs(levels=3)  # 9**3 leaves: fine
    doc = parse_documents(text, "ok.yaml")[0]
    assert len(doc.data["metadata"]["annotations"]["c"]) == 9
    merged = parse_documents(
        "base: &b {x: 1, y: 2}\nkind: Pod\nother:\n  <<: *b\n  y: 3\n", "m.yaml"
    )
    assert dict(merged[0].data["other"]) == {"x": 1, "y": 3}
    from ruamel.yaml import YAML

    node = YAML().compose("a: &a [1, 2]\nb: [*a, *a]\n")
    # root, 2 keys, a's list and its 2 items, b's list: 7 distinct; walked, b holds a twice
    assert expanded_size(node) == (13, 7, 4)


@pytest.mark.timeout(120)
@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.integers(1, 12), st.booleans()), min_size=1, max_size=30
    )
)
def test_any_nesting_or_alias_fan_out_is_read_or_refused_never_a_crash(layers):
    """Anchors whose lists repeat earlier aliases (fan-out, chains), and flow or block
    nesting at any depth: parsed, then walked and dumped as inject does, or refused with
    YamlBombError; never a RecursionError or a hang."""
    from erlcookie.k8s.inject.files import _unrendered_template
    from erlcookie.k8s.yamlstream import YamlBombError

    lines = ["kind: Pod", "anchors:"]
    for i, (depth, fan_out, block) in enumerate(layers):
        inner = ",".join([f"*a{i - 1}"] * fan_out) if i else ",".join(["x"] * fan_out)
        if block:
            lines.append(f"  a{i}: &a{i}")
            lines.extend("  " + "  " * (d + 1) + "-" for d in range(min(depth, 150)))
            lines.append("  " + "  " * (min(depth, 150) + 1) + f"- [{inner}]")
        else:
            lines.append(f"  a{i}: &a{i} " + "[" * depth + f"[{inner}]" + "]" * depth)
    text = "\n".join(lines) + "\n"
    try:
        docs = parse_documents(text, "h.yaml")
    except YamlBombError as exc:
        assert str(exc).startswith("h.yaml:") and "refused" in str(exc)
        return
    assert _unrendered_template(docs[0]) is None
    docs[0].data["touched"] = True
    render(docs[0])
    assert "touched: true" in docs[0].new_text
