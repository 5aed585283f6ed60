"""Hostile and broken peers get protocol_error or timeout, within the timeout, bounded."""

from __future__ import annotations

import asyncio
import struct
import time
import tracemalloc

import pytest

from erlcookie.cookie.value import Cookie
from erlcookie.distribution.blocking import ping_blocking
from erlcookie.distribution.client import (
    ConnectionLostError,
    ProtocolError,
    connect,
    epmd_names,
    ping,
)
from erlcookie.distribution.errors import DistTimeoutError
from tests.distribution.hostile import FakeNode, fake_epmd, frame, port_reply, read_frame, serve
from tests.support.nodes import free_port

COOKIE = Cookie("hostile-test-cookie")
NODE = "app@127.0.0.1"
TIMEOUT = 1.0
SLACK = 1.0  # scheduling on a loaded CI machine; a hang would take far longer


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))  # a hang fails instead of blocking CI


@pytest.fixture(params=["asyncio", "blocking"])
def driver(request):
    """Each ping goes through the asyncio client and through the blocking driver."""
    return request.param


async def any_ping(driver: str, node: str, cookie: Cookie, **kwargs):
    if driver == "blocking":  # in a thread: the hostile servers share this event loop
        return await asyncio.to_thread(ping_blocking, node, cookie, **kwargs)
    return await ping(node, cookie, **kwargs)


async def ping_port(port: int, timeout: float = TIMEOUT, driver: str = "asyncio", **kwargs):
    started = time.monotonic()
    result = await any_ping(driver, NODE, COOKIE, dist_port=port, timeout=timeout, **kwargs)
    return result, time.monotonic() - started


# -- distribution port -------------------------------------------------------------------------
async def garbage(reader, writer):
    writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 10)
    await writer.drain()
    await asyncio.sleep(3600)


async def garbage_then_close(reader, writer):
    writer.write(b"\x00\x07garbage")
    await writer.drain()


async def wrong_type(reader, writer):
    await read_frame(reader)
    writer.write(frame(b"Xwhatever"))
    await asyncio.sleep(3600)


async def huge_length(reader, writer):
    await read_frame(reader)
    writer.write(b"\xff\xff")  # then never the 65535 bytes
    await asyncio.sleep(3600)


async def silent(reader, writer):
    await asyncio.sleep(3600)


async def closes_at_once(reader, writer):
    return


async def trickle(reader, writer):
    """A valid 'sok' status at once, then the challenge one byte a second."""
    writer.write(frame(b"sok"))
    for byte in frame(b"N" + bytes(100)):
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1)


async def endless(reader, writer):
    """Valid status, then an endless stream claiming a huge challenge message."""
    await read_frame(reader)
    writer.write(frame(b"sok") + b"\x20\x00")
    while True:
        writer.write(b"N" * 65536)
        await writer.drain()


@pytest.mark.parametrize(
    "handler,verdict,words",
    [
        (garbage, "protocol_error", None),
        (garbage_then_close, "protocol_error", None),
        (wrong_type, "protocol_error", "status message"),
        (huge_length, "protocol_error", "beyond any real one"),
        (silent, "timeout", "waiting for the node's answer"),
        (closes_at_once, "not_allowed", "closed the connection"),
        (trickle, "timeout", "challenge"),
        (endless, "protocol_error", "beyond any real one"),
    ],
)
def test_bad_distribution_ports(handler, verdict, words, driver):
    async def check():
        async with serve(handler) as port:
            return await ping_port(port, driver=driver)

    result, took = run(check())
    assert result.verdict == verdict, result.detail
    if words:
        assert words in result.detail
    assert took < TIMEOUT + SLACK


def test_impostor_ack_is_caught(driver):
    fake = FakeNode(NODE, Cookie("not-the-cookie"), forge_ack=True)

    async def check():
        async with serve(fake) as port:
            return await ping_port(port, driver=driver)

    result, _ = run(check())
    assert result.verdict == "protocol_error"
    assert "impostor" in result.detail


def test_fake_node_with_the_cookie_is_accepted(driver):
    fake = FakeNode(NODE, COOKIE)

    async def check():
        async with serve(fake) as port:
            return await ping_port(port, driver=driver)

    result, _ = run(check())
    assert result.verdict == "accepted", result.detail
    assert fake.digests_received == 1


# -- after the handshake ---------------------------------------------------------------------
async def _rpc_against(after, timeout=2.0):
    fake = FakeNode(NODE, COOKIE, after=after)
    async with serve(fake) as port:
        conn = await connect(NODE, COOKIE, dist_port=port, timeout=TIMEOUT)
        started = time.monotonic()
        try:
            with pytest.raises(Exception) as info:
                await conn.rpc("erlang", "node", [], timeout=timeout)
        finally:
            await conn.close()
        return info.value, time.monotonic() - started


async def _huge_packet(reader, writer):
    writer.write(struct.pack(">I", 0xFFFFFFF0) + b"p")
    await asyncio.sleep(3600)


