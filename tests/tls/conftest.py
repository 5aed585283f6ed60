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
