"""What real Erlang services started by hand in the tests share (RabbitMQ, ejabberd).

Each runs as its Debian package's service user, from folders under one private base
directory outside pytest's root-only tmp tree (the service user must reach them), with
a HOME whose `.erlang.cookie` (0400, owned by the service) both the servers and the
service's CLI tools read, as on a host where /var/lib/<service>/.erlang.cookie serves both.
Cookies are written to that file, never put on a command line.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from erlcookie.cookie.value import Cookie

# What a node logs when it refuses a handshake (OTP's dist_util), with the peer's name.
REFUSAL = re.compile(
    r"Connection attempt from (?:disallowed )?node :?[\"']?([^\"' ]+)[\"']? rejected"
)
BASE_PATH = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"


def account(user: str) -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def write_service_cookie(path: Path, cookie: Cookie, user: str) -> None:
    """The service's cookie file as its package makes it: 0400, owned by the service."""
    uid, gid = account(user) or (0, 0)
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    try:
        os.write(fd, cookie.reveal().encode("ascii"))
        os.fchown(fd, uid, gid)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def private_base(prefix: str, user: str) -> tuple[Path, Path]:
    """(base, home): a fresh base directory for one cluster and the shared HOME in it."""
    uid, gid = account(user) or (0, 0)
    base = Path(tempfile.mkdtemp(prefix=f"erlcookie-{prefix}-"))
    os.chmod(base, 0o755)
    os.chown(base, uid, gid)
    home = base / "home"
    home.mkdir(mode=0o700)
    os.chown(home, uid, gid)
    return base, home


def chown_tree(path: Path, user: str) -> None:
    uid, gid = account(user) or (0, 0)
    for p in [path, *path.rglob("*")]:
        os.chown(p, uid, gid)


def as_user(user: str, env: dict[str, str], *argv: str) -> list[str]:
    """argv that runs `argv` as `user` with exactly `env` (no cookie in it)."""
    return ["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv]


def run_tool(
    argv: list[str], *, cwd: Path, timeout: float, check: bool, what: str
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=str(cwd))
    except subprocess.TimeoutExpired as exc:
        if check:
            raise RuntimeError(f"{what} timed out") from exc
        return subprocess.CompletedProcess(exc.cmd, 124, "", "timed out")
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{what} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-800:]}"
        )
    return result


def stop_process_group(proc: subprocess.Popen | None, timeout: float = 30.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_unregistered(alive: str, timeout: float = 20.0) -> None:
    """Until EPMD no longer lists `alive` (a stopped VM's name lingers a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = subprocess.run(["epmd", "-names"], capture_output=True, text=True, timeout=10)
        if f"name {alive} at port" not in names.stdout:
            return
        time.sleep(0.2)
    raise RuntimeError(f"EPMD still lists {alive} {timeout:.0f} s after it was stopped")


def refusals(log_text: str) -> list[str]:
    """Peers whose handshake a node refused, from its own log."""
    return REFUSAL.findall(log_text)


class CliLoop:
    """A readiness probe's load: the service's CLI against each node in turn, for as long
    as it runs. Each call is recorded with its start time, so a failure can be set against
    the rotation's timeline and the nodes' logs."""

    def __init__(
        self,
        names: Sequence[str],
        probe: Callable[[str], subprocess.CompletedProcess[str]],
        *,
        interval: float = 0.2,
        limit: int = 100_000,
    ) -> None:
        self.names = list(names)
        self.probe = probe
        self.interval = interval
        self.limit = limit
        self.calls: list[tuple[float, str, int, str]] = []  # (start, node, exit code, stderr)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cli-loop", daemon=True)

    def _run(self) -> None:
        for i in range(self.limit):
            if self._stop.is_set():
                break
            node = self.names[i % len(self.names)]
            started = time.time()
            result = self.probe(node)
            self.calls.append(
                (
                    started,
                    node,
                    result.returncode,
                    (result.stderr or result.stdout or "").strip()[-300:],
                )
            )
            self._stop.wait(self.interval)

    @property
    def failures(self) -> list[tuple[float, str, int, str]]:
        return [c for c in self.calls if c[2] != 0]

    def __enter__(self) -> CliLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(120)


class ServiceCluster:
    """What a cluster of one service's nodes shares: its private base and HOME, the cookie
    file, node lookup, the CLI's environment, refusals between members, restart and stop.
    Subclasses set USER, make `self.nodes` (objects with name/start/wait_started/stop/
    refusals) and join them."""

    USER = ""

    def _prepare(self, cookie: Cookie, prefix: str) -> None:
        self.prefix = prefix
        self.base, self.home = private_base(prefix, self.USER)
        write_service_cookie(self.cookie_file, cookie, self.USER)
        self.nodes: list = []

    def _boot(self, join: Callable[[], None]) -> None:
        try:
            for node in self.nodes:
                node.start()
            for node in self.nodes:
                node.wait_started()
            join()
        except BaseException:
            self.stop()
            raise

    @property
    def cookie_file(self) -> Path:
        return self.home / ".erlang.cookie"

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def node(self, name: str):
        return next(n for n in self.nodes if n.name == name)

    def cli_env(self) -> dict[str, str]:
        return {
            "PATH": BASE_PATH.split("=", 1)[1],
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }

    def refusals_between_members(self) -> list[tuple[str, str]]:
        """(refusing node, refused peer) for every refused handshake between servers."""
        members = set(self.names)
        return [(n.name, peer) for n in self.nodes for peer in n.refusals() if peer in members]

    def restart(self, name: str) -> None:
        """Stop a node and start it again from the (persisted) cookie file."""
        node = self.node(name)
        node.stop()
        wait_unregistered(name.split("@", 1)[0])  # else the new VM finds its name in use
        node.start()
        node.wait_started()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
