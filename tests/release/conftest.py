"""Fixtures for the release tests: copies of the fixture projects, and leak checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from erlcookie.cli import cli

FIXTURES = Path(__file__).parent / "fixtures"

# Every literal cookie the fixture projects hold: none may ever appear in our output.
FIXTURE_COOKIES = (
    "myrel_cookie",
    "dev shop cookie",
    "Zq7_prodShopCookie_Lw2",
    "shop_hardcoded_cookie",
    "legacyBillingCookie42",
    "searchDevFallback",
    "storefront_release_cookie_v1",
    "platform-api-cookie-2023",
    "platform_worker_default",
    "tools-cookie-inline",
    "windowsLiteralCookie7",
    "bazaar_charlist_cookie",
    "bazaar_core_cookie",
    "checkoutFallbackCookie",
    "checkoutEnvShCookie",
    "checkoutVmArgsCookie",
    "brokenProjectCookie",
    "brokenMixCookie",
)


def assert_no_leak(text: str, secrets=FIXTURE_COOKIES) -> None:
    """Fail without ever putting a cookie in the failure message."""
    leaked = [i for i, secret in enumerate(secrets) if secret in text]
    assert not leaked, f"cookie values (by index in the list) leaked into output: {leaked}"


@pytest.fixture
def project(tmp_path):
    """Copy a fixture project into a fresh directory and return its path."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target)
        return target

    return copy


@pytest.fixture
def run_cli():
    """Invoke the CLI; every output is checked for fixture cookies before a test sees it."""

    def run(*args: str):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert_no_leak(result.output + result.stdout + result.stderr)
        return result

    return run


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file's bytes, mode and mtime under root: to prove nothing was touched."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), st.st_mode, st.st_mtime_ns)
    return out


def expect_equal(got: str, want: str, what: str) -> None:
    """Compare texts that may hold cookies: on failure, say where, never show them."""
    if got != want:
        at = next(
            (i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want))
        )
        line = got.count("\n", 0, at) + 1
        raise AssertionError(
            f"{what} differs from the expected text at line {line} "
            "(texts not shown: they may hold a cookie)"
        )


def expect_in(needle: str, haystack: str, what: str) -> None:
    if needle not in haystack:
        raise AssertionError(f"{what}: expected text missing (not shown: may hold a cookie)")
