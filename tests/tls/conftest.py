"""Fixtures for the TLS tests: a CLI runner and throwaway cookies."""

from __future__ import annotations

import pytest

from erlcookie.cookie.generate import generate


@pytest.fixture
def cookie():
    return generate("elixir")


@pytest.fixture
def run_cli():
    """run_cli(*args) -> click Result of `erlcookie ARGS` (stdout and stderr apart)."""
    from click.testing import CliRunner

    from erlcookie.cli import cli

    def run(*args):
        return CliRunner().invoke(cli, [str(a) for a in args])

    return run


def otp29_root_or_none():
    """Debian sid's OTP 29 root (ERLCOOKIE_OTP29_ROOT, default /var/cache/erlcookie/sid),
    or None when absent. With ERLCOOKIE_REQUIRE_OTP29=1 an absent root fails the test."""
    import os
    from pathlib import Path

    root = Path(os.environ.get("ERLCOOKIE_OTP29_ROOT") or "/var/cache/erlcookie/sid")
    if (root / "usr" / "bin" / "erl").exists() and (root / "tmp").is_dir():
        return root
    if os.environ.get("ERLCOOKIE_REQUIRE_OTP29") == "1":
        pytest.fail(f"ERLCOOKIE_REQUIRE_OTP29=1 but there is no OTP 29 root at {root}")
    return None


def launch_chrooted(cookie, root, kind, **kwargs):
    """A node from a debootstrap root (nodes.launch runs any root given as otp_root through
    chroot); `kind` labels it (otp27, otp29)."""
    import secrets

    from tests.support import nodes as node_support

    kwargs.setdefault("name", f"t{kind}-{secrets.token_hex(4)}")
    node = node_support.launch(cookie, kind="otp27", otp_root=root, **kwargs)
    node.kind = kind
    return node
