"""What a rotation costs the CLI tools of a real service: RabbitMQ (3 nodes) and ejabberd (2).

A readiness probe runs the service's CLI in a tight loop (`rabbitmq-diagnostics ping`,
`ejabberdctl status`), as the service's user, each call a hidden node that reads the
cookie file 1-2 s before it connects. A call that read the old cookie and connects after
the switch is refused: a node accepts an unknown name only with its own cookie, so this is
inherent to any rotation. Measured side by side, for the same time on the same cluster:
a control period with no rotation, and a period of back-to-back rotations. Also printed:
the window between the switch and the persist steps (from the rotation's own events).

    .venv/bin/python benchmarks/bench_rotate_services.py --rotations 10

Needs root and Debian's rabbitmq-server and ejabberd (scripts/test installs them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from erlcookie.cookie.generate import generate  # noqa: E402
from tests.support import ejabberd, rabbitmq  # noqa: E402
from tests.support.rotate_cluster import rotate_cli  # noqa: E402
from tests.support.service_nodes import CliLoop  # noqa: E402


def window_ms(stdout: str) -> float | None:
    """From the end of the switch to the end of persist, by the rotation's events."""
    ends = {}
    for line in stdout.splitlines():
        event = json.loads(line)
        if event.get("event") == "phase" and event.get("status") == "done":
            ends[event["phase"]] = event["ts"]
    if "switch" in ends and "persist" in ends:
        return (ends["persist"] - ends["switch"]) * 1000
    return None


def measure(name: str, cluster, first, probe, rotations: int, work: Path) -> dict:
    cookies = [first]
    windows = []
    began = time.monotonic()
    with CliLoop(cluster.names, probe, interval=0.0) as loaded:
        for i in range(rotations):
            new = generate()
            result = rotate_cli(
                work,
                cluster.names[0],
                cookies[-1],
                new,
                persist=cluster.cookie_file,
                tag=f"{name}{i}",
            )
            if result.returncode != 0:
                raise SystemExit(
                    f"{name}: rotation {i + 1} exited {result.returncode}: {result.stderr[-800:]}"
                )
            cookies.append(new)
            windows.append(window_ms(result.stdout))
    rotating = time.monotonic() - began
    # the control period, as long as the rotations took, after them (cluster settled)
    with CliLoop(cluster.names, probe, interval=0.0) as control:
        time.sleep(rotating)
    members = set(cluster.names)
    refused_cli = [
        peer
        for n in cluster.nodes
        for peer in n.refusals()
        if peer not in members and not peer.startswith("erlcookie-")
    ]
    refused_members = cluster.refusals_between_members()
    valid = [w for w in windows if w is not None]
    return {
        "service": name,
        "nodes": len(cluster.names),
        "rotations": rotations,
        "seconds": round(rotating, 1),
        "cli_calls_rotating": len(loaded.calls),
        "cli_failed_rotating": len(loaded.failures),
        "cli_calls_control": len(control.calls),
        "cli_failed_control": len(control.failures),
        "cli_refusals_logged": len(refused_cli),
        "member_refusals": len(refused_members),
        "switch_to_persist_ms_median": round(statistics.median(valid), 1) if valid else None,
        "switch_to_persist_ms_max": round(max(valid), 1) if valid else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rotations", type=int, default=10)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="erlcookie-bench-") as tmp:
        work = Path(tmp)
        first = generate()
        with rabbitmq.RabbitCluster(first, size=3) as rmq:

            def probe(n):
                return rmq.ctl(
                    n, "-q", "ping", tool="rabbitmq-diagnostics", check=False, timeout=30
                )

            results.append(measure("rabbitmq", rmq, first, probe, args.rotations, work))
        with ejabberd.EjabberdCluster(first, size=2) as ej:

            def probe(n):
                return ej.ctl(n, "status", check=False, timeout=30)

            results.append(measure("ejabberd", ej, first, probe, args.rotations, work))
    print(
        "| service | nodes | rotations | s | CLI calls / failed while rotating | "
        "CLI calls / failed, control | CLI refusals logged | member refusals | "
        "switch to persist (median / max ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['service']} | {r['nodes']} | {r['rotations']} | {r['seconds']} | "
            f"{r['cli_calls_rotating']} / {r['cli_failed_rotating']} | "
            f"{r['cli_calls_control']} / {r['cli_failed_control']} | "
            f"{r['cli_refusals_logged']} | {r['member_refusals']} | "
            f"{r['switch_to_persist_ms_median']} / {r['switch_to_persist_ms_max']} |"
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
