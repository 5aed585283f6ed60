"""`erlcookie rotate` on a mutual-TLS cluster (OTP 25, 27 and, with its root, 29), while
the nodes keep dropping and re-making their TLS connections: none of those reconnects may
fail.

The churn runs inside the nodes (`erlang:disconnect_node/1` then
`net_kernel:connect_node/1`, through each node's stdin REPL, not through erlcookie), so it
is an independent witness of the cluster's own TLS connections.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from erlcookie.cookie.files import atomic_write
from erlcookie.cookie.generate import generate
from erlcookie.distribution.client import TlsOptions, ping_many
from erlcookie.distribution.terms import atom_text
from erlcookie.tls import store
from erlcookie.tls.optfile import OptfilePaths, render
from tests.support import nodes as node_support
from tests.support.otp_roots import require_or_skip
from tests.support.redaction import assert_not_shown
from tests.tls.conftest import launch_chrooted, otp29_root_or_none

pytestmark = [pytest.mark.interop, pytest.mark.otp27, pytest.mark.timeout(240)]


class Churn(threading.Thread):
    """Disconnect and reconnect pairs of nodes in turn until stopped; count the outcomes."""

    def __init__(self, nodes):
        super().__init__(daemon=True)
        self.pairs = itertools.cycle(list(itertools.permutations(nodes, 2)))
        self.ok, self.failed, self.errors = 0, [], []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            a, b = next(self.pairs)
            try:
                started = time.monotonic()
                answer = a.eval(
                    f"erlang:disconnect_node('{b.name}'), net_kernel:connect_node('{b.name}').",
                    timeout=30,
                )
                if atom_text(answer) == "true":
                    self.ok += 1
                else:
                    self.failed.append((a.name, b.name, round(time.monotonic() - started, 2)))
            except Exception as exc:  # an eval that failed is reported, not swallowed
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def stop(self):
        self.halt.set()
        self.join(60)


def test_rotate_over_tls_with_zero_failed_reconnects(tmp_path, run_cli):
    root = require_or_skip()
    old, new = generate("elixir"), generate("elixir")
    pki = Path(tempfile.mkdtemp(prefix="erlcookie-tls-", dir=str(root / "tmp")))
    os.chmod(pki, 0o755)
    cleanup = [pki]
    try:
        store.init_ca(pki, "CA")
        store.issue_node(pki, "node", ["localhost", "127.0.0.1", socket.gethostname()])
        store.issue_node(pki, "ops", [])
        inner = "/" + str(pki.relative_to(root))
        (pki / "host.conf").write_text(
            render(OptfilePaths(f"{pki}/node.pem", f"{pki}/node.key", f"{pki}/ca.pem"))
        )
        (pki / "chroot.conf").write_text(
            render(OptfilePaths(f"{inner}/node.pem", f"{inner}/node.key", f"{inner}/ca.pem"))
        )
        flags = ["-proto_dist", "inet_tls", "-ssl_dist_optfile"]
        nodes = node_support.launch_many(
            old, 2, kind="otp25", extra_args=[*flags, str(pki / "host.conf")]
        )
        try:
            nodes.append(
                node_support.launch(
                    old, kind="otp27", otp_root=root, extra_args=[*flags, f"{inner}/chroot.conf"]
                )
            )
            sid = otp29_root_or_none()
            if sid is not None:
                sid_pki = Path(tempfile.mkdtemp(prefix="erlcookie-tls-", dir=str(sid / "tmp")))
                cleanup.append(sid_pki)
                os.chmod(sid_pki, 0o755)
                for name in ("ca.pem", "node.pem", "node.key"):
                    shutil.copy2(pki / name, sid_pki / name)
                sid_inner = "/" + str(sid_pki.relative_to(sid))
                (sid_pki / "sid.conf").write_text(
                    render(
                        OptfilePaths(
                            f"{sid_inner}/node.pem", f"{sid_inner}/node.key", f"{sid_inner}/ca.pem"
                        )
                    )
                )
                nodes.append(
                    launch_chrooted(old, sid, "otp29", extra_args=[*flags, f"{sid_inner}/sid.conf"])
                )
            _rotate_under_churn(tmp_path, run_cli, nodes, pki, old, new)
        finally:
            for node in nodes:
                node.stop()
    finally:
        for directory in cleanup:
            shutil.rmtree(directory, ignore_errors=True)


def _rotate_under_churn(tmp_path, run_cli, nodes, pki, old, new):
    a = nodes[0]
    for i, src in enumerate(nodes):
        for dst in nodes[i + 1 :]:
            connected = src.eval(f"net_kernel:connect_node('{dst.name}').", timeout=30)
            assert atom_text(connected) == "true"
    old_file = atomic_write(tmp_path / "old", old.reveal(), mode=0o600)
    new_file = atomic_write(tmp_path / "new", new.reveal(), mode=0o600)
    persisted = atomic_write(tmp_path / "store", old.reveal(), mode=0o600)
    tls_args = [
        "--tls-ca",
        pki / "ca.pem",
        "--tls-cert",
        pki / "ops.pem",
        "--tls-key",
        pki / "ops.key",
    ]
    churn = Churn(nodes)
    churn.start()
    time.sleep(1.0)
    result = run_cli(
        "rotate",
        "--nodes",
        a.name,
        "--cookie-file",
        old_file,
        "--new-cookie-file",
        new_file,
        "--persist-file",
        persisted,
        "--journal",
        tmp_path / "journal.json",
        "--timeout",
        "15",
        "--json",
        *tls_args,
    )
    time.sleep(1.0)
    churn.stop()
    assert_not_shown(old, result.output)
    assert_not_shown(new, result.output)
    assert result.exit_code == 0, result.output[-3000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    final = [e for e in events if e.get("event") == "result"]
    assert final and final[-1]["status"] == "done" and final[-1]["members"] == len(nodes), final
    assert churn.errors == [], churn.errors[:3]
    assert churn.failed == [], churn.failed
    assert churn.ok >= 6, churn.ok
    tls = TlsOptions(str(pki / "ops.pem"), str(pki / "ops.key"), str(pki / "ca.pem"))
    names = [n.name for n in nodes]
    accepted = asyncio.run(ping_many(names, new, tls=tls, timeout=15))
    refused = asyncio.run(ping_many(names, old, tls=tls, timeout=15))
    assert [r.verdict for r in accepted] == ["accepted"] * len(nodes)
    assert {r.transport for r in accepted} == {"tls"}
    assert [r.verdict for r in refused] == ["rejected"] * len(nodes)
    # no node refused another node's handshake (only erlcookie's own probes of the old cookie)
    for node in nodes:
        refusals = [
            line
            for line in node.log_text().splitlines()
            if "rejected" in line and "erlcookie-" not in line
        ]
        assert refusals == [], (node.name, refusals[:3])
    print(f"reconnects during the rotation: {churn.ok} ok, {len(churn.failed)} failed")
