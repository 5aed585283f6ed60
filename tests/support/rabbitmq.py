"""Real RabbitMQ clusters (Debian's rabbitmq-server) started by hand on loopback ports.

    with RabbitCluster(cookie, size=3) as rmq:
        rmq.ctl(rmq.names[0], "cluster_status", "--formatter", "json")

Every node runs as the `rabbitmq` user from its own mnesia and log folders, on free AMQP
and distribution ports bound to 127.0.0.1; no systemd. All nodes share one HOME whose
cookie file the servers and the CLI tools (`rabbitmqctl`, `rabbitmq-diagnostics`, which
start hidden nodes) read: see service_nodes.py.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

from erlcookie.cookie.value import Cookie
from tests.support import service_nodes as svc
from tests.support.nodes import ensure_epmd, free_port

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
USER = "rabbitmq"
START_TIMEOUT = 90.0
CTL_TIMEOUT = 60.0


def available() -> bool:
    return os.path.exists(RABBITMQ_SERVER) and svc.account(USER) is not None and os.geteuid() == 0


class RabbitNode:
    def __init__(self, cluster: RabbitCluster, index: int) -> None:
        self.cluster = cluster
        self.alive = f"{cluster.prefix}-{index}"
        self.name = f"{self.alive}@localhost"
        self.base = cluster.base / self.alive
        self.amqp_port = free_port()
        self.dist_port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def log_file(self) -> Path:
        return self.base / "log" / f"{self.name}.log"

    def env(self) -> dict[str, str]:
        return {
            **self.cluster.cli_env(),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def start(self) -> None:
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "enabled_plugins").write_text("[].\n")
        svc.chown_tree(self.base, USER)
        out = open(self.base / "server.out", "ab")
        self.proc = subprocess.Popen(
            svc.as_user(USER, self.env(), RABBITMQ_SERVER),
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
                raise RuntimeError(f"{self.name} exited: {self.server_output()[-2000:]}")
            if (
                self.cluster.ctl(
                    self.name, "-q", "await_startup", "--timeout", "5", check=False, timeout=15
                ).returncode
                == 0
            ):
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not start in {timeout:.0f} s")

    def server_output(self) -> str:
        try:
            return (self.base / "server.out").read_text(errors="replace")
        except OSError:
            return ""

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def refusals(self) -> list[str]:
        return svc.refusals(self.log_text())

    def stop(self) -> None:
        svc.stop_process_group(self.proc)


class RabbitCluster(svc.ServiceCluster):
    USER = USER

    def __init__(self, cookie: Cookie, *, size: int = 3, prefix: str | None = None) -> None:
        if not available():
            raise RuntimeError("rabbitmq-server (Debian package) is not installed, or not root")
        ensure_epmd()
        self._prepare(cookie, prefix or f"rmq{secrets.token_hex(3)}")
        self.nodes = [RabbitNode(self, i) for i in range(1, size + 1)]
        self._boot(self._join)

    def ctl(
        self,
        node: str,
        *args: str,
        tool: str = "rabbitmqctl",
        check: bool = True,
        timeout: float = CTL_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """A CLI tool run as the service's user, reading the cookie from the shared HOME."""
        argv = svc.as_user(USER, self.cli_env(), str(RABBITMQ_BIN / tool), "-n", node, *args)
        return svc.run_tool(
            argv,
            cwd=self.base,
            timeout=timeout,
            check=check,
            what=f"{tool} {' '.join(args)} on {node}",
        )

    def _join(self) -> None:
        first = self.names[0]
        for name in self.names[1:]:
            self.ctl(name, "-q", "stop_app")
            self.ctl(name, "-q", "join_cluster", first)
            self.ctl(name, "-q", "start_app")

    def cluster_status(self, node: str | None = None) -> dict:
        out = self.ctl(node or self.names[0], "cluster_status", "--formatter", "json").stdout
        return json.loads(out)


class AmqpTraffic:
    """Publish with publisher confirms to a quorum queue through one node and consume
    with manual acks through another, so a broken cluster shows as unconfirmed or lost
    messages. Uses pika, one connection per thread (pika connections are not shared)."""

    def __init__(
        self, cluster: RabbitCluster, *, queue: str = "erlcookie-rotation", rate: float = 50.0
    ) -> None:
        import threading

        self.cluster = cluster
        self.queue = queue
        self.rate = rate
        self.confirmed: list[int] = []
        self.refused: list[tuple[int, str]] = []  # publishes nacked or failed
        self.received: set[int] = set()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._publisher = threading.Thread(target=self._publish, name="amqp-pub", daemon=True)
        self._consumer = threading.Thread(target=self._consume, name="amqp-sub", daemon=True)

    def _params(self, node: RabbitNode):
        import pika

        return pika.ConnectionParameters(
            host="127.0.0.1",
            port=node.amqp_port,
            heartbeat=30,
            blocked_connection_timeout=30,
            socket_timeout=10,
            connection_attempts=3,
            retry_delay=1,
        )

    def _declare(self, channel) -> None:
        channel.queue_declare(self.queue, durable=True, arguments={"x-queue-type": "quorum"})

    def _publish(self) -> None:
        import pika

        try:
            conn = pika.BlockingConnection(self._params(self.cluster.nodes[0]))
            channel = conn.channel()
            self._declare(channel)
            channel.confirm_delivery()
            self._ready.set()
            seq = 0
            while not self._stop.is_set() and seq < 1_000_000:
                seq += 1
                try:
                    channel.basic_publish(
                        "",
                        self.queue,
                        str(seq).encode(),
                        mandatory=True,
                        properties=pika.BasicProperties(delivery_mode=2),
                    )
                    self.confirmed.append(seq)
                except (pika.exceptions.NackError, pika.exceptions.UnroutableError) as exc:
                    self.refused.append((seq, type(exc).__name__))
                conn.sleep(1.0 / self.rate)
            conn.close()
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on by the test
            self.errors.append(f"publisher: {type(exc).__name__}: {exc}")
            self._ready.set()

    def _consume(self) -> None:
        import pika

        try:
            conn = pika.BlockingConnection(self._params(self.cluster.nodes[-1]))
            channel = conn.channel()
            self._ready.wait(30)
            self._declare(channel)
            channel.basic_qos(prefetch_count=200)
            idle_since = None
            while True:
                for method, _props, body in channel.consume(self.queue, inactivity_timeout=0.5):
                    if method is None:
                        break
                    self.received.add(int(body))
                    channel.basic_ack(method.delivery_tag)
                if self._stop.is_set() and self._published_done.is_set():
                    if set(self.confirmed) <= self.received:
                        break
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > 20:
                        break
            channel.cancel()
            conn.close()
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on by the test
            self.errors.append(f"consumer: {type(exc).__name__}: {exc}")

    @property
    def lost(self) -> list[int]:
        """Confirmed by the broker but never delivered to the consumer."""
        return sorted(set(self.confirmed) - self.received)

    def __enter__(self) -> AmqpTraffic:
        import threading

        self._ready = threading.Event()
        self._published_done = threading.Event()
        self._publisher.start()
        self._consumer.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._publisher.join(60)
        self._published_done.set()
        self._consumer.join(60)
