"""`NodeOps` over the distribution client: one hidden control connection per node.

Several cookie changes go to a node in ONE rpc: `erl_eval:exprs/2` evaluates a block of
calls built here as abstract format (no source text, no funs shipped). That makes the
switch of a node one round trip, atomic inside the node.

The unpin step changes both ends of each pair, and the two ends live on two nodes, so
there is always a moment when they differ. We make that moment harmless instead of
short: before changing the pairs of node X, a guard process on X suspends X's
`net_kernel` (`sys:suspend/2`). While it is suspended no handshake with X can start or
finish, in either direction: connection attempts wait (as they do for a slow network)
instead of failing. Then X's end and each peer's end are set through our own
connections, and the guard resumes `net_kernel`; the waiting handshakes complete with
both ends agreeing. The guard resumes on its own after GUARD_MAX_MS (below OTP's 7 s
net_setuptime) if we never come back, so a crashed tool cannot leave a node unable to
connect. (Changing the peer's end from X over the pair's link, as first tried, lost the
answer whenever that link dropped mid-change, which `global`'s partition prevention
makes common under churn, and the pair then stayed split until repaired: about one
failed reconnect in ten churned test runs.)

Cookie values travel only inside the distribution messages (as atoms), never in errors:
rpc failures are redacted by the client, and this module reports labels.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.distribution.epmd import EPMD_PORT
from erlcookie.rotate.interfaces import NodeError
from erlcookie.rotate.plan import NEW, OLD, OTHER, NodeState

PIN_CHUNK = 256  # set_cookie calls per erl_eval block
GUARD_SUSPEND_MS = 2000  # how long sys:suspend may wait for net_kernel
GUARD_MAX_MS = 3000  # the guard resumes net_kernel by itself after this (< net_setuptime)
PAIR_ATTEMPTS = 10  # pauses tried while a pair's handshake is still in progress


# -- abstract format, just what we need --------------------------------------------------------
_L = 1


def _a(name: Any):
    from erlcookie.distribution.terms import atom

    return (atom("atom"), _L, name if isinstance(name, Cookie) else atom(name))


def _int(value: int):
    from erlcookie.distribution.terms import atom

    return (atom("integer"), _L, value)


def _call(module: str, function: str, args: Sequence):
    from erlcookie.distribution.terms import atom

    return (atom("call"), _L, (atom("remote"), _L, _a(module), _a(function)), list(args))


def _list(items: Sequence):
    from erlcookie.distribution.terms import atom

    out: Any = (atom("nil"), _L)
    for item in reversed(items):
        out = (atom("cons"), _L, item, out)
    return out


def _match_true(expr):
    from erlcookie.distribution.terms import atom

    return (atom("match"), _L, _a("true"), expr)


def exprs_set_cookies(pins: Sequence[tuple[str, Cookie]]) -> list:
    """`true = erlang:set_cookie(P1, C1), ...` as abstract format."""
    return [
        _match_true(_call("erlang", "set_cookie", [_a(peer), _a(cookie)])) for peer, cookie in pins
    ]


def _var(name: str):
    from erlcookie.distribution.terms import atom

    return (atom("var"), _L, atom(name))


def _lc(template, pattern, source):
    """`[Template || Pattern <- Source]`."""
    from erlcookie.distribution.terms import atom

    return (atom("lc"), _L, template, [(atom("generate"), _L, pattern, source)])


def _tuple(items: Sequence):
    from erlcookie.distribution.terms import atom

    return (atom("tuple"), _L, list(items))


def exprs_switch(node: str, pins: Sequence[tuple[str, Cookie]], own: Cookie) -> list:
    """Inside the node, in this order:

    Extra = erlang:nodes() -- [Known...],
    Seen = [{P, auth:get_cookie(P)} || P <- Extra],
    [erlang:set_cookie(P, C) || {P, C} <- Seen],        % visible peers we did not know
    true = erlang:set_cookie(Peer, Cookie), ...          % the members
    true = erlang:set_cookie(node(), Own),
    Seen.
    """
    from erlcookie.distribution.terms import atom

    known = _list([_a(peer) for peer, _ in pins])
    return [
        (
            atom("match"),
            _L,
            _var("Extra"),
            _call("lists", "subtract", [_call("erlang", "nodes", []), known]),
        ),
        (
            atom("match"),
            _L,
            _var("Seen"),
            _lc(
                _tuple([_var("P"), _call("auth", "get_cookie", [_var("P")])]),
                _var("P"),
                _var("Extra"),
            ),
        ),
        _lc(
            _call("erlang", "set_cookie", [_var("P"), _var("C")]),
            _tuple([_var("P"), _var("C")]),
            _var("Seen"),
        ),
        *exprs_set_cookies(pins),
        _match_true(_call("erlang", "set_cookie", [_a(node), _a(own)])),
        _var("Seen"),
    ]


def exprs_read_cookies(peers: Sequence[str]) -> list:
    """`[erlang:get_cookie(), auth:get_cookie(P1), ...]`."""
    calls = [_call("erlang", "get_cookie", [])]
    calls += [_call("auth", "get_cookie", [_a(p)]) for p in peers]
    return [_list(calls)]


def _fun(body: Sequence):
    from erlcookie.distribution.terms import atom

    return (atom("fun"), _L, (atom("clauses"), [(atom("clause"), _L, [], [], list(body))]))


def _receive(clauses, after_ms: int, after_body: Sequence):
    from erlcookie.distribution.terms import atom

    return (
        atom("receive"),
        _L,
        [(atom("clause"), _L, [pattern], [], list(body)) for pattern, body in clauses],
        _int(after_ms),
        list(after_body),
    )


def _catch(expr):
    from erlcookie.distribution.terms import atom

    return (atom("catch"), _L, expr)


def _match(var: str, expr):
    from erlcookie.distribution.terms import atom

    return (atom("match"), _L, _var(var), expr)


def _busy(peers: Sequence[str]):
    """`catch [P || P <- Peers, C <- ets:lookup(sys_dist, P), erlang:element(4, C) =/= up]`:
    peers with a handshake in progress (net_kernel's connection table, readable by all;
    the state field is the 4th element from OTP 23 to at least 27)."""
    from erlcookie.distribution.terms import atom

    source = _list([_a(p) for p in peers])
    filt = (atom("op"), _L, atom("=/="), _call("erlang", "element", [_int(4), _var("C")]), _a("up"))
    return _catch(
        (
            atom("lc"),
            _L,
            _var("P"),
            [
                (atom("generate"), _L, _var("P"), source),
                (
                    atom("generate"),
                    _L,
                    _var("C"),
                    _call("ets", "lookup", [_a("sys_dist"), _var("P")]),
                ),
                filt,
            ],
        )
    )


def exprs_guard(suspend_ms: int, max_ms: int, peers: Sequence[str] = ()) -> list:
    """Start a guard that suspends net_kernel and resumes it on `resume` or after
    `max_ms`; once it is suspended, answer {Guard, Result of the suspend, Busy}, Busy
    being the `peers` with a handshake still in progress (started before the pause):

        Parent = erlang:self(),
        G = erlang:spawn(fun() ->
                SR = (catch sys:suspend(net_kernel, SuspendMs)),
                erlang:send(Parent, {erlcookie_guard, erlang:self(), SR}),
                receive resume -> ok after MaxMs -> ok end,
                catch sys:resume(net_kernel)
            end),
        receive {erlcookie_guard, G, R} -> {G, R, Busy} after SuspendMs + 1000 -> {G, no_answer, []} end.
    """
    body = [
        _match("SR", _catch(_call("sys", "suspend", [_a("net_kernel"), _int(suspend_ms)]))),
        _call(
            "erlang",
            "send",
            [
                _var("Parent"),
                _tuple([_a("erlcookie_guard"), _call("erlang", "self", []), _var("SR")]),
            ],
        ),
        _receive([(_a("resume"), [_a("ok")])], max_ms, [_a("ok")]),
        _catch(_call("sys", "resume", [_a("net_kernel")])),
    ]
    return [
        _match("Parent", _call("erlang", "self", [])),
        _match("G", _call("erlang", "spawn", [_fun(body)])),
        _receive(
            [
                (
                    _tuple([_a("erlcookie_guard"), _var("G"), _var("R")]),
                    [_tuple([_var("G"), _var("R"), _busy(peers)])],
                )
            ],
            suspend_ms + 1000,
            [_tuple([_var("G"), _a("no_answer"), _list([])])],
        ),
    ]


# -- dialling ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dial:
    """Where to reach a node: `host` instead of its name's host part (an IP, a
    port-forward), EPMD's port there, or a known distribution port (skips EPMD)."""

    host: str | None = None
    epmd_port: int = EPMD_PORT
    dist_port: int | None = None

    def to_dict(self) -> dict:
        return {"host": self.host, "epmd_port": self.epmd_port, "dist_port": self.dist_port}


