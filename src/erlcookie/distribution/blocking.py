"""A blocking driver for a one-shot ping: the same sans-IO codecs over plain sockets.

`erlcookie ping NODE` is mostly process start-up: importing asyncio (and ssl, which it
pulls in) costs more than the handshake itself. For one node this driver does the same
EPMD lookup and handshake with blocking sockets; each operation waits at most what is left
of the one deadline, name resolution included. Many nodes, TLS-only features and rpc go
through the asyncio client. Verdicts and messages are the same as the client's.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, assert_never

if TYPE_CHECKING:
    import ssl

    from erlcookie.distribution.tls import TlsOptions

from erlcookie.cookie.value import Cookie
from erlcookie.distribution import epmd as epmd_codec
from erlcookie.distribution import handshake as hs
from erlcookie.distribution.epmd import EPMD_PORT
from erlcookie.distribution.errors import (
    ERROR_FOR_VERDICT,
    DistError,
    DistTimeoutError,
    NotAllowedError,
    ProtocolError,
    error_for_oserror,
    port_from_epmd,
)
from erlcookie.distribution.nodename import NodeName, random_probe_name
from erlcookie.distribution.verdicts import ACCEPTED, PingResult

READ_CHUNK = 64 * 1024


class _Deadline:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.end = time.monotonic() + timeout
        self.stage = "starting"

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise self.expired()
        return remaining

    def expired(self) -> DistTimeoutError:
        return DistTimeoutError(f"no answer within {self.timeout:g}s while {self.stage}")


_AddrInfo = list[tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]]
# An ssl error type, and how to turn one into a DistError (None without TLS).
_TlsErrors = tuple[type[OSError], Callable[[OSError, str], DistError]] | None


def _resolve(host: str, port: int, deadline: _Deadline) -> _AddrInfo:
    """getaddrinfo bounded by the deadline (it has no timeout of its own)."""
    box: dict[str, Any] = {}

    def lookup() -> None:
        try:
            box["ok"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["err"] = exc

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(deadline.left())
    if worker.is_alive():
        raise deadline.expired()
    if "err" in box:
        raise box["err"]
    found: _AddrInfo = box["ok"]
    return found


def _open(host: str, port: int, what: str, deadline: _Deadline) -> socket.socket:
    try:
        last: OSError | None = None
        for family, kind, proto, _, address in _resolve(host, port, deadline):
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(deadline.left())
                sock.connect(address)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except TimeoutError:
                sock.close()
                raise deadline.expired() from None
            except OSError as exc:
                sock.close()
                last = exc
        raise last or OSError("no address")
    except DistError:
        raise
    except OSError as exc:
        raise error_for_oserror(exc, what, host, port) from None


def _recv(
    sock: socket.socket, deadline: _Deadline, what: str, tls_errors: _TlsErrors = None
) -> bytes:
    sock.settimeout(deadline.left())
    try:
        return sock.recv(READ_CHUNK)
    except TimeoutError:
        raise deadline.expired() from None
    except (ConnectionResetError, BrokenPipeError):
        return b""
    except OSError as exc:
        if tls_errors is not None and isinstance(exc, tls_errors[0]):
            raise tls_errors[1](exc, what) from None
        raise ProtocolError(f"{what}: {exc.strerror or type(exc).__name__}") from None


def _send(sock: socket.socket, data: bytes, deadline: _Deadline) -> None:
    sock.settimeout(deadline.left())
    try:
        sock.sendall(data)
    except TimeoutError:
        raise deadline.expired() from None
    except OSError:
        pass  # the peer went away; the next read tells how


def _port_please(host: str, epmd_port: int, alive: str, deadline: _Deadline) -> int:
    deadline.stage = f"talking to EPMD at {host}:{epmd_port}"
    sock = _open(host, epmd_port, "EPMD", deadline)
    try:
        _send(sock, epmd_codec.encode_port_please2_req(alive), deadline)
        parser = epmd_codec.PortPlease2Parser()
        while True:
            try:
                answer = parser.receive_data(_recv(sock, deadline, f"EPMD at {host}:{epmd_port}"))
            except epmd_codec.EpmdProtocolError as exc:
                raise ProtocolError(f"EPMD at {host}:{epmd_port}: {exc}") from None
            if answer is not None:
                return port_from_epmd(answer, host, epmd_port, alive)
    finally:
        sock.close()


def _tls_wrap(
    sock: socket.socket, tls: TlsOptions, host: str, port: int, deadline: _Deadline
) -> tuple[ssl.SSLSocket, _TlsErrors]:
    import ssl

    from erlcookie.distribution.tls import describe, is_peer_refusal

    def as_error(exc: OSError, what: str) -> DistError:
        cls = NotAllowedError if is_peer_refusal(exc) else ProtocolError
        return cls(f"{what}: {describe(exc, has_client_cert=bool(tls.certfile))}")

    sock.settimeout(deadline.left())
    try:
        wrapped = tls.context().wrap_socket(sock, server_hostname=tls.server_name or host)
    except TimeoutError:
        sock.close()
        raise deadline.expired() from None
    except ssl.SSLError as exc:
        sock.close()
        raise as_error(exc, f"the node's distribution port (TLS) at {host}:{port}") from None
    return wrapped, (ssl.SSLError, as_error)


def ping_blocking(
    node: str | NodeName,
    cookie: Cookie,
    *,
    timeout: float = 5.0,
    host: str | None = None,
    epmd_port: int = EPMD_PORT,
    dist_port: int | None = None,
    tls: TlsOptions | None = None,
) -> PingResult:
    """Like client.ping, for one node, without an event loop. Never raises for network outcomes."""
    name = node if isinstance(node, NodeName) else NodeName.parse(node)
    dial_host = host or name.host
    started = time.perf_counter()
    deadline = _Deadline(timeout)
    transport = "tls" if tls is not None else "tcp"
    try:
        port = dist_port or _port_please(dial_host, epmd_port, name.alive, deadline)
        deadline.stage = f"connecting to {dial_host}:{port}{' over TLS' if tls else ''}"
        what = f"the node's distribution port{' (TLS)' if tls else ''}"
        sock = _open(dial_host, port, what, deadline)
        tls_errors = None
        if tls is not None:
            sock, tls_errors = _tls_wrap(sock, tls, dial_host, port, deadline)
        try:
            our_name = random_probe_name(name, sock.getsockname()[0])
            machine = hs.ClientHandshake(
                str(our_name), cookie, peer_name=str(name), length_bytes=4 if tls else 2
            )
            _send(sock, machine.initiate(), deadline)
            while True:
                deadline.stage = (
                    f"{hs.WAITING_FOR.get(machine.state, 'handshaking')} ({dial_host}:{port})"
                )
                for event in machine.receive_data(
                    _recv(sock, deadline, f"{dial_host}:{port}", tls_errors)
                ):
                    if isinstance(event, hs.SendData):
                        _send(sock, event.data, deadline)
                    elif isinstance(event, hs.HandshakeFailed):
                        raise ERROR_FOR_VERDICT[event.verdict](event.detail)
                    elif isinstance(event, hs.HandshakeComplete):
                        return PingResult(
                            str(name),
                            ACCEPTED,
                            "handshake completed, cookie accepted",
                            time.perf_counter() - started,
                            event.peer_flags,
                            event.peer_name,
                            f"{dial_host}:{port}",
                            transport,
                        )
                    elif isinstance(event, hs.StatusReceived):
                        pass  # a failing status comes with its HandshakeFailed
                    else:
                        assert_never(event)
        finally:
            sock.close()
    except DistError as exc:
        return PingResult(
            str(name), exc.verdict, exc.detail, time.perf_counter() - started, transport=transport
        )
