"""A peer that completes the handshake and then attacks `erlcookie info` through its rpc
answers: zlib and list bombs, answers of the wrong shape, failures, silence. Each ends within
--timeout, in bounded memory, with exit 3 and no traceback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erlcookie.cli import cli
from erlcookie.distribution import terms
from tests.distribution.hostile import (
    FakeNode,
    nil_list,
    rex_reply_bomb,
    rex_server,
    serve,
    serve_in_thread,
)

NODE = "app@127.0.0.1"
SLACK = 2.0  # a loaded CI machine; the bombs took minutes before
MEMORY_BOUND = 100 * 1024 * 1024  # they took 2.4-3.6 GB before


@pytest.fixture
def cookie_file(tmp_path, cookie):
    path = tmp_path / "cookie"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(cookie.reveal())
    return str(path)


def constant(data: bytes | None):
    async def answer(call):
        return data

    return answer


def info_against(answer, cookie, cookie_file, *extra, timeout=3.0):
    """Run `info --json` in-process against a fake node; (result, seconds, tracemalloc peak)."""
    fake = FakeNode(NODE, cookie, after=rex_server(answer))
    with serve_in_thread(fake) as port:
        tracemalloc.start()
        started = time.monotonic()
        try:
            result = CliRunner().invoke(
                cli,
                [
                    "info",
                    NODE,
                    "--dist-port",
                    str(port),
                    "--timeout",
                    str(timeout),
                    "--cookie-file",
                    cookie_file,
                    "--json",
                    *extra,
                ],
                catch_exceptions=False,
            )
            took = time.monotonic() - started
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return result, took, peak


SIXTEEN_MILLION = 16 * 1024 * 1024


@pytest.mark.parametrize(
    "bomb,words",
    [
        # 16 KiB on the wire, 16 million elements inflated: refused by its declared size.
        (rex_reply_bomb(SIXTEEN_MILLION), "claims"),
        # The same, declaring a small size: inflating stops right after it.
        (rex_reply_bomb(SIXTEEN_MILLION, declared=1000), "does not match"),
        # Within the inflated-size limit: the element budget stops the walk.
        (rex_reply_bomb(terms.MAX_DECOMPRESSED - 16), "elements"),
        # Uncompressed, 4 MiB on the wire: the element budget again.
        (b"\x83h\x02w\x03rex" + nil_list(4 * 1024 * 1024), "elements"),
    ],
    ids=["declared-16M", "lying-size", "1M-elements", "plain-4M"],
)
def test_rpc_answer_bombs_end_in_time_and_bounded_memory(bomb, words, cookie, cookie_file):
    result, took, peak = info_against(constant(bomb), cookie, cookie_file)
    assert result.exit_code == 3, result.output
    assert took < 3.0 + SLACK
    assert peak < MEMORY_BOUND
    (node,) = json.loads(result.stdout)["nodes"]
    assert node["verdict"] == "accepted" and node["complete"] is False
    assert any(words in e for e in node["errors"]), node["errors"]


def test_misshapen_answers_are_errors_not_tracebacks(cookie, cookie_file):
    weird = terms.encode((terms.atom("rex"), (terms.atom("weird"), (1, 2), [3])))
    result, _, _ = info_against(constant(weird), cookie, cookie_file)
    assert result.exit_code == 3, result.output
    (node,) = json.loads(result.stdout)["nodes"]
    assert node["complete"] is False and node["own_cookie_matches"] is None
    assert any("not a string" in e for e in node["errors"])
    assert any("not an atom" in e for e in node["errors"])
    assert any("not a list of atoms" in e for e in node["errors"])
    # The table renders the same facts without a traceback.
    result, _, _ = info_against(constant(weird), cookie, cookie_file, "--timeout", "3")
    assert result.exit_code == 3


def test_misshapen_answers_never_quote_our_cookie(cookie, cookie_file):
    # A peer that completed the handshake knows the cookie; it may echo it in odd shapes.
    echo = terms.encode((terms.atom("rex"), (cookie, [cookie])))
    result, _, _ = info_against(constant(echo), cookie, cookie_file)
    assert result.exit_code == 3
    assert cookie.reveal() not in result.stdout and cookie.reveal() not in result.stderr
    assert "<redacted>" in result.stdout


def test_every_rpc_failing_after_the_handshake_is_exit_3(cookie, cookie_file):
    badrpc = terms.encode((terms.atom("rex"), (terms.atom("badrpc"), terms.atom("nodedown"))))
    fake = FakeNode(NODE, cookie, after=rex_server(constant(badrpc)))
    with serve_in_thread(fake) as port:
        result = CliRunner().invoke(
            cli,
            ["info", NODE, "--dist-port", str(port), "--cookie-file", cookie_file],
            catch_exceptions=False,
        )
    assert result.exit_code == 3, result.output
    assert "accepted" in result.stdout  # the handshake did succeed
    assert result.stdout.count("failed: nodedown") == 7  # and every question failed


def test_a_node_that_answers_correctly_but_too_slowly_hits_the_deadline(cookie, cookie_file):
    async def slow(call):
        await asyncio.sleep(0.7)  # each answer alone is within --timeout; all together not
        return terms.encode((terms.atom("rex"), [terms.atom("a@b")] * 3))

    result, took, _ = info_against(slow, cookie, cookie_file, timeout=1.0)
    assert took < 1.0 + SLACK
    assert result.exit_code == 3


def test_silent_node_ends_at_the_timeout(cookie, cookie_file):
    result, took, _ = info_against(constant(None), cookie, cookie_file, timeout=1.0)
    assert result.exit_code == 3
    assert took < 1.0 + SLACK
    (node,) = json.loads(result.stdout)["nodes"]
    assert node["complete"] is False and node["errors"]


def _peak_rss(pid: int) -> int | None:
    """The process's own peak RSS (VmHWM) in bytes, while it runs (Linux)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _run_child(args, *, on_started=None):
    """Start `python -m erlcookie` and wait for it; (exit code, seconds, peak RSS, stderr).

    The peak is sampled from /proc while the child runs: wait4's ru_maxrss would also count
    what the child inherited from this (large) test process before exec.
    """
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "erlcookie", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if on_started is not None:
        on_started(child)
    peak = 0
    try:
        stdout, stderr = b"", b""
        while True:
            peak = max(peak, _peak_rss(child.pid) or 0)
            try:
                stdout, stderr = child.communicate(timeout=0.02)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() - started > 60:
                    raise
    finally:
        child.kill()
        child.wait()
    return child.returncode, time.monotonic() - started, peak, stderr.decode()


