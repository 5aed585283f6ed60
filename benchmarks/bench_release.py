"""How long `erlcookie release check` / `fix --dry-run` take, whole process and in-process.

    .venv/bin/python benchmarks/bench_release.py [--runs 10]

Compares with the fair alternative for reading rebar.config: an `erl -noshell` that only
runs `file:consult/1` and halts. A "big tree" case copies every .ex/.exs/.erl file the
Debian Erlang and Elixir packages ship into one mix project, to show the cost of the
source scan. Fingerprints (scrypt, about 40-50 ms per distinct literal cookie) dominate
small projects by design.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "release" / "fixtures"
ERLCOOKIE = str(Path(sys.executable).parent / "erlcookie")


# As installed: bytecode cached (kept out of the repo with a cache prefix), warmed once.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "erlcookie-bench-pycache")


def timed(cmd: list[str], runs: int) -> tuple[float, float, float]:
    subprocess.run(cmd, capture_output=True, timeout=300, env=ENV)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, timeout=300, env=ENV)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def in_process(path: Path, runs: int) -> tuple[float, float, float]:
    from erlcookie.cookie.fingerprint import _fingerprint_bytes
    from erlcookie.release import check

    times = []
    for _ in range(runs):
        _fingerprint_bytes.cache_clear()
        start = time.perf_counter()
        check(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def big_tree(base: Path) -> Path:
    project = base / "big"
    shutil.copytree(FIXTURES / "mix_several", project)
    vendor = project / "lib" / "vendor"
    vendor.mkdir(parents=True)
    count = 0
    for top in ("/usr/lib/elixir", "/usr/lib/erlang"):
        for dirpath, _, files in os.walk(top):
            for name in files:
                if name.endswith((".ex", ".exs", ".erl")):
                    shutil.copy(os.path.join(dirpath, name), vendor / f"{count}_{name}")
                    count += 1
    return project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rows = []

    def row(label, result):
        med, lo, hi = result
        rows.append(
            f"| {label} | median {med * 1000:.0f} ms, min {lo * 1000:.0f} ms, max {hi * 1000:.0f} ms |"
        )
        print(rows[-1], flush=True)

    row("`erlcookie --help` (floor: interpreter + click)", timed([ERLCOOKIE, "--help"], args.runs))
    for name in ("rebar3_template", "rebar3_commented", "mix_several", "mix_umbrella"):
        row(
            f"`erlcookie release check` {name}",
            timed([ERLCOOKIE, "release", "check", str(FIXTURES / name)], args.runs),
        )
    row(
        "`erlcookie release check` all 16 fixture projects",
        timed([ERLCOOKIE, "release", "check", str(FIXTURES)], args.runs),
    )
    row(
        "`erlcookie release fix --dry-run` rebar3_commented",
        timed(
            [ERLCOOKIE, "release", "fix", "--dry-run", str(FIXTURES / "rebar3_commented")],
            args.runs,
        ),
    )
    row(
        "in-process `check()` rebar3_template (fingerprint cache cleared)",
        in_process(FIXTURES / "rebar3_template", args.runs),
    )
    row(
        "in-process `check()` mix_several (4 distinct literal cookies)",
        in_process(FIXTURES / "mix_several", args.runs),
    )
    if shutil.which("erl"):
        consult = '{ok, _} = file:consult("%s"), halt().' % (
            FIXTURES / "rebar3_commented" / "rebar.config"
        )
        row(
            "peer: `erl -noshell -eval 'file:consult(rebar.config), halt().'`",
            timed(["erl", "-noshell", "-eval", consult], args.runs),
        )
    with tempfile.TemporaryDirectory() as tmp:
        project = big_tree(Path(tmp))
        files = sum(1 for _ in (project / "lib" / "vendor").iterdir())
        row(
            f"`erlcookie release check` big tree ({files} Erlang/Elixir sources)",
            timed([ERLCOOKIE, "release", "check", str(project)], max(3, args.runs // 2)),
        )
    print(
        f"\n{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
