"""`erlcookie rotate` on a live 2-node ejabberd cluster (Debian's ejabberd 23.01) under load.

The load: a readiness probe's loop of `ejabberdctl status` (each call a hidden node that
reads the cookie file) and writes replicated through Mnesia (users registered on one node,
read back on the other). Witnesses are ejabberd's own: `list_cluster`, its logs, and
`ejabberdctl` run as the service's user.
"""

from __future__ import annotations

import asyncio
import pwd
import stat
import time

import pytest

from erlcookie.cookie.generate import generate
from tests.support import ejabberd
from tests.support.rotate_cluster import rotate_cli
from tests.support.service_nodes import CliLoop

pytestmark = [
    pytest.mark.interop,
    pytest.mark.ejabberd,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not ejabberd.available(), reason="needs Debian's ejabberd and root"),
]

ROTATIONS = 10


def owner_and_mode(path):
    st = path.stat()
    return pwd.getpwuid(st.st_uid).pw_name, st.st_gid, stat.S_IMODE(st.st_mode)


def ping_all(names, cookie):
    from erlcookie.distribution.client import ping_many

    return [r.verdict for r in asyncio.run(ping_many(names, cookie, timeout=10))]


def test_ten_rotations_of_a_loaded_ejabberd_cluster(tmp_path):
    first = generate()
    with ejabberd.EjabberdCluster(first, size=2) as ej:
        a, b = ej.names
        assert ej.cluster_nodes() == sorted(ej.names)
        facts = owner_and_mode(ej.cookie_file)
        cookies = [first]

        def probe(node):
            return ej.ctl(node, "status", check=False, timeout=30)

        with CliLoop(ej.names, probe) as probes:
            for round_ in range(ROTATIONS):
                new = generate()
                result = rotate_cli(
                    tmp_path, a, cookies[-1], new, persist=ej.cookie_file, tag=str(round_)
                )
                assert result.returncode == 0, (
                    f"rotation {round_ + 1}: exit {result.returncode}: {result.stderr[-1500:]}"
                )
                cookies.append(new)
                assert ej.cluster_nodes(b) == sorted(ej.names)
                assert owner_and_mode(ej.cookie_file) == facts
                # Mnesia still replicates: a user registered on one node is seen on the other
                user = f"u{round_}"
                ej.ctl(a, "register", user, "localhost", f"pw{round_}x")
                assert user in ej.ctl(b, "registered_users", "localhost").stdout.split()
        assert ej.refusals_between_members() == []
        print(f"ejabberdctl probe calls: {len(probes.calls)}, failed: {len(probes.failures)}")
        assert ping_all(ej.names, cookies[-1]) == ["accepted"] * 2
        assert ping_all(ej.names, cookies[0]) == ["rejected"] * 2
        # a node restarted from the persisted file rejoins the cluster
        ej.restart(b)
        deadline = time.monotonic() + 60
        while ej.cluster_nodes(a) != sorted(ej.names) and time.monotonic() < deadline:
            time.sleep(1)
        assert ej.cluster_nodes(a) == sorted(ej.names)
        assert "u9" in ej.ctl(b, "registered_users", "localhost").stdout.split()
        assert ej.refusals_between_members() == []