async def _garbage_packet(reader, writer):
    writer.write(frame(b"p\x83\xff\xff", width=4))
    await asyncio.sleep(3600)


async def _close_after(reader, writer):
    await asyncio.sleep(0.1)


async def _no_pass_through(reader, writer):
    writer.write(frame(b"\x83j", width=4))
    await asyncio.sleep(3600)


@pytest.mark.parametrize(
    "after,error,words",
    [
        (_huge_packet, ProtocolError, "exceeds"),
        (_garbage_packet, ProtocolError, "bad term"),
        (_no_pass_through, ProtocolError, "pass-through"),
        (_close_after, ConnectionLostError, "closed"),
    ],
)
def test_broken_connection_fails_pending_rpc(after, error, words):
    exc, took = run(_rpc_against(after))
    assert isinstance(exc, error)
    assert words in str(exc)
    assert took < 1.0 + SLACK


def test_tick_flood_is_answered_with_bounded_memory():
    sent = 20000

    async def flood(reader, writer):
        writer.write(b"\x00\x00\x00\x00" * sent)
        await writer.drain()
        await asyncio.sleep(3600)

    async def check():
        fake = FakeNode(NODE, COOKIE, after=flood)
        async with serve(fake) as port:
            conn = await connect(NODE, COOKIE, dist_port=port, timeout=TIMEOUT)
            deadline = time.monotonic() + 5
            while conn.ticks_received < sent and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await conn.close()
            return conn.ticks_received

    assert run(check()) == sent


# -- EPMD --------------------------------------------------------------------------------------
async def _ping_via_epmd(epmd_handler, timeout=TIMEOUT, driver="asyncio"):
    async with serve(epmd_handler) as epmd_port:
        started = time.monotonic()
        result = await any_ping(driver, NODE, COOKIE, epmd_port=epmd_port, timeout=timeout)
        return result, time.monotonic() - started


def test_epmd_lies_about_the_port(driver):
    closed = free_port()

    async def to_closed():
        return await _ping_via_epmd(fake_epmd(port_reply(closed)), driver=driver)

    result, took = run(to_closed())
    assert result.verdict == "unreachable" and str(closed) in result.detail
    assert took < TIMEOUT

    async def to_garbage():
        async with serve(garbage) as bad:
            return await _ping_via_epmd(fake_epmd(port_reply(bad)), driver=driver)

    result, took = run(to_garbage())
    assert result.verdict == "protocol_error" and took < TIMEOUT + SLACK

    async def to_silent():
        async with serve(silent) as quiet:
            return await _ping_via_epmd(fake_epmd(port_reply(quiet)), driver=driver)

    result, took = run(to_silent())
    assert result.verdict == "timeout" and took < TIMEOUT + SLACK


@pytest.mark.parametrize(
    "reply,verdict,words",
    [
        (port_reply(0), "protocol_error", "port 0"),
        (port_reply(4000, high=5, low=5), "protocol_error", "not 6"),
        (port_reply(4000, high=5, low=6), "protocol_error", "version range"),
        (b"\x77", "protocol_error", "closed"),
        (b"garbage!", "protocol_error", "message type"),
        (bytes([119, 1]), "no_such_node", "knows no node"),
    ],
)
def test_epmd_broken_answers(reply, verdict, words, driver):
    result, took = run(_ping_via_epmd(fake_epmd(reply), driver=driver))
    assert result.verdict == verdict, result.detail
    assert words in result.detail
    assert took < TIMEOUT + SLACK


def test_epmd_silent_and_trickling(driver):
    async def slow_epmd(reader, writer):
        await read_frame(reader)
        for byte in port_reply(4000):
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1)

    for handler in (silent, slow_epmd):
        result, took = run(_ping_via_epmd(handler, driver=driver))
        assert result.verdict == "timeout" and "EPMD" in result.detail
        assert took < TIMEOUT + SLACK


def test_epmd_names_endless_stream_is_bounded():
    async def endless_names(reader, writer):
        await read_frame(reader)
        writer.write(b"\x00\x00\x11\x11")
        line = b"name x at port 1\n" * 4000
        while True:
            writer.write(line)
            await writer.drain()

    async def check():
        async with serve(endless_names) as port:
            tracemalloc.start()
            try:
                with pytest.raises(ProtocolError, match="larger than"):
                    await epmd_names("127.0.0.1", epmd_port=port, timeout=10)
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    peak = run(check())
    assert peak < 16 * 1024 * 1024


def test_epmd_names_timeout_and_refusal():
    async def check():
        async with serve(silent) as port:
            with pytest.raises(DistTimeoutError):
                await epmd_names("127.0.0.1", epmd_port=port, timeout=0.3)

    run(check())
    with pytest.raises(Exception) as info:
        run(epmd_names("127.0.0.1", epmd_port=free_port(), timeout=1))
    assert info.value.verdict == "unreachable"


def test_unresolvable_host(driver):
    result = run(any_ping(driver, "app@no-such-host.invalid", COOKIE, timeout=3))
    assert result.verdict in ("unreachable", "timeout")
