"""The client against real nodes: OTP 25 (host), OTP 27 (debootstrap root), Elixir."""

from __future__ import annotations

import asyncio
import time

import pytest

from erlcookie.distribution import terms
from erlcookie.distribution.client import (
    ConnectionLostError,
    DistTimeoutError,
    RejectedError,
    RpcError,
    RpcTimeoutError,
    atom,
    connect,
    epmd_names,
    ping,
    ping_many,
    to_python,
)
from tests.support.nodes import free_port
from tests.support.redaction import assert_not_shown, assert_same_secret

pytestmark = pytest.mark.interop

KINDS = ["otp25", pytest.param("otp27", marks=pytest.mark.otp27), "elixir"]


def _launch(start_node, cookie, kind, request, **kwargs):
    if kind == "otp27":
        kwargs["otp_root"] = request.getfixturevalue("otp27_root")
    return start_node(cookie, kind=kind, **kwargs)


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("kind", KINDS)
def test_right_wrong_cookie_and_rpc(kind, start_node, cookie, other_cookie, request):
    node = _launch(start_node, cookie, kind, request)

    ok = run(ping(node.name, cookie, timeout=10))
    assert ok.verdict == "accepted", ok.detail
    assert ok.peer_name == node.name
    assert ok.elapsed < 5

    bad = run(ping(node.name, other_cookie, timeout=10))
    assert bad.verdict == "rejected", bad.detail
    # The node's own log confirms why: it checked our digest and refused it.
    assert node.wait_for_log("Invalid challenge reply"), "node did not log the bad digest"

    async def rpc_calls():
        async with await connect(node.name, cookie, timeout=10) as conn:
            release = await conn.rpc("erlang", "system_info", [atom("otp_release")])
            me = await conn.rpc("erlang", "node", [])
            connected = await conn.rpc("erlang", "nodes", [[atom("visible"), atom("hidden")]])
            return (
                terms.text(release),
                terms.atom_text(me),
                [terms.atom_text(n) for n in connected],
                conn.our_name,
            )

    release, me, connected, our_name = run(rpc_calls())
    expected_release = node.eval("erlang:system_info(otp_release).").decode()
    assert release == expected_release
    assert release == {"otp25": "25", "otp27": "27", "elixir": "25"}[kind]
    assert me == node.name
    assert our_name in connected  # we were connected as a hidden node
    assert our_name.startswith("erlcookie-")


def test_hidden_and_never_registered(otp25_node, shared_cookie):
    async def check():
        async with await connect(otp25_node.name, shared_cookie) as conn:
            hidden = otp25_node.eval("[atom_to_list(N) || N <- nodes(hidden)].")
            visible = otp25_node.eval("nodes(visible).")
            names = await epmd_names("127.0.0.1")
            return conn.our_name, hidden, visible, names

    our_name, hidden, visible, names = run(check())
    assert [h.decode() if isinstance(h, bytes) else terms.text(h) for h in hidden] == [our_name]
    assert visible == []
    alive = our_name.split("@")[0]
    assert alive not in [n for n, _ in names.nodes]
    assert otp25_node.alive in [n for n, _ in names.nodes]


def test_unknown_node_and_epmd_down(otp25_node, shared_cookie):
    result = run(ping(f"nosuchnode@{otp25_node.host}", shared_cookie))
    assert result.verdict == "no_such_node"
    # No EPMD on this port: nothing listens there.
    down = run(ping(otp25_node.name, shared_cookie, epmd_port=free_port()))
    assert down.verdict == "unreachable"
    assert "EPMD" in down.detail and "refused" in down.detail


def test_host_and_dist_port_overrides(otp25_node, shared_cookie):
    port = otp25_node.dist_port()
    direct = run(ping(otp25_node.name, shared_cookie, host="127.0.0.1", dist_port=port))
    assert direct.verdict == "accepted", direct.detail
    assert direct.address == f"127.0.0.1:{port}"
    via_host = run(ping(otp25_node.name, shared_cookie, host="127.0.0.1"))
    assert via_host.verdict == "accepted", via_host.detail
    # A port where no node listens (a stale port-forward): unreachable, quickly.
    stale = run(ping(otp25_node.name, shared_cookie, host="127.0.0.1", dist_port=free_port()))
    assert stale.verdict == "unreachable"


