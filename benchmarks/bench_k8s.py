"""Benchmarks for `erlcookie k8s`: start-up, manifests against kubectl, inject on a large
Helm stream, status against the local API server. Prints a Markdown report.

    .venv/bin/python benchmarks/bench_k8s.py --runs 15
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ERLCOOKIE = str(ROOT / ".venv" / "bin" / "erlcookie")


def timed(argv, runs, **kwargs) -> tuple[list[float], list[float]]:
    """(wall times, CPU times of the child) of `runs` runs. CPU time is what the command
    costs; wall time on a shared, loaded machine adds waiting for a core."""
    import resource

    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, **kwargs)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{argv[:4]} failed: {done.stderr.decode()[:300]}")
    return wall, cpu


def row(label, samples) -> str:
    wall, cpu = ([s * 1000 for s in part] for part in samples)
    return (
        f"| {label} | {statistics.median(wall):.0f} ms | {min(wall):.0f} ms | "
        f"{statistics.median(cpu):.0f} ms |"
    )


def helm_stream(workloads: int, distinct: bool = True) -> str:
    docs = []
    for i in range(workloads):
        docs.append(f"""---
# Source: big/templates/cm-{i}.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{i}
data:
  key: "value {i}"   # untouched
---
# Source: big/templates/deploy-{i}.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels:
    app.kubernetes.io/name: app-{i}
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: app-{i}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-{i}
    spec:
      containers:
        - name: app
          image: "registry.example.com/app:{i}"
          env:
            - name: RELEASE_COOKIE
              value: "literal-cookie-number-{i if distinct else 0:04d}-xxxxxxxx"
            - name: PORT
              value: "4000"
""")
    return "".join(docs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--workloads", type=int, default=250)
    args = parser.parse_args()
    runs = args.runs
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cookie = tmp / "cookie"
        fd = os.open(cookie, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"Bench-Cookie-0123456789abcdefghijklmnop")
        os.close(fd)
        env = {**os.environ, "KUBECONFIG": "/dev/null"}

        lines += [
            "## Start-up and manifests",
            "",
            "| command | wall median | wall min | CPU median |",
            "|---|---|---|---|",
        ]
        lines.append(row("`erlcookie --help`", timed([ERLCOOKIE, "--help"], runs)))
        lines.append(row("`erlcookie k8s --help`", timed([ERLCOOKIE, "k8s", "--help"], runs)))
        lines.append(
            row(
                "`erlcookie k8s secret --cookie-file F` (manifest to stdout)",
                timed([ERLCOOKIE, "k8s", "secret", "--cookie-file", str(cookie)], runs),
            )
        )
        lines.append(
            row(
                "`kubectl create secret generic erlang-cookie --from-file=cookie=F --dry-run=client -o yaml`",
                timed(
                    [
                        "kubectl",
                        "create",
                        "secret",
                        "generic",
                        "erlang-cookie",
                        f"--from-file=cookie={cookie}",
                        "--dry-run=client",
                        "-o",
                        "yaml",
                    ],
                    runs,
                    env=env,
                ),
            )
        )
        lines.append(
            row(
                "`erlcookie k8s netpol -l app=x --dist-port 9100-9105`",
                timed(
                    [ERLCOOKIE, "k8s", "netpol", "-l", "app=x", "--dist-port", "9100-9105"], runs
                ),
            )
        )

        stream = tmp / "big.yaml"
        stream.write_text(helm_stream(args.workloads, distinct=False))
        distinct = tmp / "distinct.yaml"
        distinct.write_text(helm_stream(args.workloads, distinct=True))
        size = stream.stat().st_size
        lines += [
            "",
            f"## inject on a Helm stream: {2 * args.workloads} documents, {size // 1024} KiB "
            f"({args.workloads} Deployments with a literal cookie, {args.workloads} untouched ConfigMaps)",
            "",
            "| command | wall median | wall min | CPU median |",
            "|---|---|---|---|",
        ]
        lines.append(
            row(
                "`erlcookie k8s inject big.yaml` (one cookie repeated: prints the result)",
                timed([ERLCOOKIE, "k8s", "inject", str(stream)], max(3, runs // 3)),
            )
        )
        lines.append(
            row(
                f"`erlcookie k8s inject distinct.yaml` ({args.workloads} different cookies: "
                f"{args.workloads} scrypt fingerprints)",
                timed([ERLCOOKIE, "k8s", "inject", str(distinct)], 3),
            )
        )
        edited = subprocess.run(
            [ERLCOOKIE, "k8s", "inject", str(stream)], capture_output=True
        ).stdout
        done = tmp / "done.yaml"
        done.write_bytes(edited)
        lines.append(
            row(
                "`erlcookie k8s inject --check done.yaml` (already wired: parse only)",
                timed([ERLCOOKIE, "k8s", "inject", "--check", str(done)], max(3, runs // 3)),
            )
        )

        from tests.support.kube_api import KubeApiServer

        with KubeApiServer() as kube:
            kube.namespaces.add("bench")
            kubeconfig = kube.write_kubeconfig(tmp / "kc", namespace="bench")
            env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
            subprocess.run(
                [ERLCOOKIE, "k8s", "secret", "--apply", "--cookie-file", str(cookie)],
                env=env,
                check=True,
                capture_output=True,
            )
            for i in range(10):
                kube.add(
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {"name": f"app-{i}", "labels": {"app": "bench"}},
                        "spec": {
                            "replicas": 5,
                            "selector": {"matchLabels": {"app": "bench", "n": str(i)}},
                            "template": {
                                "metadata": {"labels": {"app": "bench", "n": str(i)}},
                                "spec": {
                                    "containers": [
                                        {
                                            "name": "app",
                                            "image": "i",
                                            "env": [
                                                {
                                                    "name": "RELEASE_COOKIE",
                                                    "valueFrom": {
                                                        "secretKeyRef": {
                                                            "name": "erlang-cookie",
                                                            "key": "cookie",
                                                        }
                                                    },
                                                }
                                            ],
                                        }
                                    ]
                                },
                            },
                        },
                    },
                    namespace="bench",
                )
            pods = len(kube.objects("Pod", "bench"))
            lines += [
                "",
                f"## status and apply against the local API server (HTTP on loopback; 10 Deployments, "
                f"{pods} pods)",
                "",
                "| command | wall median | wall min | CPU median |",
                "|---|---|---|---|",
            ]
            samples = timed(
                [ERLCOOKIE, "k8s", "status", "-l", "app=bench", "--json"], runs, env=env
            )
            report = json.loads(
                subprocess.run(
                    [ERLCOOKIE, "k8s", "status", "-l", "app=bench", "--json"],
                    env=env,
                    capture_output=True,
                ).stdout
            )
            assert report["ok"], report["findings"][:3]
            lines.append(row("`erlcookie k8s status -l app=bench --json` (8 requests)", samples))
            lines.append(
                row(
                    "`erlcookie k8s secret --apply` (exists: 1 GET)",
                    timed(
                        [ERLCOOKIE, "k8s", "secret", "--apply", "--cookie-file", str(cookie)],
                        runs,
                        env=env,
                    ),
                )
            )
        lines.append(
            row(
                "floor: `python -c 'import kubernetes.client'`",
                timed([sys.executable, "-c", "import kubernetes.client"], runs),
            )
        )
    load = os.getloadavg()[0]
    print(
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} CPUs (load average {load:.1f}), "
        f"Python {sys.version.split()[0]}, `{' '.join(sys.argv)}`.\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
