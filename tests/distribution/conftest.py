"""Fixtures for the distribution tests: throwaway cookies and real nodes that clean up."""

from __future__ import annotations

import pytest

from erlcookie.cookie.generate import generate
from tests.support import nodes as node_support
from tests.support.otp_roots import require_or_skip


@pytest.fixture
def cookie():
    """A fresh random test cookie (a Cookie: its text never shows in a failure message)."""
    return generate("elixir")


@pytest.fixture
def other_cookie():
    return generate("elixir")


@pytest.fixture
def otp27_root():
    return require_or_skip("otp27")


@pytest.fixture
def otp29_root():
    return require_or_skip("otp29")


@pytest.fixture
def start_node():
    """start_node(cookie, kind=..., **launch options) -> TestNode, stopped at teardown."""
    started: list[node_support.TestNode] = []

    def factory(cookie, **kwargs):
        node = node_support.launch(cookie, **kwargs)
        started.append(node)
        return node

    yield factory
    for node in started:
        node.stop()


@pytest.fixture(scope="module")
def shared_cookie():
    return generate("elixir")


@pytest.fixture(scope="module")
def otp25_node(shared_cookie):
    """One OTP 25 node per test module (tests must not change its cookie)."""
    node = node_support.launch(shared_cookie, kind="otp25")
    yield node
    node.stop()
