"""`erlcookie rotate` on a live 3-node RabbitMQ cluster (Debian's rabbitmq-server) under load.

The load is what production clusters see: a readiness probe's loop of
`rabbitmq-diagnostics ping` (each call a short-lived hidden node that reads the cookie
file), and AMQP publishing with confirms to a quorum queue with a consumer on another node.
Witnesses are RabbitMQ's own: `cluster_status`, the servers' logs (refused handshakes), the
broker's publisher confirms, and the CLI tools run as the service's user.
"""

from __future__ import annotations

import asyncio
import json
import pwd
import stat
import time
from pathlib import Path

import pytest

from erlcookie.cookie.generate import generate
from tests.support import rabbitmq
from tests.support.rotate_cluster import rotate_cli
from tests.support.service_nodes import CliLoop

pytestmark = [
    pytest.mark.interop,
    pytest.mark.rabbitmq,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not rabbitmq.available(), reason="needs Debian's rabbitmq-server and root"),
]

ROTATIONS = 10


def probe(rmq, node):
    """What a readiness probe runs: a hidden CLI node that reads the cookie file."""
    return rmq.ctl(node, "-q", "ping", tool="rabbitmq-diagnostics", check=False, timeout=30)


def cookie_file_facts(path: Path) -> tuple[str, str, int]:
    st = path.stat()
    return (pwd.getpwuid(st.st_uid).pw_name, str(st.st_gid), stat.S_IMODE(st.st_mode))


def ping_all(names, cookie):
    from erlcookie.distribution.client import ping_many

    return [r.verdict for r in asyncio.run(ping_many(names, cookie, timeout=10))]


def test_ten_rotations_of_a_loaded_rabbitmq_cluster(tmp_path):
    first = generate()
    with rabbitmq.RabbitCluster(first, size=3) as rmq:
        owner_before = cookie_file_facts(rmq.cookie_file)
        cookies = [first]
        with (
            CliLoop(rmq.names, lambda n: probe(rmq, n)) as probes,
            rabbitmq.AmqpTraffic(rmq) as amqp,
        ):
            time.sleep(2)
            for round_ in range(ROTATIONS):
                new = generate()
                result = rotate_cli(
                    tmp_path,
                    rmq.names[0],
                    cookies[-1],
                    new,
                    persist=rmq.cookie_file,
                    tag=str(round_),
                )
                assert result.returncode == 0, (
                    f"rotation {round_ + 1}: exit {result.returncode}: {result.stderr[-1500:]}"
                )
                cookies.append(new)
                # the servers are one cluster with no partition, and say so themselves
                status = rmq.cluster_status()
                assert sorted(status["running_nodes"]) == sorted(rmq.names), status
                assert not status.get("partitions"), status["partitions"]
                # the persisted file still belongs to the service, so its CLI tools work
                assert cookie_file_facts(rmq.cookie_file) == owner_before
                rmq.ctl(rmq.names[round_ % 3], "-q", "list_queues", "name")
            time.sleep(2)
        assert amqp.errors == [], amqp.errors
        assert amqp.refused == [], amqp.refused[:5]
        assert len(amqp.confirmed) > 100
        assert amqp.lost == [], f"{len(amqp.lost)} confirmed messages never delivered"
        # no server ever refused another server
        assert rmq.refusals_between_members() == []
        # probes started with the old cookie just before a switch may be refused (inherent:
        # a node accepts an unknown name only with its own cookie); every failure must be
        # such a refusal, logged by the node as one from a CLI node
        refused_cli = {
            peer
            for n in rmq.nodes
            for peer in n.refusals()
            if peer not in rmq.names and not peer.startswith("erlcookie-")
        }
        unexplained = [f for f in probes.failures if "rabbitmqcli" not in f[3] and not refused_cli]
        print(
            f"CLI probe calls: {len(probes.calls)}, failed: {len(probes.failures)}, "
            f"refused CLI nodes in server logs: {len(refused_cli)}"
        )
        assert unexplained == [], unexplained[:3]
        # the old cookies are refused, the newest accepted, by every node
        assert ping_all(rmq.names, cookies[-1]) == ["accepted"] * 3
        assert ping_all(rmq.names, cookies[0]) == ["rejected"] * 3
        assert ping_all(rmq.names, cookies[-2]) == ["rejected"] * 3
        # a node restarted from the persisted file rejoins the cluster
        rmq.restart(rmq.names[2])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = rmq.cluster_status()
            if sorted(status["running_nodes"]) == sorted(rmq.names):
                break
            time.sleep(1)
        assert sorted(status["running_nodes"]) == sorted(rmq.names), status
        assert rmq.refusals_between_members() == []


def test_rotation_json_names_members_only(tmp_path):
    """CLI nodes connected at the time are not members: their own cookie is never switched."""
    first = generate()
    with rabbitmq.RabbitCluster(first, size=2) as rmq:
        with CliLoop(rmq.names, lambda n: probe(rmq, n), interval=0.0):
            time.sleep(1.5)
            new = generate()
            result = rotate_cli(tmp_path, rmq.names[0], first, new, persist=rmq.cookie_file)
        assert result.returncode == 0, result.stderr[-1500:]
        events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        switched = {e.get("node") for e in events if e.get("action") == "switch"}
        assert switched == set(rmq.names)  # every server, and none of the CLI nodes
