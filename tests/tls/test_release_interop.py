"""A real mix release on mutual-TLS distribution, wired the way docs/tls.md says.

`:ssl` in the application's extra_applications puts the ssl code in the release;
ERL_FLAGS="-proto_dist inet_tls -ssl_dist_optfile F" reaches every `erl` the release
script starts, the node and `bin/NAME rpc` alike. The node then speaks only TLS: erlcookie
gets in with a client certificate, `rpc` works with the flags and fails without them.
(`erlcookie release fix --tls` writes exactly this: tests/release/test_tls_interop.py.)
"""

from __future__ import annotations

import socket
import subprocess

import pytest

from erlcookie.cookie.generate import generate
from erlcookie.distribution.blocking import ping_blocking
from erlcookie.distribution.client import TlsOptions
from erlcookie.tls import store
from erlcookie.tls.optfile import OptfilePaths, render
from tests.release import builds

pytestmark = [pytest.mark.interop, pytest.mark.timeout(400)]


def test_mix_release_runs_on_tls_distribution_and_rpc_follows(tmp_path):
    home = tmp_path / "home"
    name = builds.unique_name("ectls")
    project = builds.mix_project(tmp_path, name, home)
    mix_exs = project / "mix.exs"
    text = mix_exs.read_text()
    assert "extra_applications: [:logger]" in text
    mix_exs.write_text(
        text.replace("extra_applications: [:logger]", "extra_applications: [:logger, :ssl]")
    )
    release = builds.mix_release(project, home)
    assert any(p.name.startswith("ssl-") for p in (release / "lib").iterdir())

    pki = tmp_path / "pki"
    store.init_ca(pki, "CA")
    store.issue_node(pki, "node", ["localhost", "127.0.0.1", socket.gethostname()])
    store.issue_node(pki, "ops", [])
    optfile = pki / "ssl_dist.conf"
    optfile.write_text(
        render(OptfilePaths(str(pki / "node.pem"), str(pki / "node.key"), str(pki / "ca.pem")))
    )
    cookie = generate()
    flags = f"-proto_dist inet_tls -ssl_dist_optfile {optfile}"
    env = builds.tool_env(home, RELEASE_COOKIE=cookie.reveal(), ERL_FLAGS=flags)
    plain_env = builds.tool_env(home, RELEASE_COOKIE=cookie.reveal())
    node = f"{name}@{socket.gethostname().split('.')[0]}"
    tls = TlsOptions(str(pki / "ops.pem"), str(pki / "ops.key"), str(pki / "ca.pem"))
    script = str(release / "bin" / name)
    with builds.running(release, "start", env) as started:
        accepted = builds.wait_until(
            lambda: (
                started.proc.poll() is None
                and ping_blocking(node, cookie, tls=tls, timeout=5).verdict == "accepted"
            ),
            timeout=90,
            interval=1,
        )
        log = (release / "erlcookie-test-start.log").read_text(errors="replace")
        assert accepted, log[-3000:]
        plain = ping_blocking(node, cookie, timeout=5)
        assert plain.verdict == "protocol_error" and "TLS" in plain.detail
        rpc = subprocess.run(
            [script, "rpc", "IO.inspect(:init.get_argument(:proto_dist))"],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert rpc.returncode == 0 and "inet_tls" in rpc.stdout, rpc.stderr[-2000:]
        without = subprocess.run(
            [script, "rpc", "IO.puts(:x)"],
            env=plain_env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert "nodedown" in without.stdout + without.stderr
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60)
    assert builds.wait_until(lambda: f"name {name} " not in builds.epmd_names(), timeout=30)
