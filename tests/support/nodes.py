"""Real Erlang/Elixir nodes for interop tests, started and cleaned up reliably.

    with start_node(cookie) as node:           # OTP 25 from the host
        node.eval("erlang:system_info(otp_release).")   # -> b"25"

Kinds: "otp25" (the host's `erl`), "otp27" and "otp29" (`chroot ROOT erl`, see otp_roots.py) and
"elixir" (`elixir --sname`). Each node gets its cookie from a 0400 `.erlang.cookie` in a
private HOME, never from the command line. `eval` runs an Erlang expression inside the
node over its stdin (no distribution involved, so it is an independent witness) and
returns the value decoded by erlang-py. Nodes run in their own process group; `stop`
closes stdin, waits a bounded time, then kills the group. EPMD is shared: started with
`epmd -daemon` when none answers.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import erlang

from erlcookie.cookie.value import Cookie

START_TIMEOUT = 30.0
EVAL_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0

# The REPL each node runs: "<id> <base64 expression> <base64 bindings term>" in,
# "@@R <id> <base64 term>" out. Bindings ([{'Var', Value}]) carry values such as cookies
# as terms, so they never appear in expression text.
ERLANG_REPL = r"""
Loop = fun L() ->
    case io:get_line('') of
        eof -> halt(0);
        {error, _} -> halt(0);
        Line ->
            [Id, B64, BB64] = string:split(string:trim(Line), " ", all),
            Res = try
                {ok, Toks, _} = erl_scan:string(base64:decode_to_string(B64)),
                {ok, Exprs} = erl_parse:parse_exprs(Toks),
                Bs = lists:foldl(fun({K, X}, Acc) -> erl_eval:add_binding(K, X, Acc) end,
                                 erl_eval:new_bindings(), binary_to_term(base64:decode(BB64))),
                {value, V, _} = erl_eval:exprs(Exprs, Bs),
                {ok, V}
            catch C:R -> {error, C, R}
            end,
            io:format("~n@@R ~s ~s~n", [Id, base64:encode(term_to_binary(Res))]),
            L()
    end
end,
io:format("~n@@READY ~s~n", [node()]),
Loop().
""".replace("\n", " ")

ELIXIR_REPL = r"""
loop = fn loop ->
  case IO.gets("") do
    :eof -> System.halt(0)
    {:error, _} -> System.halt(0)
    line ->
      [id, b64, bb64] = String.split(String.trim(line), " ")
      res =
        try do
          {:ok, toks, _} = :erl_scan.string(String.to_charlist(Base.decode64!(b64)))
          {:ok, exprs} = :erl_parse.parse_exprs(toks)
          bs = Enum.reduce(:erlang.binary_to_term(Base.decode64!(bb64)), :erl_eval.new_bindings(),
                 fn {k, x}, acc -> :erl_eval.add_binding(k, x, acc) end)
          {:value, v, _} = :erl_eval.exprs(exprs, bs)
          {:ok, v}
        catch
          c, r -> {:error, c, r}
        end
      IO.puts("\n@@R #{id} #{Base.encode64(:erlang.term_to_binary(res))}")
      loop.(loop)
  end
