"""Every Python snippet in docs/api.md runs, as written, and does what its comments say.

Snippets that talk to nodes run against a real OTP node (tests/support/nodes.py) whose
name replaces the documented `app@127.0.0.1`; the others need nothing live. Each runs in a
fresh namespace, in an empty directory, with an empty HOME and no cookie in the
environment (the ping snippet gets the node's cookie through $RELEASE_COOKIE, as the
documented resolver order says).
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
from pathlib import Path

import pytest

from erlcookie.cookie.generate import generate
from tests.support import nodes as node_support

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
DOCUMENTED_NODE = "app@127.0.0.1"


def snippets() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def needs_node(code: str) -> bool:
    return "erlcookie.distribution" in code


def run_snippet(code: str, index: int) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"docs/api.md[python block {index}]", "exec"), {"__name__": "__doc__"})
    return out.getvalue()


@pytest.fixture
def sandbox(tmp_path, monkeypatch, clean_home):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_the_page_has_every_documented_use():
    codes = snippets()
    assert len(codes) >= 5
    joined = "\n".join(codes)
    for use in ("audit_cookie", "ping(", "ping_many(", "node_info(", "scan_tree(", "summarize("):
        assert use in joined, use


OFFLINE = [i for i, code in enumerate(snippets()) if not needs_node(code)]
LIVE = [i for i, code in enumerate(snippets()) if needs_node(code)]


def test_every_snippet_is_run_by_a_test():
    assert sorted(OFFLINE + LIVE) == list(range(len(snippets())))
    assert OFFLINE and LIVE


@pytest.mark.parametrize("index", OFFLINE)
def test_offline_snippet_runs(sandbox, index):
    output = run_snippet(snippets()[index], index)
    assert output.strip(), "a documented snippet printed nothing"
    assert "Traceback" not in output


@pytest.mark.interop
@pytest.mark.parametrize("index", LIVE)
def test_live_snippet_runs_against_a_real_node(sandbox, monkeypatch, index):
    cookie = generate("elixir")
    node = node_support.launch(
        cookie,
        kind="otp25",
        name=f"apidoc{secrets.token_hex(3)}",
        long_names=True,
        host="127.0.0.1",
    )
    try:
        monkeypatch.setenv("RELEASE_COOKIE", cookie.reveal())
        code = snippets()[index].replace(DOCUMENTED_NODE, node.name)
        output = run_snippet(code, index)
    finally:
        node.stop()
    assert f"{node.name} accepted" in output
    assert "no_such_node" in output  # the documented node that is not there
    assert "25 True" in output, output  # node_info: OTP release, own cookie matches
    assert cookie.reveal() not in output
