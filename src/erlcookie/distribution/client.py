"""The asyncio driver around the sans-IO codecs: EPMD lookups, connect, ping, rpc.

    async with await connect("app@web1", cookie) as conn:
        release = await conn.rpc("erlang", "system_info", [atom("otp_release")])

We connect as a hidden node under a fresh random name (`erlcookie-<hex>@<host>`), never
register with EPMD and never listen. Every network wait is bounded: `connect`/`ping` by
their `timeout` (EPMD lookup, TCP/TLS connect and handshake together), each rpc by its
own. Failures raise a DistError subclass whose `verdict` is one of the ping verdicts;
`ping` turns them into a PingResult instead.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Protocol, TypeVar, assert_never

from erlcookie.cookie.value import Cookie
from erlcookie.distribution import epmd as epmd_codec
from erlcookie.distribution import framing, terms
from erlcookie.distribution import handshake as hs
from erlcookie.distribution.epmd import EPMD_PORT
from erlcookie.distribution.errors import (
    ERROR_FOR_VERDICT,
    ConnectionLostError,
    DistError,
    DistTimeoutError,
    NoSuchNodeError,
    NotAllowedError,
    ProtocolError,
    RejectedError,
    RpcError,
    RpcTimeoutError,
    UnreachableError,
    error_for_oserror,
    port_from_epmd,
)
from erlcookie.distribution.nodename import NodeName, random_probe_name
from erlcookie.distribution.terms import atom, to_python
from erlcookie.distribution.tls import TlsOptions, is_peer_refusal
from erlcookie.distribution.tls import describe as describe_tls
from erlcookie.distribution.verdicts import ACCEPTED, PingResult

__all__ = [
    "connect",
    "ping",
    "ping_many",
    "PingResult",
    "DistConnection",
    "TlsOptions",
    "NodeName",
    "atom",
    "to_python",
    "epmd_names",
    "epmd_port_please",
    "DistError",
    "RejectedError",
    "NotAllowedError",
    "NoSuchNodeError",
    "UnreachableError",
    "DistTimeoutError",
    "ProtocolError",
    "ConnectionLostError",
    "RpcError",
    "RpcTimeoutError",
    "EPMD_PORT",
]

READ_CHUNK = 64 * 1024
TICK_INTERVAL = 15.0  # a quarter of OTP's default net_ticktime of 60 s
CLOSE_WAIT = 1.0


class _Stage:
    """What we were waiting for, to say it when a timeout strikes."""

    def __init__(self, text: str) -> None:
        self.text = text


async def _open(
    host: str,
    port: int,
    what: str,
    *,
    ctx: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    has_client_cert: bool = True,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        if ctx is None:
            return await asyncio.open_connection(host, port, limit=READ_CHUNK)
        return await asyncio.open_connection(
            host, port, ssl=ctx, limit=READ_CHUNK, server_hostname=server_hostname or host
        )
    except ssl.SSLError as exc:
        cls = NotAllowedError if is_peer_refusal(exc) else ProtocolError
        raise cls(
            f"{what} at {host}:{port}: {describe_tls(exc, has_client_cert=has_client_cert)}"
        ) from None
    except OSError as exc:
        raise error_for_oserror(exc, what, host, port) from None


async def _read(reader: asyncio.StreamReader, what: str, *, has_client_cert: bool = True) -> bytes:
    """One chunk; b"" at end of stream (a reset counts as the end: nodes close abruptly)."""
    try:
        return await reader.read(READ_CHUNK)
    except (ConnectionResetError, BrokenPipeError):
        return b""
    except ssl.SSLError as exc:
        cls = NotAllowedError if is_peer_refusal(exc) else ProtocolError
        raise cls(f"{what}: {describe_tls(exc, has_client_cert=has_client_cert)}") from None


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if transport is not None and not transport.is_closing():
        transport.abort()


# -- EPMD ------------------------------------------------------------------------------------
_Reply = TypeVar("_Reply", covariant=True)


class _EpmdParser(Protocol[_Reply]):
    def receive_data(self, data: bytes) -> _Reply | None: ...


async def _epmd_exchange(
    host: str, port: int, request: bytes, parser: _EpmdParser[_Reply], stage: _Stage
) -> _Reply:
    stage.text = f"talking to EPMD at {host}:{port}"
    reader, writer = await _open(host, port, "EPMD")
    try:
        writer.write(request)
        while True:
            data = await _read(reader, f"EPMD at {host}:{port}")
            try:
                result = parser.receive_data(data)
            except epmd_codec.EpmdProtocolError as exc:
                raise ProtocolError(f"EPMD at {host}:{port}: {exc}") from None
            if result is not None:
                return result
    finally:
        _abort(writer)


async def epmd_port_please(
    host: str, alive: str, *, epmd_port: int = EPMD_PORT, timeout: float = 5.0
) -> epmd_codec.PortPlease2Event:
    """PORT_PLEASE2: a NodePort, or a NotRegistered when EPMD knows no such name."""
    stage = _Stage("connecting to EPMD")
    try:
        async with asyncio.timeout(timeout):
            return await _epmd_exchange(
                host,
                epmd_port,
                epmd_codec.encode_port_please2_req(alive),
                epmd_codec.PortPlease2Parser(),
                stage,
            )
    except TimeoutError:
        raise DistTimeoutError(f"no answer within {timeout:g}s while {stage.text}") from None


async def epmd_names(
    host: str = "localhost", *, epmd_port: int = EPMD_PORT, timeout: float = 5.0
) -> epmd_codec.NamesReply:
    """NAMES: the (name, port) pairs registered in the EPMD of `host`."""
    stage = _Stage("connecting to EPMD")
    try:
        async with asyncio.timeout(timeout):
            return await _epmd_exchange(
                host, epmd_port, epmd_codec.encode_names_req(), epmd_codec.NamesParser(), stage
            )
    except TimeoutError:
        raise DistTimeoutError(f"no answer within {timeout:g}s while {stage.text}") from None


# -- connecting ------------------------------------------------------------------------------
async def connect(
    node: str | NodeName,
    cookie: Cookie,
    *,
    timeout: float = 5.0,
    host: str | None = None,
    epmd_port: int = EPMD_PORT,
    dist_port: int | None = None,
    tls: TlsOptions | None = None,
    tick_interval: float = TICK_INTERVAL,
) -> DistConnection:
    """Handshake with `node`; returns an open DistConnection or raises a DistError.

    `host` replaces the node's host part for dialling (port-forwards, IPs); `dist_port`
    skips EPMD. With `tls` the distribution port is dialled over TLS (EPMD stays plain).
    """
    name = node if isinstance(node, NodeName) else NodeName.parse(node)
    if not isinstance(cookie, Cookie):
        raise TypeError("connect() takes the cookie as a Cookie object")
    ctx = tls.context() if tls is not None else None
    stage = _Stage("starting")
    try:
        async with asyncio.timeout(timeout):
            return await _connect(
                name,
                cookie,
                host or name.host,
                epmd_port,
                dist_port,
                ctx,
                tls,
                stage,
                tick_interval,
            )
    except TimeoutError:
        raise DistTimeoutError(
            f"no answer within {timeout:g}s while {stage.text}", node=str(name)
        ) from None
    except DistError as exc:
        if exc.node is None:
            raise type(exc)(exc.detail, node=str(name)) from None
        raise


async def _connect(
    name: NodeName,
    cookie: Cookie,
    dial_host: str,
    epmd_port: int,
    dist_port: int | None,
    ctx: ssl.SSLContext | None,
    tls: TlsOptions | None,
    stage: _Stage,
    tick_interval: float,
) -> DistConnection:
    if dist_port is None:
        answer: epmd_codec.PortPlease2Event = await _epmd_exchange(
            dial_host,
            epmd_port,
            epmd_codec.encode_port_please2_req(name.alive),
            epmd_codec.PortPlease2Parser(),
            stage,
        )
        port = port_from_epmd(answer, dial_host, epmd_port, name.alive)
    else:
        port = dist_port
    transport = "tls" if ctx is not None else "tcp"
    what = f"the node's distribution port{' (TLS)' if ctx else ''}"
    stage.text = f"connecting to {dial_host}:{port}{' over TLS' if ctx else ''}"
    has_cert = bool(tls and tls.certfile)
    reader, writer = await _open(
        dial_host,
        port,
        what,
        ctx=ctx,
        server_hostname=tls.server_name if tls else None,
        has_client_cert=has_cert,
    )
    try:
        sockname = writer.get_extra_info("sockname")
        our_name = random_probe_name(name, sockname[0] if sockname else None)
        machine = hs.ClientHandshake(
            str(our_name), cookie, peer_name=str(name), length_bytes=4 if ctx else 2
        )
        writer.write(machine.initiate())
        while True:
            stage.text = f"{hs.WAITING_FOR.get(machine.state, 'handshaking')} ({dial_host}:{port})"
            data = await _read(reader, f"{dial_host}:{port}", has_client_cert=has_cert)
            for event in machine.receive_data(data):
                if isinstance(event, hs.SendData):
                    writer.write(event.data)
                elif isinstance(event, hs.HandshakeFailed):
                    raise ERROR_FOR_VERDICT[event.verdict](event.detail)
                elif isinstance(event, hs.HandshakeComplete):
                    return DistConnection(
                        reader,
                        writer,
                        our_name=str(our_name),
                        creation=machine.creation,
                        peer_name=event.peer_name,
                        peer_flags=event.peer_flags,
                        peer_creation=event.peer_creation,
                        transport=transport,
                        address=(dial_host, port),
                        trailing=event.trailing,
                        tick_interval=tick_interval,
                    )
                elif isinstance(event, hs.StatusReceived):
                    pass  # a failing status comes with its HandshakeFailed
                else:
                    assert_never(event)
    except BaseException:
        _abort(writer)
        raise


# -- an open connection ----------------------------------------------------------------------
class DistConnection:
    """An authenticated hidden-node connection: rpc calls, ticks answered in the background.

    Several rpc calls may be in flight at once: each uses its own reply pid, and replies
    are matched by it.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        our_name: str,
        creation: int,
        peer_name: str,
        peer_flags: int,
        peer_creation: int,
        transport: str,
        address: tuple[str, int],
        trailing: bytes = b"",
        tick_interval: float = TICK_INTERVAL,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.our_name = our_name
        self.creation = creation
        self.peer_name = peer_name
        self.peer_flags = peer_flags
        self.peer_creation = peer_creation
        self.transport = transport
        self.address = address
        self._framing = framing.DistFraming()
        self._pending: dict[tuple[bytes, bytes], asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._error: DistError | None = None
        self._closing = False
        self._last_send = time.monotonic()
        self.ticks_received = 0
        self._tick_interval = tick_interval
        self._reader_task = asyncio.create_task(self._read_loop(trailing))
        self._ticker_task = asyncio.create_task(self._tick_loop())

    def __repr__(self) -> str:
        return f"<DistConnection {self.our_name} -> {self.peer_name} over {self.transport}>"

    async def __aenter__(self) -> DistConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closing or self._error is not None

    # -- rpc -----------------------------------------------------------------------------
    async def rpc(
        self, module: str, function: str, args: Sequence[Any] = (), *, timeout: float = 5.0
    ) -> Any:
        """Call module:function(args...) through the node's `rex` server; the decoded reply.

        Arguments may hold Cookie objects (sent as atoms, never shown). {badrpc, Reason}
        raises RpcError with the reason redacted; no answer in time raises RpcTimeoutError.
        """
        self._check_open()
        args = list(args)
        secrets = terms.secrets_in(args)
        n = next(self._ids)
        me = terms.pid(self.our_name, n & 0x7FFF, n >> 15, self.creation)
        key = (me.id, me.serial)
        what = f"{module}:{function}/{len(args)} on {self.peer_name}"
        packet = framing.encode_reg_send(
            me, "rex", (me, (atom("call"), atom(module), atom(function), args, atom("user")))
        )
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            self._write(packet)
            try:
                async with asyncio.timeout(timeout):
                    await self._writer.drain()
                    reply = await future
            except TimeoutError:
                raise RpcTimeoutError(f"{what}: no answer within {timeout:g}s") from None
            except (ConnectionError, ssl.SSLError):
                raise ConnectionLostError(
                    f"{what}: the connection broke", node=self.peer_name
                ) from None
        finally:
            self._pending.pop(key, None)
        if not (isinstance(reply, tuple) and len(reply) == 2 and _is_atom(reply[0], "rex")):
            raise ProtocolError(f"{what}: the answer is not {{rex, Reply}}", node=self.peer_name)
        result = reply[1]
        if isinstance(result, tuple) and len(result) == 2 and _is_atom(result[0], "badrpc"):
            reason = terms.redact(result[1], secrets)
            raise RpcError(f"{what} failed: {terms.safe_repr(reason)}", reason)
        return result

    # -- plumbing ----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closing:
            raise ConnectionLostError("the connection is closed", node=self.peer_name)

    def _write(self, data: bytes) -> None:
        self._check_open()
        self._writer.write(data)
        self._last_send = time.monotonic()

    def _handle(self, events: list[framing.FramingEvent]) -> bool:
        """Act on decoded events; False once the peer closed."""
        for event in events:
            if isinstance(event, framing.Tick):
                self.ticks_received += 1
                if not self._closing:
                    self._write(framing.TICK)
            elif isinstance(event, framing.DistMessage):
                target = event.to_pid
                if isinstance(target, terms.OtpErlangPid):
                    future = self._pending.get((target.id, target.serial))
                    if future is not None and not future.done():
                        future.set_result(event.message)
                # Anything else (links, monitors, stray sends) is not for us: ignored.
            elif isinstance(event, framing.Closed):
                return False
            else:
                assert_never(event)
        return True

    async def _feed(self, data: bytes) -> bool:
        # Decoding runs in a worker thread: it is bounded (terms.TermBudget), and the event
        # loop stays free to enforce deadlines and react to Ctrl-C meanwhile. Ticks and
        # end-of-stream need no decoding and stay on the loop.
        if len(data) <= 4 and not self._framing.buffered:
            return self._handle(self._framing.receive_data(data))
        return self._handle(await asyncio.to_thread(self._framing.receive_data, data))

    async def _read_loop(self, trailing: bytes) -> None:
        try:
            if trailing:
                await self._feed(trailing)
            while True:
                data = await _read(self._reader, self.peer_name)
                if not await self._feed(data):
                    break
            error: DistError = ConnectionLostError(
                "the node closed the connection", node=self.peer_name
            )
        except framing.FramingError as exc:
            error = ProtocolError(str(exc), node=self.peer_name)
        except DistError as exc:
            error = exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or an odd socket error: never leave callers hanging
            error = ProtocolError(f"connection failed: {type(exc).__name__}", node=self.peer_name)
        self._fail(error)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_interval / 2)
            if time.monotonic() - self._last_send >= self._tick_interval and not self.closed:
                try:
                    self._write(framing.TICK)
                except DistError:
                    return

    def _fail(self, error: DistError) -> None:
        if self._error is None and not self._closing:
            self._error = error
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        _abort(self._writer)

    async def close(self, wait: float = CLOSE_WAIT) -> None:
        """Close the connection (pending rpc calls fail with ConnectionLostError).

        Waits at most `wait` seconds for our last bytes to leave, then drops it.
        """
        if self._closing:
            return
        self._closing = True
        current = asyncio.current_task()
        for task in (self._ticker_task, self._reader_task):
            if task is not current:
                task.cancel()
        lost = ConnectionLostError("the connection was closed", node=self.peer_name)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(lost)
        try:
            self._writer.close()
            async with asyncio.timeout(max(wait, 0.0)):
                await self._writer.wait_closed()
        except (TimeoutError, OSError, ssl.SSLError):
            _abort(self._writer)
        await asyncio.gather(self._ticker_task, self._reader_task, return_exceptions=True)