end
IO.puts("\n@@READY #{node()}")
loop.(loop)
"""


class NodeStartError(RuntimeError):
    pass


class EvalError(RuntimeError):
    pass


def ensure_epmd(port: int = 4369) -> None:
    """Start the shared EPMD (`epmd -daemon`) unless one already answers on `port`."""
    if _port_open("127.0.0.1", port):
        return
    subprocess.run(["epmd", "-daemon", "-port", str(port)], check=True, timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if _port_open("127.0.0.1", port):
            return
        time.sleep(0.05)
    raise NodeStartError(f"epmd did not come up on port {port}")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_cookie_file(home: Path, cookie: Cookie) -> Path:
    """HOME/.erlang.cookie, mode 0400, as OTP wants it."""
    path = home / ".erlang.cookie"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "w") as handle:
        handle.write(cookie.reveal())
    return path


@dataclass
class TestNode:
    name: str
    kind: str
    proc: subprocess.Popen
    home: Path
    cookie: Cookie
    log: collections.deque = field(default_factory=lambda: collections.deque(maxlen=2000))
    _results: dict = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _ready: str | None = None
    _reader: threading.Thread | None = None
    _cleanup_dirs: list = field(default_factory=list)

    __test__ = False  # not a pytest class

    # -- output pump -----------------------------------------------------------------------
    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._cond:
                if line.startswith("@@R "):
                    _, ident, payload = line.split(" ", 2)
                    self._results[ident] = payload
                elif line.startswith("@@READY "):
                    self._ready = line.split(" ", 1)[1].strip()
                elif line.strip():
                    self.log.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._ready is None:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self._cond.wait(min(left, 0.2))
        if self._ready is None:
            log = "\n".join(list(self.log)[-30:])
            self.stop()
            raise NodeStartError(f"{self.kind} node {self.name} did not start:\n{log}")
        self.name = self._ready

    # -- what tests use ----------------------------------------------------------------------
    @property
    def alive(self) -> str:
        return self.name.split("@", 1)[0]

    @property
    def host(self) -> str:
        return self.name.split("@", 1)[1]

    def eval(
        self, expr: str, timeout: float = EVAL_TIMEOUT, *, bindings: dict[str, Any] | None = None
    ) -> Any:
        """Evaluate an Erlang expression (ending in '.') in the node; its value.

        `bindings` maps variable names to values (erlang-py terms; a Cookie becomes an
        atom), so secrets travel as terms and never in the expression text:
        `node.eval("erlang:set_cookie(Peer, C).", bindings={"Peer": atom(p), "C": cookie})`.
        Errors name neither the expression nor, in the reason, any cookie involved.
        """
        from erlcookie.distribution import terms

        bindings = bindings or {}
        secrets = [v for v in bindings.values() if isinstance(v, Cookie)]
        encoded = terms.encode([(terms.atom(k), v) for k, v in bindings.items()])
        ident = str(next(self._ids))
        line = (
            f"{ident} {base64.b64encode(expr.encode()).decode()} "
            f"{base64.b64encode(encoded).decode()}\n"
        ).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(line)
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        with self._cond:
            while ident not in self._results:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise EvalError(f"no answer from {self.name} to eval #{ident}")
                self._cond.wait(min(left, 0.2))
            payload = self._results.pop(ident)
        result = erlang.binary_to_term(base64.b64decode(payload))
        # OTP 25 sends latin-1 atoms (bytes in erlang-py), OTP 26+ UTF-8 ones (str).
        tag = result[0].value
        if (tag.decode("latin-1") if isinstance(tag, bytes) else tag) == "error":
            message = f"eval #{ident} on {self.name} raised {result[1]!r}:{result[2]!r}"
            for secret in (self.cookie, *secrets):
                message = message.replace(secret.reveal(), "<redacted>")
            raise EvalError(message)
        return result[1]

    def dist_port(self) -> int:
        """The node's distribution listen port (from its own EPMD registration)."""
        value = self.eval(f'erl_epmd:port_please("{self.alive}", "127.0.0.1").')
        return value[1]

    def log_text(self) -> str:
        with self._cond:
            return "\n".join(self.log)

    def wait_for_log(self, needle: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while needle not in "\n".join(self.log):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))
        return True

    def stop(self) -> None:
        """Ask the node to halt (stdin EOF), then kill its process group; bounded."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                if self.proc.stdin:
                    self.proc.stdin.close()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(STOP_TIMEOUT)
        if self._reader is not None:
            self._reader.join(STOP_TIMEOUT)
        for directory in self._cleanup_dirs:
            shutil.rmtree(directory, ignore_errors=True)
        self._cleanup_dirs.clear()

    def __enter__(self) -> TestNode:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def launch(
    cookie: Cookie,
    *,
    kind: str = "otp25",
    name: str | None = None,
    long_names: bool = False,
    host: str | None = None,
    listen_port: int | tuple[int, int] | None = None,
    extra_args: Sequence[str] = (),
    otp_root: Path | None = None,
    timeout: float = START_TIMEOUT,
) -> TestNode:
    """Start one node and wait until its REPL answers. Stop it with `.stop()` (or `with`)."""
    ensure_epmd()
    alive = name or f"t{kind}-{secrets.token_hex(4)}"
    from .otp_roots import CHROOT_KINDS

    if kind in CHROOT_KINDS and otp_root is None:
        from .otp_roots import otp_root as root_for

        otp_root = root_for(kind)
    base_dir = Path(
        tempfile.mkdtemp(prefix="erlcookie-node-", dir=str(otp_root / "tmp") if otp_root else None)
    )
    os.chmod(base_dir, 0o700)
    home = base_dir / "home"
    home.mkdir()
    write_cookie_file(home, cookie)
    node_arg = f"{alive}@{host}" if host else alive
    erl_args: list[str] = ["-name" if long_names else "-sname", node_arg]
    if listen_port is not None:
        low, high = (listen_port, listen_port) if isinstance(listen_port, int) else listen_port
        erl_args += [
            "-kernel",
            "inet_dist_listen_min",
            str(low),
            "-kernel",
            "inet_dist_listen_max",
            str(high),
        ]
    erl_args += list(extra_args)
    inner_home = "/" + str(home.relative_to(otp_root)) if otp_root else str(home)
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": inner_home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    if kind == "otp25" or kind in CHROOT_KINDS:
        cmd = ["erl", "-noshell", *erl_args, "-eval", ERLANG_REPL]
        if kind in CHROOT_KINDS:
            cmd = ["chroot", str(otp_root), "/usr/bin/env", f"HOME={inner_home}", *cmd]
    elif kind == "elixir":
        flag = "--name" if long_names else "--sname"
        cmd = ["elixir", flag, node_arg]
        rest = erl_args[2:]
        if rest:
            cmd += ["--erl", " ".join(rest)]
        cmd += ["-e", ELIXIR_REPL]
    else:
        raise ValueError(f"unknown node kind {kind!r}")
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=str(home),
        start_new_session=True,
    )
    node = TestNode(name=node_arg, kind=kind, proc=proc, home=home, cookie=cookie)
    node._cleanup_dirs.append(base_dir)
    node._reader = threading.Thread(target=node._pump, name=f"pump-{alive}", daemon=True)
    node._reader.start()
    node._wait_ready(timeout)
    return node


@contextlib.contextmanager
def start_node(cookie: Cookie, **kwargs) -> Iterator[TestNode]:
    node = launch(cookie, **kwargs)
    try:
        yield node
    finally:
        node.stop()


def launch_many(cookie: Cookie, count: int, **kwargs) -> list[TestNode]:
    """Start `count` nodes in parallel threads (each still bounded by its own timeout)."""
    from concurrent.futures import ThreadPoolExecutor

    nodes: list[TestNode] = []
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=min(count, 8)) as pool:
        futures = [pool.submit(launch, cookie, **kwargs) for _ in range(count)]
        for future in futures:
            try:
                nodes.append(future.result())
            except BaseException as exc:  # keep going so every started node gets stopped
                errors.append(exc)
    if errors:
        for node in nodes:
            node.stop()
        raise errors[0]
    return nodes
