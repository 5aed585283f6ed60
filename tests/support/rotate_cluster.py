"""Real local clusters for the rotation tests and benchmark, and a prober that churns them.

`LocalCluster` starts fully meshed nodes (OTP 25 from the host, OTP 27 from the chroot, or
a mix) under long names `<prefix>-<i>@127.0.0.1` with tests/support/nodes.py: each node
reads its cookie from a 0400 file in a private HOME, never from argv. `views()` reads
every node's own cookie and its cookie for every peer through the node's stdin REPL (an
independent witness, not the distribution client under test) and maps them to labels;
`splits()` lists the pairs that would fail a handshake now.

`Prober` runs in its own thread and event loop, over hidden connections it opened with
the old cookie before the rotation (they stay up when cookies change):
- churn workers: pick a random pair (A, B) of settled members (no node used by two workers
  at once), `erlang:disconnect_node(B)` on A, then `net_kernel:connect_node(B)` on A;
  false counts as a failed attempt;
- a fresh-node worker: read the cookie store (the file the rotation persists to), start a
  node with that cookie, and have it connect to a random original member. A node that
  booted with the old cookie and tries after the switch began is a straddler: it is
  refused until the rotation's converge step adopts it (see docs/rotate.md); such refusals
  are counted apart, and the node must connect once adopted.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from erlcookie.cookie.value import Cookie
from tests.support import nodes as node_support

HOST = "127.0.0.1"
REJECTED_LINE = re.compile(r"Connection attempt from (?:disallowed )?node '?([^' ]+)'? rejected")


def write_cookie(path: Path, cookie: Cookie | str, mode: int = 0o600) -> Path:
    """A private cookie file for a test (atomic, never readable by others for a moment)."""
    from erlcookie.cookie.files import atomic_write

    text = cookie.reveal() if isinstance(cookie, Cookie) else cookie
    return atomic_write(path, text, mode=mode)


def rotate_cli(
    workdir: Path,
    seed: str,
    old: Cookie,
    new: Cookie,
    *extra: str,
    persist: Path | None = None,
    tag: str = "0",
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """`erlcookie rotate --json` as a user runs it, in a child process: cookies from 0600
    files, the new one persisted to `persist` (a fresh store file when not given)."""
    import sys

    store = persist or write_cookie(workdir / f"store-{tag}", old)
    cmd = [
        sys.executable,
        "-m",
        "erlcookie",
        "rotate",
        "--nodes",
        seed,
        "--cookie-file",
        str(write_cookie(workdir / f"old-{tag}", old)),
        "--new-cookie-file",
        str(write_cookie(workdir / f"new-{tag}", new)),
        "--persist-file",
        str(store),
        "--journal",
        str(workdir / f"journal-{tag}.json"),
        "--converge-settle",
        "1.0",
        "--timeout",
        "10",
        "--json",
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if k != "RELEASE_COOKIE"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def assert_no_cookie(text: str, *cookies: Cookie) -> None:
    """Fail, naming fingerprints only, if any of the cookies appears in `text`."""
    found = [c.fingerprint() for c in cookies if c.reveal() in text]
    if found:
        raise AssertionError(f"cookie value(s) {', '.join(found)} appear in the output")


def read_cookie(path: Path) -> Cookie:
    """A cookie file's content as a Cookie, so a failed comparison shows it redacted."""
    return Cookie(Path(path).read_text().rstrip("\r\n"))


def secret_labels(data: dict, cookies: dict[str, Cookie]) -> dict[str, str]:
    """A Secret's data as {key: "old"/"new"/"other"}: assertions on Secrets compare these,
    never the base64 of a cookie."""
    import base64

    out = {}
    for key, value in data.items():
        text = base64.b64decode(value).decode("utf-8", "replace")
        out[key] = next((label for label, c in cookies.items() if c == Cookie(text)), "other")
    return out


def label_of_atom(value, cookies: dict[str, Cookie]) -> str:
    raw = value.value if hasattr(value, "value") else value
    raw = raw if isinstance(raw, bytes) else str(raw).encode()
    for label, cookie in cookies.items():
        if raw == cookie.as_bytes():
            return label
    return "other"


