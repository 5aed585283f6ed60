"""Directories where writing really fails, even for root: read-only and full filesystems.

Root ignores permission bits, so a chmod'ed directory proves nothing in CI (which runs as
root). A small tmpfs mounted read-only, or mounted with a few KiB of space, fails the way a
read-only volume or a full disk does. Without the right to mount (not root, or no tmpfs),
a non-root user gets a chmod 0555 directory instead, and root falls back to /sys (read-only
to everyone); the full disk is then skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        timeout=30,
    )
    return result.returncode == 0


def _umount(where: Path) -> None:
    subprocess.run(["umount", str(where)], capture_output=True, timeout=30)


@contextlib.contextmanager
def readonly_dir(base: Path) -> Iterator[Path]:
    """A directory in which creating a file fails (EROFS, or EACCES)."""
    where = base / f"ro-{uuid.uuid4().hex[:8]}"
    if _mount_tmpfs(where, "ro,size=64k,mode=0755"):
        try:
            yield where
        finally:
            _umount(where)
        return
    if os.geteuid() != 0:
        where.chmod(0o555)
        try:
            yield where
        finally:
            where.chmod(0o755)
        return
    yield Path("/sys")


@contextlib.contextmanager
def full_dir(base: Path, size_kib: int = 16) -> Iterator[Path]:
    """A directory on a filesystem with only `size_kib` KiB of space (ENOSPC past it)."""
    where = base / f"full-{uuid.uuid4().hex[:8]}"
    if not _mount_tmpfs(where, f"size={size_kib}k,mode=0755"):
        pytest.skip("a full filesystem needs root and tmpfs to mount one")
    try:
        yield where
    finally:
        _umount(where)
