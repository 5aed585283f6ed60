"""Issue 2 benchmarks: predictability-check throughput and process start time.

Run: .venv/bin/python benchmarks/bench_audit.py
Prints figures; targets: thousands of cookies per second on one core; `erlcookie --help`
and `erlcookie audit` under 150 ms (side by side with a bare `python -c pass`).
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from erlcookie.audit import audit_text
from erlcookie.audit.otp_generator import otp_cookie, recover

BIN = Path(sys.executable).parent


def throughput(label, cookies, fn):
    start = time.perf_counter()
    for c in cookies:
        fn(c)
    elapsed = time.perf_counter() - start
    print(
        f"{label:<48} {len(cookies) / elapsed:>10.0f} cookies/s  ({len(cookies)} in {elapsed:.2f} s)"
    )


def wall(cmd, env, runs=15):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main():
    rng = random.Random(7)
    recover("A" * 20)  # build lattice tables once, as a long-running scanner would
    otp = [otp_cookie(rng.getrandbits(36)) for _ in range(5000)]
    rand = ["".join(secrets.choice(string.ascii_uppercase) for _ in range(20)) for _ in range(5000)]
    print("== predictability check (one core) ==")
    throughput("OTP-generated cookies (recover + prove)", otp, recover)
    throughput("random 20-letter cookies (reject)", rand, recover)
    throughput("full audit of random 20-letter cookies", rand, audit_text)

    # issue 14: human-chosen cookies are judged by zxcvbn behind a cheap word screen
    from erlcookie.audit.guessable import estimate
    from erlcookie.cookie.generate import STYLES, generate

    estimate("warm-up-the-word-lists")
    print("\n== guessability (word screen, zxcvbn when it looks composed) ==")
    for style in sorted(STYLES):
        values = [generate(style).reveal() for _ in range(2000)]
        throughput(f"full audit of random {style}-style cookies", values, audit_text)
    words = ["secret", "erlang", "cookie", "rabbit", "cluster", "shop", "prod", "monster", "demo"]
    human = [
        f"{rng.choice(words)}-{rng.choice(words)}-{rng.choice(words)}{rng.randint(0, 99)}"
        for _ in range(500)
    ]
    throughput("full audit of human-chosen cookies (zxcvbn)", human, audit_text)

    print("\n== process start, median of 15 ==")
    with tempfile.TemporaryDirectory() as home:
        Path(home, ".erlang.cookie").write_text(secrets.token_urlsafe(40))
        os.chmod(Path(home, ".erlang.cookie"), 0o400)
        env = {**os.environ, "HOME": home}
        env.pop("RELEASE_COOKIE", None)
        bare = wall([sys.executable, "-c", "pass"], env)
        hlp = wall([BIN / "erlcookie", "--help"], env)
        aud = wall([BIN / "erlcookie", "audit"], env)
    print(f"{'python -c pass (floor)':<48} {bare:>8.1f} ms")
    print(f"{'erlcookie --help':<48} {hlp:>8.1f} ms  ({hlp / bare:.1f}x the bare interpreter)")
    print(
        f"{'erlcookie audit (incl. 40 ms scrypt fingerprint)':<48} {aud:>8.1f} ms  ({aud / bare:.1f}x)"
    )
    with tempfile.TemporaryDirectory() as home:
        Path(home, ".erlang.cookie").write_text("secret-erlang-cookie")
        os.chmod(Path(home, ".erlang.cookie"), 0o400)
        env = {**os.environ, "HOME": home}
        env.pop("RELEASE_COOKIE", None)
        weak = wall([BIN / "erlcookie", "audit"], env)
    print(
        f"{'erlcookie audit of a human-chosen cookie (zxcvbn)':<48} {weak:>8.1f} ms  "
        f"({weak / bare:.1f}x)"
    )


if __name__ == "__main__":
    main()