def test_real_process_against_the_bomb(cookie, cookie_file):
    fake = FakeNode(NODE, cookie, after=rex_server(constant(rex_reply_bomb(SIXTEEN_MILLION))))
    with serve_in_thread(fake) as port:
        code, took, rss, stderr = _run_child(
            ["info", NODE, "--dist-port", str(port), "--timeout", "3", "--cookie-file", cookie_file]
        )
    assert code == 3, stderr
    assert "Traceback" not in stderr
    assert took < 3.0 + SLACK + 1.0  # plus interpreter start-up
    if sys.platform == "linux":
        assert 0 < rss < 150 * 1024 * 1024


def test_ctrl_c_ends_info_promptly(cookie, cookie_file):
    connected = threading.Event()

    async def silent(call):
        connected.set()
        return None

    def interrupt(child):
        assert connected.wait(20)
        child.send_signal(signal.SIGINT)

    fake = FakeNode(NODE, cookie, after=rex_server(silent))
    with serve_in_thread(fake) as port:
        started = time.monotonic()
        code, took, _, stderr = _run_child(
            [
                "info",
                NODE,
                "--dist-port",
                str(port),
                "--timeout",
                "60",
                "--cookie-file",
                cookie_file,
            ],
            on_started=interrupt,
        )
    assert code != 0
    assert time.monotonic() - started < 20
    assert "Traceback" not in stderr


# -- any answer at all -------------------------------------------------------------------------
erlang_terms = st.recursive(
    st.one_of(
        st.integers(-(2**40), 2**40),
        st.binary(max_size=20),
        st.booleans(),
        st.none(),
        st.sampled_from(["ok", "error", "nocookie", "a@b", "rex"]).map(terms.atom),
        st.binary(max_size=8).map(terms.binary),
        st.floats(allow_nan=False),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.tuples(inner, inner), st.lists(inner, max_size=3).map(tuple)
    ),
    max_leaves=12,
)


@settings(
    max_examples=int(os.environ.get("ERLCOOKIE_FUZZ_EXAMPLES", "60")),
    deadline=10_000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(reply=erlang_terms)
def test_any_answer_shape_gives_a_report_not_an_exception(reply, cookie):
    from erlcookie.distribution.info import node_info

    message = terms.encode((terms.atom("rex"), reply))

    async def check():
        async with serve(FakeNode(NODE, cookie, after=rex_server(constant(message)))) as port:
            return await node_info(NODE, cookie, dist_port=port, timeout=3.0)

    info = asyncio.run(asyncio.wait_for(check(), 30))
    assert info.verdict == "accepted"
    assert info.complete is (not info.errors) or info.own_cookie_matches is False
    json.dumps(info.to_dict())  # always serialisable for --json