class LocalCluster:
    def __init__(
        self,
        cookie: Cookie,
        size: int,
        *,
        kinds: Sequence[str] = ("otp25",),
        prefix: str | None = None,
        mesh: bool = True,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.prefix = prefix or f"rot{secrets.token_hex(3)}"
        self.extra_args = list(extra_args)  # e.g. TLS distribution flags
        self.cookie = cookie
        self.nodes: dict[str, node_support.TestNode] = {}
        self._fresh = 0
        self._lock = threading.Lock()
        plan = [(f"{self.prefix}-{i}", kinds[i % len(kinds)]) for i in range(size)]
        self._start_many(plan, cookie)
        if mesh:
            self.mesh()

    # -- life cycle ------------------------------------------------------------------------
    def _launch(self, alive: str, kind: str, cookie: Cookie) -> node_support.TestNode:
        kwargs = {}
        from tests.support.otp_roots import CHROOT_KINDS, otp_root

        if kind in CHROOT_KINDS:
            kwargs["otp_root"] = otp_root(kind)
        # Only errors are logged (refused handshakes among them): `global`'s warnings about
        # overlapping partitions would otherwise crowd them out of the bounded log.
        return node_support.launch(
            cookie,
            kind=kind,
            name=alive,
            long_names=True,
            host=HOST,
            extra_args=["-kernel", "logger_level", "error", *self.extra_args],
            **kwargs,
        )

    def _start_many(self, plan, cookie: Cookie) -> None:
        errors = []
        with ThreadPoolExecutor(max_workers=min(len(plan), 8)) as pool:
            futures = {
                pool.submit(self._launch, alive, kind, cookie): alive for alive, kind in plan
            }
            for future, _alive in futures.items():
                try:
                    node = future.result()
                    self.nodes[node.name] = node
                except BaseException as exc:  # stop what started, then fail
                    errors.append(exc)
        if errors:
            self.stop()
            raise errors[0]

    def mesh(self, timeout: float = 30.0) -> None:
        """Connect every node to the first; global then meshes them fully. Waits for it."""
        names = self.names
        first = names[0]
        for name in names[1:]:
            self.nodes[name].eval(f"net_kernel:connect_node('{first}').")
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                seen = set(self._atoms(self.nodes[name].eval("nodes().")))
                if set(names) - {name} <= seen:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} sees only {len(seen)} of {len(names) - 1} peers")
                for peer in set(names) - {name} - seen:
                    self.nodes[name].eval(f"net_kernel:connect_node('{peer}').")
                time.sleep(0.05)

    @staticmethod
    def _atoms(values) -> list[str]:
        out = []
        for v in values or []:
            raw = v.value if hasattr(v, "value") else v
            out.append(raw.decode() if isinstance(raw, bytes) else str(raw))
        return out

    @property
    def names(self) -> list[str]:
        with self._lock:
            return sorted(n for n, node in self.nodes.items() if node.proc.poll() is None)

    def start_fresh(self, cookie: Cookie, kind: str = "otp25") -> node_support.TestNode:
        with self._lock:
            self._fresh += 1
            alive = f"{self.prefix}-f{self._fresh}"
        node = self._launch(alive, kind, cookie)
        with self._lock:
            self.nodes[node.name] = node
        return node

    def restart(self, name: str, cookie: Cookie, kind: str = "otp25") -> node_support.TestNode:
        """Stop a node and start it again under the same name with `cookie` (as a pod
        restarted with a changed Secret), then connect it to the others."""
        self.nodes[name].stop()
        node = self._launch(name.split("@", 1)[0], kind, cookie)
        with self._lock:
            self.nodes[node.name] = node
        for peer in self.names:
            if peer != name:
                node.eval(f"net_kernel:connect_node('{peer}').")
        return node

    def kill(self, name: str) -> None:
        """SIGKILL the node's process group (as a crashed pod)."""
        node = self.nodes[name]
        try:
            os.killpg(node.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        node.proc.wait(10)

    def stop(self) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda n: n.stop(), list(self.nodes.values())))

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- witnesses ----------------------------------------------------------------------------
    def views(
        self, cookies: dict[str, Cookie], names: Sequence[str] | None = None
    ) -> dict[str, tuple[str, dict[str, str]]]:
        """{node: (own label, {peer: label})} read through each node's REPL."""
        names = list(names or self.names)
        out = {}

        def read(name):
            peers = [p for p in names if p != name]
            listing = ",".join(f"'{p}'" for p in peers)
            value = self.nodes[name].eval(
                f"[erlang:get_cookie() | [auth:get_cookie(P) || P <- [{listing}]]]."
            )
            own = label_of_atom(value[0], cookies)
            return name, (own, {p: label_of_atom(v, cookies) for p, v in zip(peers, value[1:])})

        with ThreadPoolExecutor(max_workers=8) as pool:
            for name, view in pool.map(read, names):
                out[name] = view
        return out

    def splits(
        self, cookies: dict[str, Cookie], names: Sequence[str] | None = None
    ) -> list[tuple[str, str]]:
        """Pairs whose two ends use different cookies for each other right now."""
        views = self.views(cookies, names)
        bad = []
        members = sorted(views)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if views[a][1][b] != views[b][1][a]:
                    bad.append((a, b))
        return bad

    def rejections(self, *, with_time: bool = False) -> list[tuple]:
        """(node, rejected peer name[, the report's time line]) for every refused
        handshake in the nodes' logs."""
        found = []
        for name, node in list(self.nodes.items()):
            previous = ""
            for line in node.log_text().splitlines():
                m = REJECTED_LINE.search(line)
                if m:
                    who = m.group(1).strip(":\"'")  # Elixir logs the name as :"a@h"
                    found.append((name, who, previous.strip("= ")) if with_time else (name, who))
                previous = line
        return found


