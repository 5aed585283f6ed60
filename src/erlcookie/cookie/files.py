"""Writing files that hold secrets: created with a private mode, atomically, nothing left behind.

The data is written to a temporary `.NAME.*.tmp` file that has the final mode from the start
(never world-readable for an instant), fsynced, then linked or renamed onto the target, so
readers see the old file or the new one and never half of either.

SIGTERM, SIGHUP and SIGINT arriving while the temporary file exists remove it before the
signal takes its usual effect, so a killed writer leaves no copy of the cookie behind (only
SIGKILL, which no process can catch, could). Failures (a read-only directory, a full disk)
are OperationalError (exit 3) naming the path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from erlcookie.errors import OperationalError, UsageError

__all__ = ["atomic_write", "write_text_preserving_mode"]

_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name)
)


class _Signalled(BaseException):
    """A terminating signal arrived while a temporary file existed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _cleanup_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP/SIGINT into an exception inside the block, then re-deliver them.

    The block's own `except BaseException` removes the temporary file; afterwards the signal
    goes to its previous handler (SIGTERM by default ends the process by that signal, as it
    would have; SIGINT raises KeyboardInterrupt or wakes asyncio's handler).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (the CLI writes from it)
        return
    caught: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if not caught:
            caught.append(signum)
            raise _Signalled(signum)

    previous = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
    try:
        yield
    except _Signalled as exc:
        _restore(previous)
        signal.raise_signal(exc.signum)  # by default this ends the process here
        raise OperationalError(f"interrupted by signal {exc.signum} while writing") from None
    finally:
        _restore(previous)


def _restore(previous: dict[int, Any]) -> None:
    for sig, old in previous.items():
        signal.signal(sig, signal.SIG_DFL if old is None else old)  # None: set outside Python
    previous.clear()


def _os_error(action: str, path: Path, exc: OSError) -> OperationalError:
    return OperationalError(f"cannot {action} {path}: {exc.strerror or type(exc).__name__}")


def _fsync_directory(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _refuse_existing(target: Path) -> UsageError:
    return UsageError(f"{target} exists; refusing to replace it (use --force)")


def _write_named(
    target: Path, data: bytes, mode: int, overwrite: bool, owner: tuple[int, int] | None = None
) -> None:
    directory = target.parent
    with _cleanup_on_signals():
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        tmp = Path(name)
        try:
            try:
                if owner is not None:
                    os.fchown(fd, *owner)  # before fchmod: a chown may clear mode bits
                os.fchmod(fd, mode)
                _write_all(fd, data)
            finally:
                os.close(fd)
            if not overwrite:
                try:
                    os.link(tmp, target)  # fails if the target appeared meanwhile
                except FileExistsError:
                    raise _refuse_existing(target) from None
                os.unlink(tmp)
            else:
                os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    mode: int = 0o600,
    overwrite: bool = True,
    owner: tuple[int, int] | None = None,
) -> Path:
    """Write `data` to `path` atomically with permission bits `mode`.

    With ``overwrite=False`` an existing file (or symlink) is refused (UsageError) and left
    untouched. Text is written as UTF-8, with bytes that were not UTF-8 when read (kept as
    surrogate escapes) written back as they were. With ``owner=(uid, gid)`` the temporary
    file gets that owner before any byte is written, so the file appears under its final
    name with its final owner.
    """
    target = Path(path).expanduser()
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if not isinstance(data, bytes):
        raise TypeError("atomic_write writes bytes or text")
    if not overwrite and (target.exists() or target.is_symlink()):
        raise _refuse_existing(target)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise OperationalError(f"directory {directory} does not exist")
    try:
        _write_named(target, data, mode, overwrite, owner)
    except OSError as exc:
        raise _os_error("write", target, exc) from None
    _fsync_directory(directory)
    return target


def write_text_preserving_mode(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically replace a non-secret file (a config, a manifest), keeping its mode."""
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    except OSError as exc:
        raise _os_error("read the mode of", target, exc) from None
    return atomic_write(target, text, mode=mode, overwrite=True)
