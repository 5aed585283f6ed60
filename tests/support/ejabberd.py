"""Real ejabberd clusters (Debian's ejabberd 23.01) started by hand on loopback ports.

    with EjabberdCluster(cookie, size=2) as ej:
        ej.ctl(ej.names[0], "list_cluster")

Each node runs `ejabberdctl foreground` as the `ejabberd` user with its own spool, logs
and configuration (a c2s listener on a free 127.0.0.1 port); no systemd. The nodes share
one HOME whose cookie file servers and `ejabberdctl` (a hidden node per call) read: see
service_nodes.py. Nodes after the first join with `ejabberdctl join_cluster`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time

from erlcookie.cookie.value import Cookie
from tests.support import service_nodes as svc
from tests.support.nodes import ensure_epmd, free_port

EJABBERDCTL = "/usr/sbin/ejabberdctl"
USER = "ejabberd"
START_TIMEOUT = 90.0
CTL_TIMEOUT = 60.0

CONFIG = """\
hosts: [localhost]
loglevel: info
listen:
  - port: {port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
modules: {{}}
"""


def available() -> bool:
    return os.path.exists(EJABBERDCTL) and svc.account(USER) is not None and os.geteuid() == 0


class EjabberdNode:
    def __init__(self, cluster: EjabberdCluster, index: int) -> None:
        self.cluster = cluster
        self.name = f"{cluster.prefix}-{index}@localhost"
        self.base = cluster.base / f"n{index}"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def args(self) -> list[str]:
        conf = self.base / "conf"
        return [
            "--node",
            self.name,
            "--spool",
            str(self.base / "spool"),
            "--logs",
            str(self.base / "logs"),
            "--config",
            str(conf / "ejabberd.yml"),
            "--ctl-config",
            str(conf / "ejabberdctl.cfg"),
            "--config-dir",
            str(conf),
        ]

    def start(self) -> None:
        conf = self.base / "conf"
        for sub in ("spool", "logs", "conf"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (conf / "ejabberd.yml").write_text(CONFIG.format(port=self.port))
        (conf / "ejabberdctl.cfg").write_text("")  # not the package's (systemd paths)
        (conf / "inetrc").write_text("")
        svc.chown_tree(self.base, USER)
        out = open(self.base / "server.out", "ab")
        self.proc = subprocess.Popen(
            svc.as_user(USER, self.cluster.cli_env(), EJABBERDCTL, *self.args(), "foreground"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            cwd=str(self.base),
        )
        out.close()

    def wait_started(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_text()[-2000:]}")
            if self.cluster.ctl(self.name, "status", check=False, timeout=15).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not start in {timeout:.0f} s")

    def log_text(self) -> str:
        texts = []
        for name in ("server.out", "logs/ejabberd.log", "logs/error.log"):
            try:
                texts.append((self.base / name).read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(texts)

    def refusals(self) -> list[str]:
        try:
            return svc.refusals((self.base / "logs" / "ejabberd.log").read_text(errors="replace"))
        except OSError:
            return []

    def stop(self) -> None:
        svc.stop_process_group(self.proc)


class EjabberdCluster(svc.ServiceCluster):
    USER = USER

    def __init__(self, cookie: Cookie, *, size: int = 2, prefix: str | None = None) -> None:
        if not available():
            raise RuntimeError("ejabberd (Debian package) is not installed, or not root")
        ensure_epmd()
        self._prepare(cookie, prefix or f"ej{secrets.token_hex(3)}")
        self.nodes = [EjabberdNode(self, i) for i in range(1, size + 1)]
        self._boot(self._join)

    def _join(self) -> None:
        for name in self.names[1:]:
            self.ctl(name, "join_cluster", self.names[0])

    def ctl(
        self, node: str, *args: str, check: bool = True, timeout: float = CTL_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """`ejabberdctl` as the service's user, reading the cookie from the shared HOME."""
        argv = svc.as_user(USER, self.cli_env(), EJABBERDCTL, *self.node(node).args(), *args)
        return svc.run_tool(
            argv,
            cwd=self.base,
            timeout=timeout,
            check=check,
            what=f"ejabberdctl {' '.join(args)} on {node}",
        )

    def cluster_nodes(self, node: str | None = None) -> list[str]:
        out = self.ctl(node or self.names[0], "list_cluster").stdout
        return sorted(line.strip().strip("'") for line in out.splitlines() if "@" in line)
