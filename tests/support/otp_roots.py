"""Where the OTP 27 root for interop tests lives, building it when CI asks.

The root is a Debian trixie made with debootstrap (minbase plus the Erlang runtime
packages), used through `chroot ROOT erl ...`: the chroot shares this host's network, so
its nodes meet the host's EPMD and loopback. Building takes minutes and needs root and
Debian's mirrors, so it happens only with ERLCOOKIE_BUILD_OTP_ROOT=1 (CI sets it); the
result is cached at /var/cache/erlcookie/trixie (or $ERLCOOKIE_OTP27_ROOT). When
ERLCOOKIE_REQUIRE_OTP27=1 (scripts/test sets it once the root exists), tests must fail
rather than skip if the root turns out unusable: see `require_or_skip`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

DEFAULT_ROOT = Path("/var/cache/erlcookie/trixie")
PACKAGES = "erlang-base,erlang-crypto,erlang-ssl,erlang-public-key,erlang-asn1"
SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
BUILD_TIMEOUT = 1800


class OtpRootUnavailable(Exception):
    """The root is missing and may not or cannot be built; the message says why."""


def otp27_root_path() -> Path:
    return Path(os.environ.get("ERLCOOKIE_OTP27_ROOT") or DEFAULT_ROOT)


def _usable(root: Path) -> bool:
    return (root / "usr" / "bin" / "erl").exists() and (root / "usr" / "lib" / "erlang").is_dir()


def build_command(root: Path) -> list[str]:
    return ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", SUITE, str(root), MIRROR]


def otp27_root(*, build: bool | None = None) -> Path:
    """The OTP 27 root, built first if allowed; raises OtpRootUnavailable otherwise."""
    root = otp27_root_path()
    if _usable(root):
        return root
    if build is None:
        build = os.environ.get("ERLCOOKIE_BUILD_OTP_ROOT") == "1"
    if not build:
        raise OtpRootUnavailable(
            f"no OTP 27 root at {root}; set ERLCOOKIE_BUILD_OTP_ROOT=1 to build it with "
            f"`{' '.join(build_command(root))}` (root and network to Debian needed)")
    if os.geteuid() != 0:
        raise OtpRootUnavailable("building the OTP 27 root needs root (debootstrap, chroot)")
    if shutil.which("debootstrap") is None:
        raise OtpRootUnavailable("building the OTP 27 root needs debootstrap (apt-get install debootstrap)")
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(build_command(partial), capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)
    if proc.returncode != 0 or not _usable(partial):
        raise OtpRootUnavailable(f"debootstrap failed ({proc.returncode}): {proc.stderr[-500:]}")
    partial.rename(root)  # appears complete or not at all
    return root


def otp_release_of(root: Path | None) -> str:
    """The OTP major release of the root's erl (or of the host's erl for None)."""
    cmd = ["erl", "-noshell", "-eval",
           'io:format("~s~n", [erlang:system_info(otp_release)]), halt().']
    if root is not None:
        cmd = ["chroot", str(root)] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def require_or_skip() -> Path:
    """For tests: the root, or pytest.skip with the reason (pytest.fail when required)."""
    import pytest

    try:
        return otp27_root()
    except OtpRootUnavailable as exc:
        if os.environ.get("ERLCOOKIE_REQUIRE_OTP27") == "1":
            pytest.fail(f"ERLCOOKIE_REQUIRE_OTP27=1 but {exc}")
        pytest.skip(str(exc))