def _is_atom(term: Any, name: str) -> bool:
    return isinstance(term, terms.OtpErlangAtom) and terms.atom_text(term) == name


# -- ping ------------------------------------------------------------------------------------
async def ping(
    node: str | NodeName,
    cookie: Cookie,
    *,
    timeout: float = 5.0,
    host: str | None = None,
    epmd_port: int = EPMD_PORT,
    dist_port: int | None = None,
    tls: TlsOptions | None = None,
) -> PingResult:
    """One handshake: does `node` accept `cookie`? Never raises for network outcomes."""
    name = node if isinstance(node, NodeName) else NodeName.parse(node)
    start = time.perf_counter()
    try:
        conn = await connect(
            name,
            cookie,
            timeout=timeout,
            host=host,
            epmd_port=epmd_port,
            dist_port=dist_port,
            tls=tls,
        )
    except DistError as exc:
        return PingResult(
            str(name),
            exc.verdict,
            exc.detail,
            time.perf_counter() - start,
            transport="tls" if tls else "tcp",
        )
    elapsed = time.perf_counter() - start
    try:
        return PingResult(
            str(name),
            ACCEPTED,
            "handshake completed, cookie accepted",
            elapsed,
            conn.peer_flags,
            conn.peer_name,
            f"{conn.address[0]}:{conn.address[1]}",
            conn.transport,
        )
    finally:
        await conn.close()


async def ping_many(
    nodes: Iterable[str | NodeName],
    cookie: Cookie,
    *,
    concurrency: int = 64,
    on_result: Callable[[PingResult], None] | None = None,
    **options: Any,
) -> list[PingResult]:
    """Ping every node, at most `concurrency` at a time; results in the order given."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    names = [n if isinstance(n, NodeName) else NodeName.parse(n) for n in nodes]
    gate = asyncio.Semaphore(concurrency)

    async def one(name: NodeName) -> PingResult:
        async with gate:
            result = await ping(name, cookie, **options)
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(n) for n in names)))