def test_wrong_node_behind_the_port_gets_no_digest(start_node, cookie):
    # Asking for node A but dialling node B's port: we stop before sending our digest.
    node_b = start_node(cookie)
    result = run(ping(f"someoneelse@{node_b.host}", cookie, dist_port=node_b.dist_port()))
    assert result.verdict == "protocol_error"
    assert node_b.name in result.detail
    assert "Invalid challenge reply" not in node_b.log_text()


@pytest.mark.parametrize(
    "kind", ["otp25", pytest.param("otp27", marks=pytest.mark.otp27), "elixir"]
)
def test_long_names(kind, start_node, cookie, request):
    node = _launch(start_node, cookie, kind, request, long_names=True, host="127.0.0.1")
    assert node.name.endswith("@127.0.0.1")

    async def check():
        async with await connect(node.name, cookie) as conn:
            return conn.our_name, terms.atom_text(await conn.rpc("erlang", "node", []))

    our_name, remote = run(check())
    assert remote == node.name
    assert our_name.split("@")[1] == "127.0.0.1"  # our name is long too


def test_badrpc_is_raised_and_redacted(otp25_node, shared_cookie):
    async def check():
        async with await connect(otp25_node.name, shared_cookie) as conn:
            with pytest.raises(RpcError) as undef:
                await conn.rpc("no_such_module", "f", [1, 2])
            with pytest.raises(RpcError) as badarg:
                # badarg whose stack trace carries our arguments, including the cookie
                await conn.rpc("erlang", "set_cookie", ["not-an-atom", shared_cookie])
            # the connection is still usable after errors
            after = await conn.rpc("erlang", "node", [])
            return undef.value, badarg.value, after

    undef, badarg, after = run(check())
    assert "undef" in str(undef)
    assert to_python(undef.reason)[0] == "EXIT"
    assert_not_shown(
        shared_cookie, str(badarg), repr(badarg.reason), terms.safe_repr(badarg.reason)
    )
    assert "<redacted>" in str(badarg)
    assert terms.atom_text(after) == otp25_node.name


def test_cookie_atom_argument_reaches_the_node(start_node, cookie, other_cookie):
    node = start_node(cookie)
    peer = "pinned@somewhere"

    async def pin():
        async with await connect(node.name, cookie) as conn:
            return await conn.rpc("erlang", "set_cookie", [atom(peer), other_cookie])

    assert run(pin()) is True
    pinned = node.eval(f"atom_to_list(erlang:get_cookie('{peer}')).")
    assert_same_secret(pinned, other_cookie, "the pinned cookie")


def test_concurrent_rpc_calls_are_matched(otp25_node, shared_cookie):
    async def check():
        async with await connect(otp25_node.name, shared_cookie) as conn:
            # Slow calls finish in the reverse order of sending: one after another they
            # would take 1.2 s, in flight together about 0.6 s.
            calls = [conn.rpc("timer", "sleep", [ms]) for ms in (600, 400, 200)]
            calls += [conn.rpc("erlang", "abs", [-i]) for i in range(20)]
            started = time.monotonic()
            results = await asyncio.gather(*calls)
            return results, time.monotonic() - started

    results, took = run(check())
    assert results[:3] == [terms.atom("ok")] * 3
    assert results[3:] == list(range(20))
    assert took < 1.1  # in flight together, not one after another


def test_rpc_timeout_and_connection_loss(start_node, cookie):
    node = start_node(cookie)

    async def check():
        conn = await connect(node.name, cookie)
        with pytest.raises(RpcTimeoutError):
            await conn.rpc("timer", "sleep", [2000], timeout=0.3)
        assert terms.atom_text(await conn.rpc("erlang", "node", [])) == node.name
        pending = asyncio.create_task(conn.rpc("timer", "sleep", [5000], timeout=10))
        await asyncio.sleep(0.2)
        node.eval(f"erlang:disconnect_node('{conn.our_name}').")
        with pytest.raises(ConnectionLostError):
            await pending
        with pytest.raises(ConnectionLostError):
            await conn.rpc("erlang", "node", [])
        await conn.close()

    run(check())


