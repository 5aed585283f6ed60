"""Names that come from peers (EPMD registrations, node names, rpc answers) cannot inject
rich markup or terminal control sequences into `nodes`, `ping` and `info`, on a terminal or
piped."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest
from click.testing import CliRunner

from erlcookie.cli import cli, common
from erlcookie.distribution import terms
from tests.distribution.hostile import FakeNode, read_frame, rex_server, serve_in_thread

NODE = "app@127.0.0.1"
BOGUS = "evil[/bogus]"  # closing a tag that was never opened: rich raises MarkupError
LINK = "[link=https://example.invalid]click[/link]"
OSC_TITLE = "t\x1b]0;pwned\x07x"  # sets the terminal's window title
ERASE = "e\x1b[2K\rforged"  # erases the row and rewrites it
HOSTILE = [BOGUS, LINK, OSC_TITLE, ERASE]


@pytest.fixture(params=["piped", "terminal"])
def output(request, monkeypatch):
    """Plain output (piped), or rich output as on a real terminal (links and colours on)."""
    if request.param == "terminal":
        monkeypatch.setattr(common, "stdout_is_tty", lambda: True)
        monkeypatch.setenv("FORCE_COLOR", "1")
        monkeypatch.setenv("COLUMNS", "300")
        monkeypatch.delenv("NO_COLOR", raising=False)
    return request.param


def assert_inert(text: str) -> None:
    """No OSC sequence (titles, hyperlinks), no erase or carriage return; escapes visible."""
    assert "\x1b]" not in text, "an OSC sequence reached the terminal"
    assert "\x1b[2K" not in text and "\r" not in text and "\x07" not in text
    assert "\\x1b" in text


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def names_reply(names) -> bytes:
    lines = b"".join(f"name {n} at port {4000 + i}\n".encode() for i, n in enumerate(names))
    return struct.pack(">I", 4369) + lines


def fake_epmd_names(names):
    async def handler(reader, writer):
        await read_frame(reader)
        writer.write(names_reply(names))
        await writer.drain()

    return handler


def test_nodes_shows_hostile_epmd_names_as_text(output):
    with serve_in_thread(fake_epmd_names(HOSTILE)) as port:
        result = invoke("nodes", "127.0.0.1", "--epmd-port", str(port))
    assert result.exit_code == 0, result.output
    assert BOGUS in result.stdout  # shown literally, no MarkupError
    assert "[link=https://example.invalid]click[/link]" in result.stdout
    assert_inert(result.stdout)
    # --json keeps the names exact (JSON escapes control characters itself)
    with serve_in_thread(fake_epmd_names(HOSTILE)) as port:
        result = invoke("nodes", "127.0.0.1", "--epmd-port", str(port), "--json")
    assert [n["name"] for n in json.loads(result.stdout)["nodes"]] == sorted(HOSTILE)
    assert "\x1b" not in result.stdout


def test_nodes_piped_in_a_real_process():
    with serve_in_thread(fake_epmd_names(HOSTILE)) as port:
        done = subprocess.run(
            [sys.executable, "-m", "erlcookie", "nodes", "127.0.0.1", "--epmd-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert BOGUS in done.stdout
    assert_inert(done.stdout)


def test_ping_detail_quoting_a_hostile_node_name(output, cookie, tmp_path):
    cookie_file = tmp_path / "cookie"
    fd = os.open(cookie_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(cookie.reveal())
    # The peer names itself with markup and control sequences instead of app@127.0.0.1.
    fake = FakeNode(f"{BOGUS}{LINK}{OSC_TITLE}@x", cookie)
    with serve_in_thread(fake) as port:
        result = invoke("ping", NODE, "--dist-port", str(port), "--cookie-file", str(cookie_file))
    assert result.exit_code == 3, result.output
    assert "protocol_error" in result.stdout and BOGUS in result.stdout
    assert "[link=https://example.invalid]" in result.stdout
    assert "\x1b]" not in result.stdout and "\x07" not in result.stdout


def test_info_shows_hostile_names_from_rpc_answers_as_text(output, cookie, tmp_path):
    cookie_file = tmp_path / "cookie"
    fd = os.open(cookie_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(cookie.reveal())

    async def answer(call):
        function = terms.atom_text(call[2])
        reply = {
            "system_info": b"25",
            "node": terms.atom(BOGUS + OSC_TITLE),
            "nodes": [terms.atom(LINK), terms.atom(ERASE)],
            "get_cookie": cookie,
            "get_argument": terms.atom("error"),
        }[function]
        return terms.encode((terms.atom("rex"), reply))

    fake = FakeNode(NODE, cookie, after=rex_server(answer))
    with serve_in_thread(fake) as port:
        result = invoke("info", NODE, "--dist-port", str(port), "--cookie-file", str(cookie_file))
    assert result.exit_code == 0, result.output
    assert BOGUS in result.stdout
    assert "[link=https://example.invalid]click[/link]" in result.stdout
    assert_inert(result.stdout)
    assert cookie.reveal() not in result.stdout