# -- the prober ------------------------------------------------------------------------------
@dataclass
class ProbeStats:
    churn_ok: int = 0
    churn_failed: list = field(default_factory=list)  # (t, a, b, result)
    fresh_ok: list = field(default_factory=list)  # (name, label)
    fresh_failed: list = field(default_factory=list)  # (name, label, detail)
    straddlers: list = field(default_factory=list)  # (name, refused_at)
    straddlers_adopted: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # prober-side problems (not attempts)
    slowest: float = 0.0  # longest successful-or-not reconnect
    control: ProbeStats | None = None  # the same churn with no rotation

    def summary(self) -> dict:
        return {
            "churn_ok": self.churn_ok,
            "churn_failed": len(self.churn_failed),
            "fresh_ok": len(self.fresh_ok),
            "fresh_failed": len(self.fresh_failed),
            "straddlers": len(self.straddlers),
            "straddlers_adopted": len(self.straddlers_adopted),
            "errors": len(self.errors),
            "slowest_reconnect_ms": round(self.slowest * 1000, 1),
        }


class Prober:
    """Churns pairs and starts fresh nodes in a background thread until `stop()`."""

    def __init__(
        self,
        cluster: LocalCluster,
        cookies: dict[str, Cookie],
        *,
        store: Path | None = None,
        workers: int = 2,
        fresh_interval: float | None = 1.0,
        max_fresh: int = 4,
        switch_started: threading.Event | None = None,
        seed: int | None = None,
        pause: float = 0.0,
        reconnect: bool = False,
    ) -> None:
        self.reconnect = reconnect  # reopen our connection to nodes that were restarted
        self.cluster = cluster
        self.cookies = cookies
        self.store = store
        self.workers = workers
        self.fresh_interval = fresh_interval
        self.max_fresh = max_fresh
        self.switch_started = switch_started or threading.Event()
        self.rand = random.Random(seed)
        self.pause = pause
        self.stats = ProbeStats()
        self.original = cluster.names
        self.pool = list(self.original)  # pairs are drawn from here
        self.fresh_old: list[str] = []  # joined on the old cookie: pooled after the run
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="prober", daemon=True)
        self._conns: dict = {}
        self._in_use: set[str] = set()

    def start(self) -> Prober:
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the prober did not connect to the cluster")
        if self.stats.errors:
            raise RuntimeError(f"prober: {self.stats.errors[0]}")
        return self

    def stop(self) -> ProbeStats:
        self._stop.set()
        self._thread.join(60)
        return self.stats

    def admit_old_fresh(self) -> None:
        """After the rotation, nodes that joined on the old cookie are members like any."""
        self.pool.extend(n for n in self.fresh_old if n not in self.pool)

    # -- inside the thread --------------------------------------------------------------------
    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        from erlcookie.distribution.client import connect

        try:
            for name in self.original:
                self._conns[name] = await connect(name, self.cookies["old"], timeout=10)
        except Exception as exc:
            self.stats.errors.append(f"connect: {exc}")
            self._ready.set()
            return
        self._ready.set()
        tasks = [asyncio.create_task(self._churn()) for _ in range(self.workers)]
        if self.fresh_interval is not None and self.store is not None:
            tasks.append(asyncio.create_task(self._fresh()))
        while not self._stop.is_set():
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(c.close() for c in self._conns.values()), return_exceptions=True)

    async def _reconnect(self, name: str):
        """A node that was restarted: connect again with whichever cookie it takes."""
        from erlcookie.distribution.client import connect

        for cookie in (self.cookies["new"], self.cookies["old"]):
            try:
                self._conns[name] = await connect(name, cookie, timeout=5)
                return self._conns[name]
            except Exception:
                continue
        return None

    async def _churn(self) -> None:
        while not self._stop.is_set():
            # Workers never share a node: a worker's disconnect_node would abort another
            # worker's connection attempt to the same node, a failure of our own making.
            free = [n for n in self.pool if n not in self._in_use]
            if len(free) < 2:
                await asyncio.sleep(0.005)
                continue
            a, b = self.rand.sample(free, 2)
            conn = self._conns.get(a)
            if conn is None or conn.closed:
                if not self.reconnect or await self._reconnect(a) is None:
                    await asyncio.sleep(0.01)
                continue
            self._in_use.update((a, b))
            try:
                await self._churn_pair(conn, a, b)
            finally:
                self._in_use.difference_update((a, b))
            if self.pause:
                await asyncio.sleep(self.pause)

    async def _churn_pair(self, conn, a: str, b: str) -> None:
        from erlcookie.distribution.terms import atom

        try:
            await conn.rpc("erlang", "disconnect_node", [atom(b)], timeout=10)
            began = time.time()
            result = await conn.rpc("net_kernel", "connect_node", [atom(b)], timeout=15)
        except Exception as exc:  # the connection to `a` broke: the node died
            self.stats.errors.append(f"churn {a}->{b}: {type(exc).__name__}")
            await asyncio.sleep(0.05)
            return
        self.stats.slowest = max(self.stats.slowest, time.time() - began)
        if result is True:
            self.stats.churn_ok += 1
        else:
            views = await self._pair_views(a, b)
            self.stats.churn_failed.append((began, time.time(), a, b, repr(result), views))

    async def _pair_views(self, a: str, b: str) -> tuple:
        """Right after a failed attempt: each end's cookie for the other (labels)."""
        from erlcookie.distribution.terms import atom

        out = []
        for x, y in ((a, b), (b, a)):
            try:
                value = await self._conns[x].rpc("auth", "get_cookie", [atom(y)], timeout=5)
                out.append(label_of_atom(value, self.cookies))
            except Exception as exc:
                out.append(type(exc).__name__)
        return tuple(out)

    def _store_label(self) -> tuple[str, Cookie]:
        text = self.store.read_text().rstrip("\r\n") if self.store.exists() else ""
        for label, cookie in self.cookies.items():
            if cookie == Cookie(text):
                return label, cookie
        return "old", self.cookies["old"]  # nothing persisted yet: nodes still get the old one

    async def _fresh(self) -> None:
        from erlcookie.distribution.client import connect
        from erlcookie.distribution.terms import atom

        started = 0
        while not self._stop.is_set() and started < self.max_fresh:
            await asyncio.sleep(self.fresh_interval)
            label, cookie = self._store_label()
            try:
                node = await asyncio.to_thread(self.cluster.start_fresh, cookie)
                conn = await connect(node.name, cookie, timeout=10)
            except Exception as exc:
                self.stats.errors.append(f"fresh start: {type(exc).__name__}: {exc}")
                continue
            started += 1
            self._conns[node.name] = conn
            target = self.rand.choice(self.original)
            booted_before_switch = not self.switch_started.is_set()
            result = await conn.rpc("net_kernel", "connect_node", [atom(target)], timeout=15)
            if result is True:
                self.stats.fresh_ok.append((node.name, label))
                (self.pool if label == "new" else self.fresh_old).append(node.name)
                continue
            if label == "old" and self.switch_started.is_set():
                # booted from the old store, tried after the switch began: wait for adoption
                self.stats.straddlers.append((node.name, time.time(), booted_before_switch))
                if await self._adopted(conn, target):
                    self.stats.straddlers_adopted.append(node.name)
                    self.fresh_old.append(node.name)
                continue
            self.stats.fresh_failed.append((node.name, label, repr(result)))

    async def _adopted(self, conn, target: str, timeout: float = 30.0) -> bool:
        """Poll until the node runs the new cookie (adopted), then it must connect."""
        from erlcookie.distribution.terms import atom

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            own = await conn.rpc("erlang", "get_cookie", [], timeout=10)
            if label_of_atom(own, self.cookies) == "new":
                result = await conn.rpc("net_kernel", "connect_node", [atom(target)], timeout=15)
                return result is True
            await asyncio.sleep(0.1)
        return False
