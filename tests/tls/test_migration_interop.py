"""Moving a node from TCP to TLS distribution splits it from the TCP nodes (measured).

OTP runs one distribution carrier per node: a TLS node and a TCP node cannot connect in
either direction, so a rolling switch runs two islands until the last node moves.
Measured: a TCP node dialing a TLS node is refused in about 0.1 s (the TLS server rejects
the plain handshake message); a TLS node dialing a TCP node waits for the TCP node's
handshake timeout (net_setuptime, 7 s by default) before it gives up.
"""

from __future__ import annotations

import socket
import time

import pytest

from erlcookie.distribution.terms import atom_text
from erlcookie.tls import store
from erlcookie.tls.optfile import OptfilePaths, render
from tests.support import nodes as node_support

pytestmark = pytest.mark.interop


def _connect(src, dst) -> tuple[bool, float]:
    started = time.monotonic()
    answer = atom_text(src.eval(f"net_kernel:connect_node('{dst.name}').", timeout=30))
    return answer == "true", time.monotonic() - started


def test_a_node_switched_to_tls_is_split_from_the_tcp_nodes(tmp_path, cookie):
    store.init_ca(tmp_path, "CA")
    store.issue_node(tmp_path, "node", ["localhost", "127.0.0.1", socket.gethostname()])
    optfile = tmp_path / "dist.conf"
    optfile.write_text(
        render(
            OptfilePaths(
                str(tmp_path / "node.pem"), str(tmp_path / "node.key"), str(tmp_path / "ca.pem")
            )
        )
    )
    tls_flags = ["-proto_dist", "inet_tls", "-ssl_dist_optfile", str(optfile)]
    a, b = node_support.launch_many(cookie, 2, kind="otp25")
    try:
        assert _connect(a, b)[0]
        b_alive = b.alive
        b.stop()  # restart b on TLS under the same name, as a rolling restart would
        b = node_support.launch(cookie, kind="otp25", name=b_alive, extra_args=tls_flags)
        with node_support.start_node(cookie, kind="otp25", extra_args=tls_flags) as c:
            tcp_to_tls, t1 = _connect(a, b)
            tls_to_tcp, t2 = _connect(b, a)
            tls_to_tls, _ = _connect(c, b)
            assert (tcp_to_tls, tls_to_tcp, tls_to_tls) == (False, False, True)
            assert t1 < 5, t1  # refused by the TLS server at once
            assert 5 < t2 < 20, t2  # the TCP node's net_setuptime (7 s) runs out
            assert [atom_text(n) for n in a.eval("nodes().")] == []
            assert sorted(atom_text(n) for n in b.eval("nodes().")) == [c.name]
            print(f"TCP->TLS refused in {t1 * 1000:.0f} ms, TLS->TCP in {t2 * 1000:.0f} ms")
    finally:
        a.stop()
        b.stop()
