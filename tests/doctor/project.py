"""The project of issue 15, built for real: a `mix new` app whose mix.exs gives the release
a literal `cookie:`, a `rebar3 new release` app beside it, and a k8s/ folder with a
Deployment setting RELEASE_COOKIE to a literal and pouring in a ConfigMap (envFrom) that
holds ERLANG_COOKIE. All in a git repository with one commit."""

from __future__ import annotations

import re
import secrets
import string
import subprocess
from pathlib import Path

from tests.release.builds import mix_project, rebar3_project


def fresh_cookie() -> str:
    alphabet = string.ascii_letters + string.digits
    return "c" + "".join(secrets.choice(alphabet) for _ in range(31))


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"git {' '.join(args[:2])} failed: {proc.stderr[-500:]}"
    return proc.stdout


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: shop
  labels:
    app: shop
spec:
  replicas: 3
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
    spec:
      initContainers:
        - name: wait
          image: busybox:1.36
          command:
            - sh
            - -c
            - until nslookup shop-headless.shop.svc.cluster.local; do
              sleep 1; done
      containers:
        - name: shop
          image: registry.example.com/shop:1.0.0
          envFrom:
            - configMapRef:
                name: shop-config
          env:
            - name: RELEASE_DISTRIBUTION
              value: name
            - name: RELEASE_COOKIE
              value: "{cookie}"
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
  namespace: shop
data:
  PHX_HOST: shop.example.com
  ERLANG_COOKIE: "{cookie}"
"""


def make_project(parent: Path, home: Path, cookie: str) -> Path:
    """The fixture repository (committed); `cookie` is the literal the cluster runs."""
    root = mix_project(parent, "shop", home)
    mix_exs = root / "mix.exs"
    text = mix_exs.read_text()
    text, n = re.subn(
        r"(      deps: deps\(\))",
        "\\1,\n      releases: [\n        shop: [\n"
        f'          cookie: "{cookie}"\n        ]\n      ]',
        text,
    )
    assert n == 1, text
    mix_exs.write_text(text)
    rebar3_project(root, "billing", home)
    (root / "k8s").mkdir()
    (root / "k8s" / "deployment.yaml").write_text(DEPLOYMENT.replace("{cookie}", cookie))
    (root / "k8s" / "configmap.yaml").write_text(CONFIGMAP.replace("{cookie}", cookie))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "shop")
    return root
