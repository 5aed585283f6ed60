"""Where the newer-OTP roots for interop tests live, building them when CI asks.

Each root is a Debian release made with debootstrap (minbase plus the Erlang runtime
packages), used through `chroot ROOT erl ...`: the chroot shares this host's network, so
its nodes meet the host's EPMD and loopback.

    kind    Debian   OTP   default path                     override
    otp27   trixie   27    /var/cache/erlcookie/trixie      ERLCOOKIE_OTP27_ROOT
    otp29   sid      29    /var/cache/erlcookie/sid         ERLCOOKIE_OTP29_ROOT

Building takes minutes and needs root and Debian's mirrors, so it happens only with
ERLCOOKIE_BUILD_OTP_ROOT=1; scripts/test builds both before the run. When
ERLCOOKIE_REQUIRE_OTP27=1 (or _OTP29; scripts/test sets them once a root exists), tests
must fail rather than skip if that root turns out unusable: see `require_or_skip`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PACKAGES = "erlang-base,erlang-crypto,erlang-ssl,erlang-public-key,erlang-asn1"
MIRROR = "http://deb.debian.org/debian"
BUILD_TIMEOUT = 1800


@dataclass(frozen=True)
class RootKind:
    kind: str  # "otp27": also the node kind tests/support/nodes.py launches
    suite: str  # the Debian release debootstrap installs
    default: Path

    @property
    def env(self) -> str:
        return f"ERLCOOKIE_{self.kind.upper()}_ROOT"

    @property
    def require_env(self) -> str:
        return f"ERLCOOKIE_REQUIRE_{self.kind.upper()}"

    def path(self) -> Path:
        return Path(os.environ.get(self.env) or self.default)


ROOTS = {
    r.kind: r
    for r in (
        RootKind("otp27", "trixie", Path("/var/cache/erlcookie/trixie")),
        RootKind("otp29", "sid", Path("/var/cache/erlcookie/sid")),
    )
}
CHROOT_KINDS = frozenset(ROOTS)


class OtpRootUnavailable(Exception):
    """The root is missing and may not or cannot be built; the message says why."""


def _usable(root: Path) -> bool:
    return (root / "usr" / "bin" / "erl").exists() and (root / "usr" / "lib" / "erlang").is_dir()


def build_command(root: Path, suite: str = "trixie") -> list[str]:
    return ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", suite, str(root), MIRROR]


def otp_root(kind: str = "otp27", *, build: bool | None = None) -> Path:
    """The root for `kind`, built first if allowed; raises OtpRootUnavailable otherwise."""
    spec = ROOTS[kind]
    root = spec.path()
    if _usable(root):
        return root
    if build is None:
        build = os.environ.get("ERLCOOKIE_BUILD_OTP_ROOT") == "1"
    if not build:
        raise OtpRootUnavailable(
            f"no {kind} root at {root}; set ERLCOOKIE_BUILD_OTP_ROOT=1 to build it with "
            f"`{' '.join(build_command(root, spec.suite))}` (root and network to Debian needed)"
        )
    if os.geteuid() != 0:
        raise OtpRootUnavailable(f"building the {kind} root needs root (debootstrap, chroot)")
    if shutil.which("debootstrap") is None:
        raise OtpRootUnavailable(
            "building an OTP root needs debootstrap (apt-get install debootstrap)"
        )
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        build_command(partial, spec.suite), capture_output=True, text=True, timeout=BUILD_TIMEOUT
    )
    if proc.returncode != 0 or not _usable(partial):
        raise OtpRootUnavailable(f"debootstrap failed ({proc.returncode}): {proc.stderr[-500:]}")
    partial.rename(root)  # appears complete or not at all
    return root


def otp27_root(*, build: bool | None = None) -> Path:
    return otp_root("otp27", build=build)


def otp_release_of(root: Path | None) -> str:
    """The OTP major release of the root's erl (or of the host's erl for None)."""
    cmd = [
        "erl",
        "-noshell",
        "-eval",
        'io:format("~s~n", [erlang:system_info(otp_release)]), halt().',
    ]
    if root is not None:
        cmd = ["chroot", str(root)] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def require_or_skip(kind: str = "otp27") -> Path:
    """For tests: the root, or pytest.skip with the reason (pytest.fail when required)."""
    import pytest

    try:
        return otp_root(kind)
    except OtpRootUnavailable as exc:
        if os.environ.get(ROOTS[kind].require_env) == "1":
            pytest.fail(f"{ROOTS[kind].require_env}=1 but {exc}")
        pytest.skip(str(exc))
