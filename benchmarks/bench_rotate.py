"""Benchmarks for `erlcookie rotate` on local clusters of real OTP 25 nodes.

1. Wall time of a whole `erlcookie rotate` process (Python start-up, preflight, every
   phase, verify) for 10 and 50 fully meshed nodes, with the default 1 s converge settle
   time and with `--converge-settle 0`, plus the engine's own time per phase.
2. Side by side on the same cluster, with the same prober churning connections (random
   pairs: `erlang:disconnect_node` + `net_kernel:connect_node`, run by the nodes):
   the usual approach (write the new cookie, restart the nodes one by one) against
   `erlcookie rotate`. Counted: the prober's failed attempts, and every refused handshake
   the nodes logged (`global` and the nodes' own reconnects included).

    .venv/bin/python benchmarks/bench_rotate.py                 # 10 and 50 nodes, compare on 10
    .venv/bin/python benchmarks/bench_rotate.py --sizes 10 --repeat 5 --compare 6

Nodes are named `<prefix>-<i>@127.0.0.1`, get their cookie from a 0400 file in a private
HOME, and share the host's EPMD. Results go to stdout as Markdown and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from erlcookie.cookie.generate import generate  # noqa: E402
from tests.support.rotate_cluster import LocalCluster, Prober, write_cookie  # noqa: E402

private = write_cookie


def rotate_cli(work: Path, seed: str, old, new, settle: float) -> tuple[float, dict]:
    """One `erlcookie rotate` process; (wall seconds, engine seconds per phase)."""
    old_file = private(work / "old", old)
    new_file = private(work / "new", new)
    journal = work / "journal.json"
    if journal.exists():
        journal.unlink()
    cmd = [
        sys.executable,
        "-m",
        "erlcookie",
        "rotate",
        "--nodes",
        seed,
        "--cookie-file",
        str(old_file),
        "--new-cookie-file",
        str(new_file),
        "--persist-file",
        str(work / "store"),
        "--journal",
        str(journal),
        "--converge-settle",
        str(settle),
        "--json",
    ]
    began = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"rotate failed ({proc.returncode}): {proc.stderr[-600:]}")
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    starts: dict[str, float] = {}
    phases: dict[str, float] = {}
    for e in events:
        if e["event"] == "phase" and e["status"] == "start":
            starts[e["phase"]] = e["ts"]
        elif e["event"] == "phase" and e["status"] == "done" and e["phase"] in starts:
            phases[e["phase"]] = round(e["ts"] - starts[e["phase"]], 3)
    first = min(e["ts"] for e in events if "ts" in e)
    last = max(e["ts"] for e in events if "ts" in e)
    phases["engine_total"] = round(last - first, 3)
    return wall, phases


def bench_wall(size: int, repeat: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-rotate-"))
    cookie = generate("elixir")
    t0 = time.perf_counter()
    with LocalCluster(cookie, size) as cluster:
        started = time.perf_counter() - t0
        seed = cluster.names[0]
        out: dict = {"nodes": size, "cluster_start_s": round(started, 1), "runs": {}}
        for settle in (1.0, 0.0):
            walls, phases = [], []
            for _ in range(repeat):
                new = generate("elixir")
                wall, phase = rotate_cli(work, seed, cookie, new, settle)
                walls.append(wall)
                phases.append(phase)
                cookie = new
            out["runs"][f"settle={settle:g}"] = {
                "wall_s": [round(w, 2) for w in walls],
                "median_s": round(statistics.median(walls), 2),
                "phases_median_s": {
                    k: round(statistics.median(p[k] for p in phases), 3) for k in phases[0]
                },
            }
    return out


def rejections(cluster) -> int:
    return sum(1 for _, who in cluster.rejections() if not who.startswith("erlcookie-"))


def bench_compare(size: int, churn_after: float = 1.0) -> dict:
    from erlcookie.rotate import run

    work = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    c0, c1, c2 = generate("elixir"), generate("elixir"), generate("elixir")
    out: dict = {"nodes": size}
    with LocalCluster(c0, size) as cluster:
        store = private(work / "store", c0)
        # -- the usual approach: new cookie in the store, restart the nodes one by one
        prober = Prober(
            cluster, {"old": c0, "new": c1}, workers=2, fresh_interval=None, seed=5, reconnect=True
        ).start()
        time.sleep(1.0)
        began = time.perf_counter()
        private(store, c1)
        lost_logs = 0
        for name in list(cluster.names):
            prober.pool.remove(name)  # attempts to a node that is down are not counted
            lost_logs += sum(
                1
                for n, who in cluster.rejections()
                if n == name and not who.startswith("erlcookie-")
            )
            cluster.restart(name, c1)
            prober.pool.append(name)
        took = time.perf_counter() - began
        time.sleep(churn_after)
        stats = prober.stop()
        out["restart_one_by_one"] = {
            "seconds": round(took, 2),
            "prober_attempts": stats.churn_ok + len(stats.churn_failed),
            "prober_failed": len(stats.churn_failed),
            "refused_handshakes_logged": rejections(cluster) + lost_logs,
            "prober_errors": len(stats.errors),
        }
        # -- erlcookie rotate on the same cluster, same prober
        before = rejections(cluster)
        prober = Prober(
            cluster, {"old": c1, "new": c2}, workers=2, fresh_interval=None, seed=5
        ).start()
        time.sleep(1.0)
        began = time.perf_counter()
        settings = {
            "discovery": {"nodes": [cluster.names[0]]},
            "persist": {"kind": "file", "path": str(store)},
            "converge_settle": 0.0,
        }
        import asyncio

        outcome = asyncio.run(
            run.start(settings, {"old": c1, "new": c2}, work / "j.json", emit=lambda **e: None)
        )
        took = time.perf_counter() - began
        time.sleep(churn_after)
        stats = prober.stop()
        out["erlcookie_rotate"] = {
            "status": outcome.status,
            "seconds": round(took, 2),
            "prober_attempts": stats.churn_ok + len(stats.churn_failed),
            "prober_failed": len(stats.churn_failed),
            "refused_handshakes_logged": rejections(cluster) - before,
            "prober_errors": len(stats.errors),
            "slowest_reconnect_ms": round(stats.slowest * 1000, 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--compare",
        type=int,
        default=10,
        help="cluster size for the side-by-side comparison (0 to skip)",
    )
    args = parser.parse_args()
    results = {
        "cores": os.cpu_count(),
        "loadavg_before": os.getloadavg()[0],
        "wall": [],
        "compare": None,
    }
    for size in [int(s) for s in args.sizes.split(",") if s]:
        results["wall"].append(bench_wall(size, args.repeat))
        print(json.dumps(results["wall"][-1]), file=sys.stderr)
    if args.compare:
        results["compare"] = bench_compare(args.compare)
    results["loadavg_after"] = os.getloadavg()[0]
    print(
        "| nodes | settle | wall time per `erlcookie rotate` process (s) | median | engine median (s) |"
    )
    print("|---|---|---|---|---|")
    for item in results["wall"]:
        for key, run in item["runs"].items():
            print(
                f"| {item['nodes']} | {key.split('=')[1]} s | {', '.join(map(str, run['wall_s']))} "
                f"| {run['median_s']} | {run['phases_median_s']['engine_total']} |"
            )
    if results["compare"]:
        c = results["compare"]
        print()
        print(
            f"| approach ({c['nodes']} nodes) | time (s) | prober attempts | prober failed | "
            "refused handshakes logged |"
        )
        print("|---|---|---|---|---|")
        for key in ("restart_one_by_one", "erlcookie_rotate"):
            r = c[key]
            print(
                f"| {key} | {r['seconds']} | {r['prober_attempts']} | {r['prober_failed']} | "
                f"{r['refused_handshakes_logged']} |"
            )
    print()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