def test_ticks_keep_an_idle_connection_alive(start_node, cookie):
    # net_ticktime 4 s: a peer that neither ticks nor answers is dropped after about 4 s.
    node = start_node(cookie, extra_args=["-kernel", "net_ticktime", "4"])

    async def check():
        async with await connect(node.name, cookie, tick_interval=1.0) as conn:
            await asyncio.sleep(7)
            hidden = node.eval("[atom_to_list(N) || N <- nodes(hidden)].")
            value = await conn.rpc("erlang", "node", [])
            return conn.our_name, hidden, value, conn.ticks_received

    our_name, hidden, value, ticks = run(check())
    assert [h.decode() for h in hidden] == [our_name]
    assert terms.atom_text(value) == node.name
    assert ticks >= 1  # the node ticked us and we answered


def test_ping_many_in_one_loop(start_node, cookie, other_cookie):
    good = [start_node(cookie) for _ in range(3)]
    odd = start_node(other_cookie)
    names = [n.name for n in good] + [odd.name, f"ghost@{good[0].host}"]
    seen = []
    results = run(ping_many(names, cookie, concurrency=2, on_result=seen.append, timeout=10))
    assert [r.node for r in results] == names
    assert [r.verdict for r in results] == ["accepted"] * 3 + ["rejected", "no_such_node"]
    assert len(seen) == 5


def test_timeout_is_bounded_by_a_silent_node(start_node, cookie):
    # A node stopped with SIGSTOP accepts TCP (the kernel does) but never answers.
    node = start_node(cookie)
    port = node.dist_port()
    import os
    import signal

    os.killpg(node.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        result = run(ping(node.name, cookie, dist_port=port, timeout=0.5))
        took = time.monotonic() - started
    finally:
        os.killpg(node.proc.pid, signal.SIGCONT)
    assert result.verdict == "timeout"
    assert "waiting for the node's answer" in result.detail
    assert took < 0.5 + 1.0  # the timeout plus scheduling slack on a loaded machine
    with pytest.raises(DistTimeoutError):
        os.killpg(node.proc.pid, signal.SIGSTOP)
        try:
            run(connect(node.name, cookie, dist_port=port, timeout=0.3))
        finally:
            os.killpg(node.proc.pid, signal.SIGCONT)


def test_connect_raises_rejected(otp25_node, other_cookie):
    with pytest.raises(RejectedError) as info:
        run(connect(otp25_node.name, other_cookie))
    assert info.value.verdict == "rejected"
    assert_not_shown(other_cookie, str(info.value), repr(info.value))


@pytest.mark.parametrize("kind", KINDS)
def test_blocking_driver_against_real_nodes(kind, start_node, cookie, other_cookie, request):
    from erlcookie.distribution.blocking import ping_blocking

    node = _launch(start_node, cookie, kind, request)
    ok = ping_blocking(node.name, cookie, timeout=10)
    assert ok.verdict == "accepted", ok.detail
    assert ok.peer_name == node.name and ok.peer_flags
    assert ping_blocking(node.name, other_cookie, timeout=10).verdict == "rejected"
    assert ping_blocking(f"ghost@{node.host}", cookie).verdict == "no_such_node"
    assert ping_blocking(node.name, cookie, epmd_port=free_port()).verdict == "unreachable"
    direct = ping_blocking(node.name, cookie, host="127.0.0.1", dist_port=node.dist_port())
    assert direct.verdict == "accepted" and direct.address.startswith("127.0.0.1:")


def test_blocking_driver_long_names(start_node, cookie):
    from erlcookie.distribution.blocking import ping_blocking

    node = start_node(cookie, long_names=True, host="127.0.0.1")
    assert ping_blocking(node.name, cookie).verdict == "accepted"
