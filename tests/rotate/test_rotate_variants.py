"""Rotation beyond plain OTP 25 over TCP: TLS distribution and Elixir nodes (real nodes)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from erlcookie.cookie.generate import generate
from erlcookie.distribution.client import TlsOptions, ping_many
from erlcookie.rotate.plan import NEW, OLD
from tests.support.certs import make_pki, write_optfile
from tests.support.rotate_cluster import HOST, LocalCluster, rotate_cli

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]


def assert_rotated(cluster, old, new, tls=None):
    cookies = {OLD: old, NEW: new}
    views = cluster.views(cookies)
    assert all(own == NEW and set(pins.values()) <= {NEW} for own, pins in views.values()), {
        n: v[0] for n, v in views.items()
    }
    names = cluster.names
    good = asyncio.run(ping_many(names, new, timeout=10, tls=tls))
    bad = asyncio.run(ping_many(names, old, timeout=10, tls=tls))
    assert [r.verdict for r in good] == ["accepted"] * len(names)
    assert [r.verdict for r in bad] == ["rejected"] * len(names)
    assert not [r for r in cluster.rejections() if not r[1].startswith("erlcookie-")]


def test_rotation_over_mutual_tls_distribution(tmp_path):
    pki = make_pki(tmp_path / "pki", ["localhost", HOST])
    optfile = write_optfile(pki)
    old, new = generate(), generate()
    tls_args = ["-proto_dist", "inet_tls", "-ssl_dist_optfile", str(optfile)]
    with LocalCluster(old, 3, extra_args=tls_args) as cluster:
        result = rotate_cli(
            tmp_path,
            cluster.names[0],
            old,
            new,
            "--tls-ca",
            str(pki.ca_cert),
            "--tls-cert",
            str(pki.client_cert),
            "--tls-key",
            str(pki.client_key),
        )
        assert result.returncode == 0, result.stderr[-1500:]
        tls = TlsOptions(str(pki.client_cert), str(pki.client_key), str(pki.ca_cert))
        assert_rotated(cluster, old, new, tls=tls)
        # a node restarted with the persisted cookie rejoins over TLS
        cluster.restart(cluster.names[1], new)
        cluster.mesh()


def test_rotation_of_elixir_nodes(tmp_path):
    old, new = generate(), generate()
    with LocalCluster(old, 3, kinds=("elixir", "otp25")) as cluster:
        result = rotate_cli(tmp_path, cluster.names[0], old, new)
        assert result.returncode == 0, result.stderr[-1500:]
        assert_rotated(cluster, old, new)


@pytest.mark.otp27
@pytest.mark.otp29
def test_rotation_of_otp27_and_otp29_nodes(tmp_path, otp27_root, otp29_root):
    """Newer releases: OTP 29 (Debian sid) with OTP 27 (trixie), each in its chroot."""
    old, new = generate(), generate()
    with LocalCluster(old, 3, kinds=("otp29", "otp27")) as cluster:
        releases = {
            cluster.nodes[n].eval("erlang:system_info(otp_release).") for n in cluster.names
        }
        assert releases == {b"27", b"29"}
        result = rotate_cli(tmp_path, cluster.names[0], old, new)
        assert result.returncode == 0, result.stderr[-1500:]
        assert_rotated(cluster, old, new)


def test_rotation_of_mix_release_nodes(tmp_path):
    """Three nodes of one real `mix release` (Elixir 1.14, built offline), as a Phoenix app
    runs them: RELEASE_NODE per node, RELEASE_COOKIE from the environment."""
    import socket
    import subprocess

    from tests.release import builds

    host = socket.gethostname().split(".")[0]
    home = tmp_path / "home"
    name = builds.unique_name("rotmix")
    release = builds.mix_release(builds.mix_project(tmp_path, name, home), home)
    old, new = generate(), generate()
    nodes = [f"{name}{i}@{host}" for i in range(3)]

    def env(node):
        return {**builds.tool_env(home), "RELEASE_COOKIE": old.reveal(), "RELEASE_NODE": node}

    with contextlib.ExitStack() as stack:
        for node in nodes:
            stack.enter_context(builds.running(release, "start", env(node)))
        for node in nodes:
            assert builds.wait_until(
                lambda n=node: asyncio.run(ping_many([n], old, timeout=5))[0].verdict == "accepted",
                60,
            ), f"{node} did not start"
        for node in nodes[1:]:
            joined = subprocess.run(
                [str(release / "bin" / name), "rpc", f"IO.puts(Node.connect(:'{nodes[0]}'))"],
                env=env(node),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert "true" in joined.stdout, joined.stderr
        result = rotate_cli(tmp_path, nodes[0], old, new)
        assert result.returncode == 0, result.stderr[-1500:]
        assert [r.verdict for r in asyncio.run(ping_many(nodes, new, timeout=10))] == [
            "accepted"
        ] * 3
        assert [r.verdict for r in asyncio.run(ping_many(nodes, old, timeout=10))] == [
            "rejected"
        ] * 3
