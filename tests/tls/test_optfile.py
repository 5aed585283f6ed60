"""The -ssl_dist_optfile text: mutual TLS, every option commented, and what erl reads."""

from __future__ import annotations

import subprocess

import pytest

from erlcookie.errors import UsageError
from erlcookie.tls.optfile import OptfilePaths, render

PATHS = OptfilePaths("/etc/erlang/tls/app.pem", "/etc/erlang/tls/app.key", "/etc/erlang/tls/ca.pem")


def test_every_option_has_a_comment_above_it():
    lines = render(PATHS).splitlines()
    options = [i for i, line in enumerate(lines) if line.startswith("    {")]
    assert len(options) == 9 + 7  # server and client options
    for i in options:
        above = lines[i - 1].strip()
        assert above.startswith("%%"), lines[i]


def test_server_requires_a_peer_certificate_and_both_sides_verify():
    text = render(PATHS)
    server, client = text.split("{client,")
    assert "{verify, verify_peer}" in server and "{fail_if_no_peer_cert, true}" in server
    assert "{verify, verify_peer}" in client and "fail_if_no_peer_cert" not in client
    for part in (server, client):
        assert '{cacertfile, "/etc/erlang/tls/ca.pem"}' in part
        assert '{certfile, "/etc/erlang/tls/app.pem"}' in part
        assert '{keyfile, "/etc/erlang/tls/app.key"}' in part
        assert "{versions, ['tlsv1.3', 'tlsv1.2']}" in part
        assert "CBC" not in part and "RSA_WITH_AES" not in part.replace("ECDHE_RSA", "")
    assert "server_name_indication" not in text


def test_no_hostname_check_disables_sni_on_the_client_only():
    text = render(PATHS, hostname_check=False)
    server, client = text.split("{client,")
    assert "{server_name_indication, disable}" in client
    assert "server_name_indication" not in server


@pytest.mark.parametrize("bad", ["relative/app.pem", "/etc/x\n.pem"])
def test_paths_must_be_absolute_and_clean(bad):
    with pytest.raises(UsageError):
        render(OptfilePaths(bad, "/k", "/c"))


def test_quotes_and_backslashes_are_escaped():
    text = render(OptfilePaths('/tls/a"b\\c.pem', "/k", "/c"))
    assert '"/tls/a\\"b\\\\c.pem"' in text


@pytest.mark.interop
def test_erl_reads_exactly_these_options(tmp_path):
    path = tmp_path / "dist.conf"
    path.write_text(
        render(
            OptfilePaths('/tls/a"b.pem', "/tls/a.key", "/tls/ca.pem"),
            node="app",
            hostname_check=False,
        )
    )
    expr = (
        f'{{ok, [[{{server, S}}, {{client, C}}]]}} = file:consult("{path}"), '
        'io:format("~w~n~p~n", [lists:sort([K || {K, _} <- S]), '
        "proplists:get_value(certfile, C)]), halt()."
    )
    out = subprocess.run(
        ["erl", "-noshell", "-eval", expr], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    keys, certfile = out.stdout.split("\n", 1)
    assert keys == (
        "[cacertfile,certfile,ciphers,fail_if_no_peer_cert,honor_cipher_order,"
        "keyfile,secure_renegotiate,verify,versions]"
    )
    assert certfile.strip() == '"/tls/a\\"b.pem"'
