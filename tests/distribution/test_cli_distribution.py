"""`erlcookie nodes`, `ping` and `info` from the command line, against real nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from erlcookie.cli import cli
from tests.support.nodes import free_port
from tests.support.redaction import assert_not_shown


@pytest.fixture
def cookie_file(tmp_path, shared_cookie):
    path = tmp_path / "cookie"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(shared_cookie.reveal() + "\n")
    return str(path)


@pytest.fixture
def wrong_cookie_file(tmp_path, other_cookie):
    path = tmp_path / "wrong"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(other_cookie.reveal())
    return str(path)


def invoke(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result


def assert_no_secret(result, *cookies):
    for c in cookies:
        assert_not_shown(c, result.stdout, result.stderr)


# -- usage errors (no network) -----------------------------------------------------------------
@pytest.mark.parametrize(
    "args,words",
    [
        (["ping", "--cookie-env", "ERLCOOKIE_TEST_UNUSED"], "at least one NODE"),
        (["ping", "nohost", "--cookie-env", "ERLCOOKIE_TEST_UNUSED"], "no host part"),
        (
            ["ping", "a@b", "c@d", "--dist-port", "9", "--cookie-env", "ERLCOOKIE_TEST_UNUSED"],
            "exactly one NODE",
        ),
        (
            [
                "ping",
                "a@b",
                "--tls-ca",
                "/nonexistent.pem",
                "--cookie-env",
                "ERLCOOKIE_TEST_UNUSED",
            ],
            "no such file",
        ),
        (
            ["ping", "a@b", "--tls-cert", "/etc/hostname", "--cookie-env", "ERLCOOKIE_TEST_UNUSED"],
            "--tls-ca",
        ),
        (["info", "a b@c", "--cookie-env", "ERLCOOKIE_TEST_UNUSED"], "space"),
        (
            [
                "ping",
                "a@b",
                "--nodes-file",
                "/nonexistent",
                "--cookie-env",
                "ERLCOOKIE_TEST_UNUSED",
            ],
            "cannot read",
        ),
        (["ping", "a@b", "--nodes-file", "-", "--cookie-file", "-"], "stdin cannot carry both"),
    ],
)
def test_usage_errors(args, words):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr


def test_no_cookie_is_a_usage_error(clean_home):
    result = invoke("ping", "a@127.0.0.1")
    assert result.exit_code == 2 and "no cookie found" in result.stderr


# -- against real nodes ---------------------------------------------------------------------
pytestmark_interop = pytest.mark.interop


@pytestmark_interop
def test_nodes_lists_epmd(otp25_node):
    table = invoke("nodes", "127.0.0.1")
    assert table.exit_code == 0
    assert otp25_node.alive in table.stdout
    data = json.loads(invoke("nodes", "--json").stdout)
    entry = [n for n in data["nodes"] if n["name"] == otp25_node.alive]
    assert entry and entry[0]["port"] == otp25_node.dist_port()
    down = invoke("nodes", "127.0.0.1", "--epmd-port", str(free_port()))
    assert down.exit_code == 3 and "refused" in down.stderr


@pytestmark_interop
def test_ping_verdicts_and_exit_codes(
    otp25_node, cookie_file, wrong_cookie_file, shared_cookie, other_cookie
):
    ok = invoke("ping", otp25_node.name, "--cookie-file", cookie_file)
    assert ok.exit_code == 0, ok.output
    assert "accepted" in ok.stdout
    bad = invoke("ping", otp25_node.name, "--cookie-file", wrong_cookie_file)
    assert bad.exit_code == 1 and "rejected" in bad.stdout
    mixed = invoke(
        "ping", otp25_node.name, f"ghost@{otp25_node.host}", "--cookie-file", cookie_file
    )
    assert mixed.exit_code == 1 and "no_such_node" in mixed.stdout
    assert "1 accepted, 1 no_such_node" in mixed.stderr
    unreachable = invoke(
        "ping", otp25_node.name, "--epmd-port", str(free_port()), "--cookie-file", cookie_file
    )
    assert unreachable.exit_code == 3 and "unreachable" in unreachable.stdout
    for result in (ok, bad, mixed, unreachable):
        assert_no_secret(result, shared_cookie, other_cookie)


@pytestmark_interop
def test_ping_json_nodes_file_and_stdin(otp25_node, cookie_file, tmp_path, shared_cookie):
    listing = tmp_path / "nodes.txt"
    listing.write_text(f"# cluster\n{otp25_node.name}\n\n{otp25_node.name}\n")
    result = invoke("ping", "--nodes-file", str(listing), "--json", "--cookie-file", cookie_file)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"] == {"accepted": 1}  # the duplicate was pinged once
    (entry,) = data["results"]
    assert entry["verdict"] == "accepted" and entry["peer_name"] == otp25_node.name
    assert entry["peer_flags"].startswith("0x") and entry["elapsed"] < 5
    # the cookie from stdin, the node on the command line, the dial address overridden
    port = otp25_node.dist_port()
    piped = invoke(
        "ping",
        otp25_node.name,
        "--host",
        "127.0.0.1",
        "--dist-port",
        str(port),
        "--cookie-file",
        "-",
        "--json",
        input=shared_cookie.reveal() + "\n",
    )
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["results"][0]["address"] == f"127.0.0.1:{port}"
    assert_no_secret(piped, shared_cookie)


@pytestmark_interop
def test_ping_cookie_from_env(otp25_node, shared_cookie, monkeypatch):
    monkeypatch.setenv("MY_COOKIE", shared_cookie.reveal())
    result = invoke("ping", otp25_node.name, "--cookie-env", "MY_COOKIE")
    assert result.exit_code == 0
    assert_no_secret(result, shared_cookie)


@pytestmark_interop
def test_info_table_and_json(
    otp25_node, cookie_file, wrong_cookie_file, shared_cookie, other_cookie
):
    table = invoke("info", otp25_node.name, "--cookie-file", cookie_file)
    assert table.exit_code == 0, table.output
    for words in (
        "otp release",
        "25 (erts",
        "own cookie matches",
        "yes (fp1:",
        "plain TCP distribution",
        shared_cookie.fingerprint(),
    ):
        assert words in table.stdout
    data = json.loads(
        invoke("info", otp25_node.name, "--json", "--cookie-file", cookie_file).stdout
    )
    assert data["cookie_fingerprint"] == shared_cookie.fingerprint()
    (node,) = data["nodes"]
    assert node["node_name"] == otp25_node.name and node["own_cookie_matches"] is True
    refused = invoke("info", otp25_node.name, "--cookie-file", wrong_cookie_file)
    assert refused.exit_code == 1 and "rejected" in refused.stdout
    for result in (table, refused):
        assert_no_secret(result, shared_cookie, other_cookie)


@pytestmark_interop
def test_real_process_exit_codes_and_speed(otp25_node, cookie_file):
    exe = os.path.join(os.path.dirname(sys.executable), "erlcookie")
    done = subprocess.run(
        [exe, "ping", otp25_node.name, "--cookie-file", cookie_file],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "accepted" in done.stdout
    done = subprocess.run(
        [exe, "ping", f"ghost@{otp25_node.host}", "--cookie-file", cookie_file],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1


def test_progress_only_on_a_terminal_with_many_nodes(monkeypatch):
    from erlcookie.cli import distribution as cli_dist

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert cli_dist._Progress(100, "x")._bar is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli_dist._Progress(cli_dist.PROGRESS_THRESHOLD - 1, "x")._bar is None
    progress = cli_dist._Progress(cli_dist.PROGRESS_THRESHOLD, "x")
    assert progress._bar is not None
    with progress:
        for _ in range(cli_dist.PROGRESS_THRESHOLD):
            progress.advance()
    assert progress._bar.tasks[0].completed == cli_dist.PROGRESS_THRESHOLD
