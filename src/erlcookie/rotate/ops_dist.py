"""`NodeOps` over the distribution client: one hidden control connection per node.

Several cookie changes go to a node in ONE rpc: `erl_eval:exprs/2` evaluates a block of
calls built here as abstract format (no source text, no funs shipped). That makes a pin
step one round trip per node, and the pair change of the unpin step nearly atomic:

    true = net_kernel:connect_node(Peer),          % over the pair's own connection
    true = erlang:set_cookie(Peer, C),             % this end
    true = erpc:call(Peer, erlang, set_cookie, [Node, C], T)   % the other end, same link

runs inside the node, so the two ends differ only for one message hop on the live
connection between them, the way that showed no failed reconnect under heavy churn (see
the facts notes). If that connection drops in between, we finish the other end through our
own connection to it, or put this end back, so the pair never stays split.

Cookie values travel only inside the distribution messages (as atoms), never in errors:
rpc failures are redacted by the client, and this module reports labels.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from erlcookie.cookie.value import Cookie
from erlcookie.rotate.engine import NodeError
from erlcookie.rotate.plan import NEW, OLD, OTHER, NodeState

EPMD_PORT = 4369
PIN_CHUNK = 256  # set_cookie calls per erl_eval block
PAIR_CHUNK = 64  # pair changes per erl_eval block (run in sequence inside the node)


# -- abstract format, just what we need --------------------------------------------------------
_L = 1


def _a(name: Any):
    from erlcookie.dist.terms import atom

    return (atom("atom"), _L, name if isinstance(name, Cookie) else atom(name))


def _int(value: int):
    from erlcookie.dist.terms import atom

    return (atom("integer"), _L, value)


def _call(module: str, function: str, args: Sequence):
    from erlcookie.dist.terms import atom

    return (atom("call"), _L, (atom("remote"), _L, _a(module), _a(function)), list(args))


def _list(items: Sequence):
    from erlcookie.dist.terms import atom

    out: Any = (atom("nil"), _L)
    for item in reversed(items):
        out = (atom("cons"), _L, item, out)
    return out


def _match_true(expr):
    from erlcookie.dist.terms import atom

    return (atom("match"), _L, _a("true"), expr)


def exprs_set_cookies(pins: Sequence[tuple[str, Cookie]]) -> list:
    """`true = erlang:set_cookie(P1, C1), ...` as abstract format."""
    return [_match_true(_call("erlang", "set_cookie", [_a(peer), _a(cookie)]))
            for peer, cookie in pins]


def _var(name: str):
    from erlcookie.dist.terms import atom

    return (atom("var"), _L, atom(name))


def _lc(template, pattern, source):
    """`[Template || Pattern <- Source]`."""
    from erlcookie.dist.terms import atom

    return (atom("lc"), _L, template, [(atom("generate"), _L, pattern, source)])


def _tuple(items: Sequence):
    from erlcookie.dist.terms import atom

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
    from erlcookie.dist.terms import atom

    known = _list([_a(peer) for peer, _ in pins])
    return [
        (atom("match"), _L, _var("Extra"),
         _call("lists", "subtract", [_call("erlang", "nodes", []), known])),
        (atom("match"), _L, _var("Seen"),
         _lc(_tuple([_var("P"), _call("auth", "get_cookie", [_var("P")])]), _var("P"),
             _var("Extra"))),
        _lc(_call("erlang", "set_cookie", [_var("P"), _var("C")]),
            _tuple([_var("P"), _var("C")]), _var("Seen")),
        *exprs_set_cookies(pins),
        _match_true(_call("erlang", "set_cookie", [_a(node), _a(own)])),
        _var("Seen"),
    ]


def exprs_read_cookies(peers: Sequence[str]) -> list:
    """`[erlang:get_cookie(), auth:get_cookie(P1), ...]`."""
    calls = [_call("erlang", "get_cookie", [])]
    calls += [_call("auth", "get_cookie", [_a(p)]) for p in peers]
    return [_list(calls)]


def exprs_pair_set(node: str, peer: str, cookie: Cookie, timeout_ms: int) -> list:
    return [
        _match_true(_call("net_kernel", "connect_node", [_a(peer)])),
        _match_true(_call("erlang", "set_cookie", [_a(peer), _a(cookie)])),
        _match_true(_call("erpc", "call", [_a(peer), _a("erlang"), _a("set_cookie"),
                                           _list([_a(node), _a(cookie)]), _int(timeout_ms)])),
    ]


def exprs_pair_set_many(node: str, peers: Sequence[str], cookie: Cookie, timeout_ms: int) -> list:
    """`[catch begin <pair change with P1> end, ...]`: one result per peer (true when done),
    run one after the other inside the node, each pair still changed over its own link."""
    from erlcookie.dist.terms import atom

    blocks = [(atom("catch"), _L, (atom("block"), _L, exprs_pair_set(node, p, cookie, timeout_ms)))
              for p in peers]
    return [_list(blocks)]


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

    def __init__(self, *, epmd_port: int = EPMD_PORT, default_host: str | None = None,
                 fixed: Mapping[str, Dial] | None = None):
        self.epmd_port = epmd_port
        self.default_host = default_host  # --host: dial this for every node not mapped
        self._fixed: dict[str, Dial] = dict(fixed or {})   # --host: always wins
        self._found: dict[str, Dial] = {}                   # from discovery

    def learn(self, node: str, dial: Dial) -> None:
        self._found[node] = dial

    def get(self, node: str) -> Dial:
        return self._fixed.get(node) or self._found.get(node) or \
            Dial(self.default_host, self.epmd_port)

    def options(self, node: str) -> dict:
        dial = self.get(node)
        return {"host": dial.host, "epmd_port": dial.epmd_port, "dist_port": dial.dist_port}


def _is_true(value: Any, atom_text) -> bool:
    try:
        return atom_text(value) == "true"
    except Exception:
        return False


def label_of(value: Any, cookies: Mapping[str, Cookie]) -> str:
    """OLD/NEW/OTHER for a cookie atom read from a node (compared in constant time)."""
    from erlcookie.dist.terms import atom_text

    try:
        raw = atom_text(value).encode("utf-8")
    except Exception:
        return OTHER
    for label in (OLD, NEW):
        if hmac.compare_digest(raw, cookies[label].as_bytes()):
            return label
    return OTHER


class DistOps:
    """The engine's NodeOps, over `erlcookie.dist.client`."""

    def __init__(self, cookies: Mapping[str, Cookie], dialer: Dialer | None = None, *,
                 timeout: float = 5.0, tls=None) -> None:
        self.cookies = dict(cookies)
        self.dialer = dialer or Dialer()
        self.timeout = timeout
        self.tls = tls
        self._conns: dict[str, Any] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.repairs = 0  # pair changes finished from our side (their link dropped)

    # -- connections -------------------------------------------------------------------------
    def _error(self, node: str, exc: Exception) -> NodeError:
        from erlcookie.dist.errors import DistError

        if isinstance(exc, DistError):
            return NodeError(node, exc.detail, verdict=exc.verdict)
        return NodeError(node, str(exc))

    async def connect(self, node: str, label: str) -> None:
        from erlcookie.dist.client import connect
        from erlcookie.dist.errors import DistError

        conn = self._conns.get(node)
        if conn is not None and not conn.closed:
            return
        lock = self._locks.setdefault(node, asyncio.Lock())
        async with lock:
            conn = self._conns.get(node)
            if conn is not None and not conn.closed:
                return
            try:
                self._conns[node] = await connect(node, self.cookies[label], timeout=self.timeout,
                                                  tls=self.tls, **self.dialer.options(node))
            except DistError as exc:
                raise self._error(node, exc) from None

    async def _rpc(self, node: str, module: str, function: str, args: Sequence,
                   timeout: float | None = None) -> Any:
        from erlcookie.dist.errors import DistError

        conn = self._conns.get(node)
        if conn is None or conn.closed:
            raise NodeError(node, "no open connection to the node (it went away?)",
                            verdict="unreachable" if conn is not None else None)
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
        from erlcookie.dist.client import ping

        result = await ping(node, self.cookies[label], timeout=self.timeout, tls=self.tls,
                            **self.dialer.options(node))
        return result.verdict

    async def visible_peers(self, node: str) -> list[str]:
        from erlcookie.dist.terms import atom_text

        reply = await self._rpc(node, "erlang", "nodes", [])
        if not isinstance(reply, list):
            return []
        return sorted(atom_text(n) for n in reply)

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
            chunk = [(peer, self.cookies[label]) for peer, label in pins[start:start + PIN_CHUNK]]
            await self._eval(node, exprs_set_cookies(chunk))

    async def switch(self, node: str, pins: Sequence[tuple[str, str]], label: str
                     ) -> dict[str, str]:
        from erlcookie.dist.terms import atom_text

        chunk = [(peer, self.cookies[lbl]) for peer, lbl in pins]
        seen = await self._eval(node, exprs_switch(node, chunk, self.cookies[label]),
                                timeout=self.timeout + 0.001 * len(chunk))
        extra: dict[str, str] = {}
        for item in seen if isinstance(seen, list) else []:
            if isinstance(item, tuple) and len(item) == 2:
                extra[atom_text(item[0])] = label_of(item[1], self.cookies)
        return extra

    async def set_own(self, node: str, label: str) -> None:
        from erlcookie.dist.terms import atom

        await self._rpc(node, "erlang", "set_cookie", [atom(node), self.cookies[label]])

    def _inner_ms(self) -> int:
        return max(100, int(self.timeout * 1000 * 0.6))

    async def pair_set_many(self, node: str, peers: Sequence[str], label: str
                            ) -> dict[str, bool | NodeError]:
        """Each pair (node, peer) to `label`, from `node`, in one rpc per chunk. Per peer:
        True (changed over the pair's live link), False (finished from our side because
        that link dropped meanwhile), or the NodeError that left the pair unchanged."""
        from erlcookie.dist.terms import atom_text

        cookie = self.cookies[label]
        out: dict[str, bool | NodeError] = {}
        peers = list(peers)
        for start in range(0, len(peers), PAIR_CHUNK):
            chunk = peers[start:start + PAIR_CHUNK]
            try:
                results = await self._eval(node, exprs_pair_set_many(node, chunk, cookie,
                                                                     self._inner_ms()),
                                           timeout=self.timeout + 0.2 * len(chunk))
                if not isinstance(results, list) or len(results) != len(chunk):
                    raise NodeError(node, "the pair changes gave an unexpected answer")
            except NodeError as exc:
                results = [exc] * len(chunk)
            for peer, result in zip(chunk, results):
                if _is_true(result, atom_text):
                    out[peer] = True
                    continue
                failure = result if isinstance(result, NodeError) else \
                    NodeError(node, f"changing the pair with {peer} failed (their link broke "
                                    "or the peer went away)")
                try:
                    out[peer] = await self._finish_pair(node, peer, label, failure)
                except NodeError as exc:
                    out[peer] = exc
        return out

    async def pair_set(self, node: str, peer: str, label: str) -> bool:
        result = (await self.pair_set_many(node, [peer], label))[peer]
        if isinstance(result, NodeError):
            raise result
        return result

    async def _finish_pair(self, node: str, peer: str, label: str, failure: NodeError) -> bool:
        """After a failed pair change: read both ends back through our own connections
        and make them agree again (finish the peer's end, or put this end back)."""
        try:
            mine = (await self.read_state(node, [peer])).view(peer)
        except NodeError:
            raise failure from None
        if mine != label:
            raise failure  # this end is unchanged: nothing is split
        for guess in (label, OLD if label == NEW else NEW):
            try:
                await self.connect(peer, guess)
                break
            except NodeError:
                continue
        try:
            await self.pin(peer, [(node, label)])
            self.repairs += 1
            return False
        except NodeError:
            other = OLD if label == NEW else NEW
            await self.pin(node, [(peer, other)])  # put this end back: the pair agrees again
            raise failure from None

    async def close(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