class Dialer:
    """Node name -> Dial; discovery and --host fill it, everything else uses defaults."""

    def __init__(
        self,
        *,
        epmd_port: int = EPMD_PORT,
        default_host: str | None = None,
        fixed: Mapping[str, Dial] | None = None,
    ):
        self.epmd_port = epmd_port
        self.default_host = default_host  # --host: dial this for every node not mapped
        self._fixed: dict[str, Dial] = dict(fixed or {})  # --host: always wins
        self._found: dict[str, Dial] = {}  # from discovery

    def learn(self, node: str, dial: Dial) -> None:
        self._found[node] = dial

    def get(self, node: str) -> Dial:
        return (
            self._fixed.get(node)
            or self._found.get(node)
            or Dial(self.default_host, self.epmd_port)
        )

    def options(self, node: str) -> dict:
        dial = self.get(node)
        return {"host": dial.host, "epmd_port": dial.epmd_port, "dist_port": dial.dist_port}


def label_of(value: Any, cookies: Mapping[str, Cookie]) -> str:
    """OLD/NEW/OTHER for a cookie atom read from a node (compared in constant time)."""
    from erlcookie.distribution.terms import atom_text

    try:
        raw = atom_text(value).encode("utf-8")
    except Exception:
        return OTHER
    for label in (OLD, NEW):
        if hmac.compare_digest(raw, cookies[label].as_bytes()):
            return label
    return OTHER


