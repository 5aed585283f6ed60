"""Small local asyncio servers that misbehave, for the hostile-peer tests (loopback only)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import struct
import threading
import zlib
from collections.abc import Awaitable, Callable

from erlcookie.cookie.value import Cookie
from erlcookie.distribution import handshake as hs
from erlcookie.distribution import terms

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serve(handler: Handler):
    """Run `handler` for each connection on 127.0.0.1:<free port>; yields the port."""
    tasks: set[asyncio.Task] = set()

    async def wrapped(reader, writer):
        tasks.add(asyncio.current_task())
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1)


def frame(body: bytes, width: int = 2) -> bytes:
    return struct.pack(">H" if width == 2 else ">I", len(body)) + body


async def read_frame(reader: asyncio.StreamReader, width: int = 2) -> bytes:
    (n,) = struct.unpack(">H" if width == 2 else ">I", await reader.readexactly(width))
    return await reader.readexactly(n)


def digest(challenge: int, cookie: Cookie) -> bytes:
    return hashlib.md5(cookie.as_bytes() + str(challenge).encode()).digest()


class FakeNode:
    """The acceptor side of the handshake, with switches for lying.

    `forge_ack`: answer with a wrong ack digest (a server that does not know the cookie
    but claims to accept it). `after`: what to do once connected, given the streams.
    """

    def __init__(
        self, name: str, cookie: Cookie, *, forge_ack: bool = False, after: Handler | None = None
    ) -> None:
        self.name = name
        self.cookie = cookie
        self.forge_ack = forge_ack
        self.after = after
        self.digests_received = 0

    async def __call__(self, reader, writer):
        msg = await read_frame(reader)
        assert msg[:1] == b"N"
        writer.write(frame(b"sok"))
        challenge = 0x12345678
        name = self.name.encode()
        writer.write(
            frame(
                b"N"
                + struct.pack(
                    ">QIIH", hs.DEFAULT_FLAGS | hs.DFLAG_PUBLISHED, challenge, 7, len(name)
                )
                + name
            )
        )
        reply = await read_frame(reader)
        self.digests_received += 1
        their_challenge = struct.unpack(">I", reply[1:5])[0]
        if reply[5:] != digest(challenge, self.cookie) and not self.forge_ack:
            return  # like OTP: close on a wrong cookie
        ack = digest(their_challenge, self.cookie)
        if self.forge_ack:
            ack = bytes(16)
        writer.write(frame(b"a" + ack))
        await writer.drain()
        if self.after is not None:
            await self.after(reader, writer)
        else:
            await asyncio.sleep(3600)


def fake_epmd(port_reply: bytes | Callable[[], Awaitable[None]]) -> Handler:
    """An EPMD answering every PORT_PLEASE2 with `port_reply` (bytes), then closing."""

    async def handler(reader, writer):
        await read_frame(reader)
        writer.write(port_reply)
        await writer.drain()

    return handler


def port_reply(port: int, *, high: int = 6, low: int = 6, name: bytes = b"app") -> bytes:
    return (
        bytes([119, 0])
        + struct.pack(">HBBHHH", port, 77, 0, high, low, len(name))
        + name
        + b"\x00\x00"
    )


# -- after the handshake: a rex server that answers with what the test chooses -----------------
Answer = Callable[[tuple], Awaitable[bytes | None]]


def reply_packet(to_pid, message: bytes) -> bytes:
    """A SEND packet {2, '', ToPid} carrying `message` (already an encoded term)."""
    body = b"p" + terms.encode((2, terms.atom(""), to_pid)) + message
    return struct.pack(">I", len(body)) + body


def rex_server(answer: Answer) -> Handler:
    """After the handshake, read rpc calls and answer each with `await answer(call)`.

    `call` is the {call, M, F, Args, user} tuple; `answer` returns the encoded message
    term to send back, or None to stay silent.
    """

    async def handler(reader, writer):
        while True:
            (n,) = struct.unpack(">I", await reader.readexactly(4))
            if n == 0:
                continue
            body = await reader.readexactly(n)
            control, message = terms.decode_all(body, 1)
            from_pid, call = message
            data = await answer(call)
            if data is not None:
                writer.write(reply_packet(from_pid, data))
                await writer.drain()

    return handler


def nil_list(n: int) -> bytes:
    """The body of a list of n empty lists (one byte per element)."""
    return b"l" + struct.pack(">I", n) + b"j" * n + b"j"


def rex_reply_bomb(elements: int, *, declared: int | None = None) -> bytes:
    """{rex, [[], [], ...]} compressed: `elements` elements in a few KiB on the wire."""
    inner = b"h\x02w\x03rex" + nil_list(elements)
    size = len(inner) if declared is None else declared
    return b"\x83P" + struct.pack(">I", size) + zlib.compress(inner, 9)


@contextlib.contextmanager
def serve_in_thread(handler: Handler):
    """`serve` on an event loop of its own thread, for code under test that runs its own loop
    (the CLI); yields the port."""
    loop = asyncio.new_event_loop()
    ready: concurrent.futures.Future[int] = concurrent.futures.Future()
    stop = asyncio.Event()

    async def main():
        async with serve(handler) as port:
            ready.set_result(port)
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        yield ready.result(timeout=10)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
