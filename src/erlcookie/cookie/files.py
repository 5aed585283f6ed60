"""Writing files that hold secrets: created with a private mode, atomically.

The temporary file is created with the final mode from the start (never world-readable for
an instant), fsynced, then renamed over the target, so readers see the old file or the new
one and never half of either.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from erlcookie.errors import OperationalError, UsageError


def atomic_write(path: str | os.PathLike, data: bytes | str, *, mode: int = 0o600,
                 overwrite: bool = True) -> Path:
    """Write `data` to `path` atomically with permission bits `mode`.

    With ``overwrite=False`` an existing file is refused (UsageError) and left untouched.
    """
    target = Path(path).expanduser()
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not overwrite and (target.exists() or target.is_symlink()):
        raise UsageError(f"{target} exists; refusing to replace it (use --force)")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise OperationalError(f"directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not overwrite:
            # link() fails if the target appeared meanwhile: no race with another writer.
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise UsageError(f"{target} exists; refusing to replace it (use --force)") from None
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return target


def write_text_preserving_mode(path: str | os.PathLike, text: str) -> Path:
    """Atomically replace a non-secret file (a config, a manifest), keeping its mode."""
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    return atomic_write(target, text, mode=mode, overwrite=True)
