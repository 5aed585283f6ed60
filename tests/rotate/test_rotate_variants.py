"""Rotation beyond plain OTP 25 over TCP: TLS distribution and Elixir nodes (real nodes)."""

from __future__ import annotations

import asyncio

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