class DistOps:
    """The engine's NodeOps, over `erlcookie.distribution.client`."""

    def __init__(
        self,
        cookies: Mapping[str, Cookie],
        dialer: Dialer | None = None,
        *,
        timeout: float = 5.0,
        tls=None,
    ) -> None:
        self.cookies = dict(cookies)
        self.dialer = dialer or Dialer()
        self.timeout = timeout
        self.tls = tls
        self._conns: dict[str, Any] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.repairs = 0  # pair changes whose end we had to align after a failed write
        self.deferrals = 0  # pairs put off because a handshake between them was under way

    # -- connections -------------------------------------------------------------------------
    def _error(self, node: str, exc: Exception) -> NodeError:
        from erlcookie.distribution.errors import DistError

        if isinstance(exc, DistError):
            return NodeError(node, exc.detail, verdict=exc.verdict)
        return NodeError(node, str(exc))

    async def connect(self, node: str, label: str) -> None:
        from erlcookie.distribution.client import connect
        from erlcookie.distribution.errors import DistError

        conn = self._conns.get(node)
        if conn is not None and not conn.closed:
            return
        lock = self._locks.setdefault(node, asyncio.Lock())
        async with lock:
            conn = self._conns.get(node)
            if conn is not None and not conn.closed:
                return
            try:
                self._conns[node] = await connect(
                    node,
                    self.cookies[label],
                    timeout=self.timeout,
                    tls=self.tls,
                    **self.dialer.options(node),
                )
            except DistError as exc:
                raise self._error(node, exc) from None

    async def _rpc(
        self, node: str, module: str, function: str, args: Sequence, timeout: float | None = None
    ) -> Any:
        from erlcookie.distribution.errors import DistError

        conn = self._conns.get(node)
        if conn is None or conn.closed:
            raise NodeError(
                node,
                "no open connection to the node (it went away?)",
                verdict="unreachable" if conn is not None else None,
            )
        try:
            return await conn.rpc(module, function, list(args), timeout=timeout or self.timeout)
        except DistError as exc:
            raise self._error(node, exc) from None
        except Exception as exc:  # RpcError and friends: already redacted by the client
            raise NodeError(node, str(exc)) from None

    async def _eval(self, node: str, exprs: list, timeout: float | None = None) -> Any:
        reply = await self._rpc(node, "erl_eval", "exprs", [exprs, []], timeout)
        # {value, Value, Bindings}
        if not (isinstance(reply, tuple) and len(reply) == 3):
            raise NodeError(node, "erl_eval answered something unexpected")
        return reply[1]

    async def accepts(self, node: str, label: str) -> str:
        from erlcookie.distribution.client import ping

        result = await ping(
            node,
            self.cookies[label],
            timeout=self.timeout,
            tls=self.tls,
            **self.dialer.options(node),
        )
        return result.verdict

    async def cluster_peers(self, node: str) -> list[str]:
        """The node's visible peers, plus nodes it knows of but is not connected to right
        now that declare themselves visible: under churn, or while `global` keeps a
        partition apart, a member can be disconnected from everyone for a moment.

        Membership is decided by the nodes, never by EPMD (which registers hidden and
        visible nodes alike): a node this one holds a hidden connection to (`rabbitmqctl`,
        `ejabberdctl`, a remote shell, a monitoring agent) is not a member, and a
        disconnected one counts only if it answers, itself, that it was not started hidden.
        One that exits meanwhile simply is not a member."""
        from erlcookie.distribution.terms import atom_text

        reply = await self._eval(
            node,
            [
                _list(
                    [
                        _call("erlang", "nodes", []),
                        _call("erlang", "nodes", [_a("known")]),
                        _call("erlang", "nodes", [_a("hidden")]),
                    ]
                )
            ],
        )
        if not (isinstance(reply, list) and len(reply) == 3):
            raise NodeError(node, "listing the node's peers gave an unexpected answer")
        visible, known, hidden = ({atom_text(n) for n in part} for part in reply)
        extra = sorted(
            n
            for n in known - visible - hidden - {node, "nonode@nohost"}
            if "@" in n and not n.startswith("erlcookie-")
        )
        if not extra:
            return sorted(visible)
        state = await self.read_state(node, extra)
        checks = await asyncio.gather(*(self._declares_visible(n, state.view(n)) for n in extra))
        return sorted(visible | {n for n, ok in zip(extra, checks) if ok})

    async def _declares_visible(self, node: str, label: str) -> bool:
        """Ask a disconnected node itself whether it runs as a visible node, over a
        short-lived connection made with the cookie the asking member holds for it.
        Any failure (gone, refused, a CLI node exiting) means: not a member."""
        from erlcookie.distribution.client import connect
        from erlcookie.distribution.errors import DistError
        from erlcookie.distribution.terms import OtpErlangAtom, atom, atom_text

        if label not in self.cookies:
            return False  # it shares neither cookie with the member: not one of ours
        timeout = min(self.timeout, 2.0)
        try:
            conn = await connect(
                node,
                self.cookies[label],
                timeout=timeout,
                tls=self.tls,
                **self.dialer.options(node),
            )
        except (DistError, OSError):
            return False
        try:
            answer = await conn.rpc("init", "get_argument", [atom("hidden")], timeout=timeout)
        except Exception:  # noqa: BLE001 - a node that cannot answer is not counted
            return False
        finally:
            await conn.close()
        # init:get_argument(hidden) is `error` unless the node was started with -hidden
        return isinstance(answer, OtpErlangAtom) and atom_text(answer) == "error"

    async def read_state(self, node: str, peers: Sequence[str]) -> NodeState:
        peers = list(peers)
        values = await self._eval(node, exprs_read_cookies(peers))
        if not isinstance(values, list) or len(values) != len(peers) + 1:
            raise NodeError(node, "reading the node's cookies gave an unexpected answer")
        own = label_of(values[0], self.cookies)
        pins = {}
        for peer, value in zip(peers, values[1:]):
            label = label_of(value, self.cookies)
            if label != own:
                pins[peer] = label
        return NodeState(own, pins)

    async def pin(self, node: str, pins: Sequence[tuple[str, str]]) -> None:
        pins = list(pins)
        for start in range(0, len(pins), PIN_CHUNK):
            chunk = [(peer, self.cookies[label]) for peer, label in pins[start : start + PIN_CHUNK]]
            await self._eval(node, exprs_set_cookies(chunk))

    async def switch(
        self, node: str, pins: Sequence[tuple[str, str]], label: str
    ) -> dict[str, str]:
        from erlcookie.distribution.terms import atom_text

        chunk = [(peer, self.cookies[lbl]) for peer, lbl in pins]
        seen = await self._eval(
            node,
            exprs_switch(node, chunk, self.cookies[label]),
            timeout=self.timeout + 0.001 * len(chunk),
        )
        extra: dict[str, str] = {}
        for item in seen if isinstance(seen, list) else []:
            if isinstance(item, tuple) and len(item) == 2:
                extra[atom_text(item[0])] = label_of(item[1], self.cookies)
        return extra

    async def set_own(self, node: str, label: str) -> None:
        from erlcookie.distribution.terms import atom

        await self._rpc(node, "erlang", "set_cookie", [atom(node), self.cookies[label]])

    async def _suspend(self, node: str, peers: Sequence[str]) -> tuple[Any, set[str]]:
        """Suspend the node's net_kernel under a guard: (guard pid, peers with a handshake
        already in progress, which must not be changed in this pause)."""
        from erlcookie.distribution.terms import atom_text

        reply = await self._eval(
            node,
            exprs_guard(GUARD_SUSPEND_MS, GUARD_MAX_MS, peers),
            timeout=self.timeout + GUARD_SUSPEND_MS / 1000 + 1,
        )
        if not (isinstance(reply, tuple) and len(reply) == 3):
            raise NodeError(node, "the net_kernel guard answered something unexpected")
        guard, result, busy = reply
        try:
            ok = atom_text(result) == "ok"
        except Exception:
            ok = False
        if not ok:
            await self._resume(node, guard)
            raise NodeError(node, "could not pause net_kernel to change its pairs safely")
        if isinstance(busy, list):
            busy_names = {atom_text(p) for p in busy}
        else:  # the connection table did not look as expected: change nothing this time
            busy_names = set(peers)
        return guard, busy_names

    async def _resume(self, node: str, guard: Any) -> None:
        from erlcookie.distribution.terms import atom

        try:
            await self._rpc(node, "erlang", "send", [guard, atom("resume")])
        except NodeError:
            pass  # the guard resumes by itself after GUARD_MAX_MS

    async def pair_set_many(
        self, node: str, peers: Sequence[str], label: str
    ) -> dict[str, bool | NodeError]:
        """Each pair (node, peer) to `label`, both ends set while the node's net_kernel is
        paused, so no handshake with it can start meanwhile; pairs whose handshake was
        already under way wait for a later pause. Per peer: True, or the NodeError of a
        pair that could not be changed (its two ends agree again when we could check)."""
        out: dict[str, bool | NodeError] = {}
        todo = list(peers)
        for _attempt in range(PAIR_ATTEMPTS):
            if not todo:
                break
            guard, busy = await self._suspend(node, todo)
            ready = [p for p in todo if p not in busy]
            try:
                if ready:
                    mine = asyncio.ensure_future(self.pin(node, [(p, label) for p in ready]))
                    theirs = {p: asyncio.ensure_future(self.pin(p, [(node, label)])) for p in ready}
                    await asyncio.gather(mine, *theirs.values(), return_exceptions=True)
                    failed = [p for p in ready if mine.exception() or theirs[p].exception()]
                    if failed:
                        await self._align(node, failed)
                    for p in ready:
                        error = mine.exception() or theirs[p].exception()
                        out[p] = True if error is None else error
            finally:
                await self._resume(node, guard)
            todo = [p for p in todo if p in busy]
            if todo:
                self.deferrals += len(todo)
                await self._wait_handshakes(node, todo)
        for p in todo:
            out[p] = NodeError(
                node,
                f"a handshake with {p} stayed in progress; the pair was "
                "left unchanged (both ends agree)",
            )
        return out

    async def _wait_handshakes(self, node: str, peers: Sequence[str], limit: float = 2.0) -> None:
        """Let the handshakes under way between `node` and `peers` finish, with its
        net_kernel running (they may need it, and the peer's), polling its connection
        table; pausing again at once could starve them."""
        from erlcookie.distribution.terms import atom_text

        deadline = asyncio.get_running_loop().time() + limit
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
            busy = await self._eval(node, [_busy(peers)])
            if isinstance(busy, list) and not busy:
                return
            if isinstance(busy, list):
                peers = [atom_text(p) for p in busy]

    async def _align(self, node: str, peers: Sequence[str]) -> None:
        """While the node is still paused: make its end follow each peer's end for pairs
        whose change failed, so nothing is split when it resumes."""
        for peer in peers:
            try:
                theirs = (await self.read_state(peer, [node])).view(node)
                await self.pin(node, [(peer, theirs)])
                self.repairs += 1
            except NodeError:
                continue  # the peer is gone or unreachable; the engine reads back later

    async def pair_set(self, node: str, peer: str, label: str) -> bool:
        result = (await self.pair_set_many(node, [peer], label))[peer]
        if isinstance(result, NodeError):
            raise result
        return result

    async def close(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
