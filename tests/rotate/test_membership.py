"""Who is a member: decided by the nodes themselves, on real OTP nodes.

CLI tools (`rabbitmqctl`, `ejabberdctl`), remote shells and monitoring agents connect as
hidden nodes, and EPMD registers them exactly like cluster nodes. They must never be taken
for members (their own cookie is never switched), and when they come and go at any moment,
including while erlcookie talks to them, the rotation must still succeed.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from erlcookie.cookie.generate import generate
from erlcookie.distribution.terms import atom_text
from erlcookie.rotate.ops_distribution import DistOps
from erlcookie.rotate.plan import NEW, OLD
from tests.support import nodes as node_support
from tests.support.rotate_cluster import HOST, LocalCluster, rotate_cli

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]

# How long a hidden node lives after erlcookie's probe connects to it (ms).
EXIT_DELAYS = [0, 5, 20, 60, 150, 1000]


def hidden_node(cookie, *, exit_after_probe_ms: int | None = None):
    node = node_support.launch(
        cookie, name=f"cli{os.urandom(3).hex()}", long_names=True, host=HOST, extra_args=["-hidden"]
    )
    if exit_after_probe_ms is not None:
        # halt this many ms after any erlcookie probe connects, as a CLI call ends
        node.eval(
            "spawn(fun() -> net_kernel:monitor_nodes(true, [{node_type, all}]), "
            "W = fun F() -> receive {nodeup, N, _} -> "
            'case lists:prefix("erlcookie-", atom_to_list(N)) of '
            f"true -> timer:sleep({exit_after_probe_ms}), erlang:halt(0); "
            "false -> F() end; _ -> F() end end, W() end), ok."
        )
    return node


def peers_of(cluster, cookies, node):
    ops = DistOps(cookies, timeout=5.0)

    async def go():
        try:
            await ops.connect(node, OLD)
            return await ops.cluster_peers(node)
        finally:
            await ops.close()

    return asyncio.run(go())


def test_connected_hidden_node_is_not_a_member_and_keeps_its_cookie(tmp_path):
    old, new = generate(), generate()
    with LocalCluster(old, 3) as cluster:
        first = cluster.names[0]
        with hidden_node(old) as cli:
            assert atom_text(cli.eval(f"net_adm:ping('{first}').")) == "pong"
            peers = peers_of(cluster, {OLD: old, NEW: new}, first)
            assert cli.name not in peers
            assert set(cluster.names) - {first} <= set(peers)
            result = rotate_cli(tmp_path, first, old, new, tag="hidden")
            assert result.returncode == 0, result.stderr[-1500:]
            assert cluster.views({OLD: old, NEW: new}, [first])[first][0] == NEW
            # the CLI node's own cookie was never switched (compared inside the node)
            assert (
                atom_text(cli.eval("erlang:get_cookie() =:= Old.", bindings={"Old": old})) == "true"
            )


def test_disconnected_visible_node_stays_a_member_and_hidden_one_does_not(tmp_path):
    old = generate()
    cookies = {OLD: old, NEW: generate()}
    with LocalCluster(old, 3) as cluster, hidden_node(old) as cli:
        a, b, c = cluster.names
        cli.eval(f"pong = net_adm:ping('{a}'), ok.")
        cli.eval(f"erlang:disconnect_node('{a}').")
        # a knows c but is not connected to it right now (churn, a partition)
        cluster.nodes[a].eval(f"erlang:disconnect_node('{c}').")
        peers = peers_of(cluster, cookies, a)
        assert c in peers
        assert cli.name not in peers


@pytest.mark.parametrize("delay_ms", EXIT_DELAYS)
def test_hidden_nodes_leaving_while_probed_do_not_fail_the_rotation(
    tmp_path, delay_ms, shared_cluster
):
    cluster, cookies = shared_cluster
    current = cookies[-1]
    clis = []
    try:
        for _ in range(2):
            cli = hidden_node(current, exit_after_probe_ms=delay_ms)
            clis.append(cli)
            cli.eval(f"pong = net_adm:ping('{cluster.names[0]}'), ok.")
            # known to the member but not connected: erlcookie asks the node itself
            cli.eval(f"erlang:disconnect_node('{cluster.names[0]}').")
        new = generate()
        result = rotate_cli(tmp_path, cluster.names[0], current, new, tag=f"d{delay_ms}")
        assert result.returncode == 0, result.stderr[-1500:]
        cookies.append(new)
        events = [json.loads(line) for line in result.stdout.splitlines()]
        counts = {
            (e.get("phase"), e.get("members")) for e in events if isinstance(e.get("members"), int)
        }
        assert {n for _, n in counts} == {len(cluster.names)}, counts
        # erlcookie did probe them: each halts only after an erlcookie node connected
        deadline = time.monotonic() + delay_ms / 1000 + 5
        while any(c.proc.poll() is None for c in clis) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(c.proc.poll() is not None for c in clis)
    finally:
        for cli in clis:
            cli.stop()


@pytest.fixture(scope="module")
def shared_cluster():
    first = generate()
    with LocalCluster(first, 3) as cluster:
        yield cluster, [first]
