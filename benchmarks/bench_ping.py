"""Benchmark `erlcookie ping` against Erlang's own way of asking the same question.

    .venv/bin/python benchmarks/bench_ping.py [--runs 15] [--fanout 50] [--out benchmarks/results-dist.md]

1. One local node: a whole `erlcookie ping NODE` process vs a whole
   `erl -noshell -sname probe -eval 'net_adm:ping(NODE), halt().'` (the fair peer: halt(),
   not init:stop()). Runs alternate so machine noise hits both alike; medians and minima.
2. Fan-out over N local nodes: one `erlcookie ping` process for all of them vs one erl VM
   that pings all of them (one start, one handshake per node).
Both probes read the cookie from a file (erl from a private HOME), never from argv.
Needs epmd, erl, and the tests' node launcher (run from the repository root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from erlcookie.cookie.generate import generate  # noqa: E402
from erlcookie.distribution.client import ping_many  # noqa: E402
from tests.support.nodes import launch, launch_many, write_cookie_file  # noqa: E402

ERLCOOKIE = str(Path(sys.executable).with_name("erlcookie"))


def python_env(cached: bool, cache_dir: Path) -> dict:
    """erlcookie's environment: with a bytecode cache (as after any pip install) or without
    one (PYTHONDONTWRITEBYTECODE=1, as in some sandboxes: every module compiled each run)."""
    env = dict(os.environ)
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return took, done.stdout


def erl_probe(home: Path, nodes: list[str], tag: str) -> list[str]:
    names = ",".join(f"'{n}'" for n in nodes)
    expr = f'R = [net_adm:ping(N) || N <- [{names}]], io:format("~p~n", [lists:usort(R)]), halt().'
    return ["erl", "-noshell", "-sname", f"probe{tag}", "-eval", expr]


def stats(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples) * 1000:.0f} ms, "
        f"min {min(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--fanout", type=int, default=50)
    parser.add_argument("--fanout-runs", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results-dist.md"))
    args = parser.parse_args()

    cookie = generate("elixir")
    work = Path(tempfile.mkdtemp(prefix="erlcookie-bench-"))
    os.chmod(work, 0o700)
    cookie_file = work / "cookie"
    fd = os.open(cookie_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(cookie.reveal())
    home = work / "home"
    home.mkdir()
    write_cookie_file(home, cookie)
    erl_env = {"PATH": os.environ["PATH"], "HOME": str(home)}

    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    cached_env = python_env(True, work / "pycache")
    cold_env = python_env(False, work / "pycache")
    target = launch(cookie)
    try:
        ping_cmd = [ERLCOOKIE, "ping", target.name, "--cookie-file", str(cookie_file)]
        # warm caches (bytecode, page cache for erl and python), then alternate
        timed(ping_cmd, cached_env)
        timed(erl_probe(home, [target.name], "warm"), erl_env)
        ours, ours_cold, theirs = [], [], []
        for i in range(args.runs):
            t, out = timed(ping_cmd, cached_env)
            assert "accepted" in out, out
            ours.append(t)
            t, out = timed(erl_probe(home, [target.name], str(i)), erl_env)
            assert "pong" in out, out
            theirs.append(t)
            t, out = timed(ping_cmd, cold_env)
            assert "accepted" in out, out
            ours_cold.append(t)
        bare = [
            timed([sys.executable, "-c", "import click"], cached_env)[0] for _ in range(args.runs)
        ]
        inproc = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = asyncio.run(ping_many([target.name], cookie))[0]
            assert result.accepted
            inproc.append(time.perf_counter() - started)
    finally:
        target.stop()

    ratio_median = statistics.median(theirs) / statistics.median(ours)
    ratio_min = min(theirs) / min(ours)
    say("# Distribution benchmarks (erlcookie ping)")
    say()
    say(
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}: {os.cpu_count()} CPUs "
        f"(shared with other work; load average {os.getloadavg()[0]:.1f} at the start), "
        f"Python {platform.python_version()}, OTP 25 (Debian). Command: "
        f"`.venv/bin/python benchmarks/bench_ping.py --runs {args.runs} --fanout {args.fanout}`."
    )
    say()
    say("## One local node, whole process against whole process")
    say()
    say(f"{args.runs} runs each, alternating; the cookie is read from a file by both.")
    say()
    say("| probe | wall time |")
    say("|---|---|")
    say(f"| `erlcookie ping NODE` (bytecode cached, as installed) | {stats(ours)} |")
    say(
        f"| `erlcookie ping NODE` (PYTHONDONTWRITEBYTECODE=1: compiles every run) | {stats(ours_cold)} |"
    )
    say(f"| `erl -noshell -sname probe -eval 'net_adm:ping(NODE), halt().'` | {stats(theirs)} |")
    say(f"| in-process `ping()` (EPMD lookup + handshake, no process start) | {stats(inproc)} |")
    say(
        f"| floor: `python -c 'import click'` (interpreter + click, nothing of ours) | {stats(bare)} |"
    )
    say()
    say(
        f"Ratio (erl / erlcookie, bytecode cached): **{ratio_median:.1f}x** by median, "
        f"{ratio_min:.1f}x by minimum; without a bytecode cache "
        f"{statistics.median(theirs) / statistics.median(ours_cold):.1f}x by median."
    )
    say()

    nodes = launch_many(cookie, args.fanout)
    try:
        names = [n.name for n in nodes]
        ours_f, theirs_f = [], []
        for i in range(args.fanout_runs):
            t, out = timed(
                [ERLCOOKIE, "ping", *names, "--cookie-file", str(cookie_file), "--json"], cached_env
            )
            assert out.count('"accepted"') >= args.fanout, out[-500:]
            ours_f.append(t)
            t, out = timed(erl_probe(home, names, f"f{i}"), erl_env)
            assert out.strip() == "[pong]", out
            theirs_f.append(t)
        inproc_f = []
        for _ in range(args.fanout_runs):
            started = time.perf_counter()
            results = asyncio.run(ping_many(names, cookie, concurrency=64))
            assert all(r.accepted for r in results)
            inproc_f.append(time.perf_counter() - started)
    finally:
        for node in nodes:
            node.stop()

    say(f"## Fan-out: {args.fanout} local nodes in one call")
    say()
    say(f"{args.fanout_runs} runs each, alternating.")
    say()
    say("| probe | wall time |")
    say("|---|---|")
    say(
        f"| `erlcookie ping N1 ... N{args.fanout}` (one process, concurrency 64) | {stats(ours_f)} |"
    )
    say(
        f"| one `erl` VM running `[net_adm:ping(N) \\|\\| N <- Nodes]`, then `halt()` | {stats(theirs_f)} |"
    )
    say(f"| in-process `ping_many()` | {stats(inproc_f)} |")
    say()
    say(
        f"Target under 1 s: {'met' if statistics.median(ours_f) < 1 else 'NOT met'} "
        f"(median {statistics.median(ours_f):.2f} s). Ratio (erl / erlcookie): "
        f"{statistics.median(theirs_f) / statistics.median(ours_f):.1f}x by median."
    )
    say()
    say("## Reading these numbers")
    say()
    say(
        f"- The handshake itself takes {statistics.median(inproc) * 1000:.0f} ms in-process; "
        f"the rest of a one-node `erlcookie ping` process is Python start-up and imports. The "
        f"interpreter plus click alone take {statistics.median(bare) * 1000:.0f} ms (median), "
        f"so any click-based CLI is at most about "
        f"{statistics.median(theirs) / statistics.median(bare):.1f}x faster than `erl` here, "
        f"whatever it does. The issue's 30x came from `init:stop()` (about 1.2 s); against "
        f"the fair `halt()` it cannot be met, and 5x is out of reach while the CLI loads click "
        f"and the shared option/resolver modules before running the command."
    )
    say(
        "- A single node goes through a blocking driver (no asyncio/ssl import); many "
        "nodes share one asyncio loop, so the per-node cost is the handshake, not a process."
    )
    say(
        "- The machine is shared with other engineers' test runs: compare the two columns "
        "of one run (they alternate), not runs from different times."
    )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
