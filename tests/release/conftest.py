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
    "myrel_cookie", "dev shop cookie", "Zq7_prodShopCookie_Lw2", "shop_hardcoded_cookie",
    "legacyBillingCookie42", "searchDevFallback", "storefront_release_cookie_v1",
    "platform-api-cookie-2023", "platform_worker_default", "tools-cookie-inline",
    "windowsLiteralCookie7", "bazaar_charlist_cookie", "bazaar_core_cookie",
    "checkoutFallbackCookie", "checkoutEnvShCookie", "checkoutVmArgsCookie",
    "brokenProjectCookie", "brokenMixCookie",
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
    def run(*args: str):
        return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)

    return run


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file's bytes, mode and mtime under root: to prove nothing was touched."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), st.st_mode, st.st_mtime_ns)
    return out
