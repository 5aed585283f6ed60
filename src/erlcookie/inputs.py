"""Reading the files users point us at (cookie files, node lists, baselines, manifests), bounded.

A size check on `stat()` is no bound: `/dev/zero` reports size 0 and never ends, and opening a
FIFO nobody writes to blocks forever. So every such input is read here: at most `limit + 1`
bytes (one more than allowed, to tell "exactly the limit" from "too big"), devices, sockets
and directories refused, and pipes (stdin, `<(cmd)` process substitution, named FIFOs) read
under a deadline. Errors carry the path and what it was for, never the content.
"""

from __future__ import annotations

import errno
import io
import os
import select
import stat
import sys
import time
from typing import IO, Any

from erlcookie.errors import OperationalError, UsageError

__all__ = ["DEFAULT_DEADLINE", "InputError", "InputTimeout", "read_bounded", "read_bounded_text"]

DEFAULT_DEADLINE = 30.0  # seconds to wait for a pipe's writer when the command has no --timeout
_CHUNK = 64 * 1024


class InputError(UsageError):
    """The input is not something we read: a device, a socket, or larger than its limit."""


class InputTimeout(OperationalError):
    """A pipe or FIFO gave no end of data before the deadline."""


def _size(limit: int) -> str:
    if limit % 1024 == 0 and limit >= 1024:
        return (
            f"{limit // 1024 // 1024} MiB" if limit % (1024 * 1024) == 0 else f"{limit // 1024} KiB"
        )
    return f"{limit} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _read_regular(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _read_pipe(fd: int, limit: int, deadline: float, label: str) -> bytes:
    """Read a pipe, FIFO or terminal until end of data, `limit + 1` bytes, or the deadline."""
    end = time.monotonic() + deadline
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise InputTimeout(
                f"{label}: no end of data within {deadline:g} s (is anything writing to it?)"
            )
        if not poller.poll(max(1, int(remaining * 1000))):
            continue
        try:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        except BlockingIOError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _stream_fd(stream: IO[Any]) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        return None


def _read_stream(stream: IO[Any] | None, limit: int, deadline: float, label: str) -> bytes:
    if stream is None:  # started without a stdin (sys.stdin is None)
        raise InputError(f"{label}: this process has no stdin")
    fd = _stream_fd(stream)
    if fd is None:  # an in-memory stream (tests, embedding programs): bounded by read()
        data = stream.read(limit + 1)
        if isinstance(data, str):
            return data.encode("utf-8", "surrogateescape")
        return bytes(data)
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):  # `< file`: a file, read like one
        return _read_regular(fd, limit)
    if stat.S_ISDIR(mode) or stat.S_ISBLK(mode):
        raise InputError(f"{label} is {_kind(mode)}")
    return _read_pipe(fd, limit, deadline, label)


def read_bounded(
    path: str | os.PathLike[str],
    *,
    limit: int,
    what: str = "input",
    deadline: float = DEFAULT_DEADLINE,
    stdin: IO[Any] | None = None,
) -> bytes:
    """The bytes of `path` (`-` for stdin), at most `limit`.

    Raises InputError (exit 2) when the input is larger than `limit` or is a device or
    socket, InputTimeout (exit 3) when a pipe does not end within `deadline` seconds, and
    lets OSError through (FileNotFoundError, PermissionError, IsADirectoryError) so callers
    keep their own wording for those.
    """
    if str(path) == "-":
        label = f"{what} on stdin"
        data = _read_stream(stdin if stdin is not None else sys.stdin, limit, deadline, label)
    else:
        label = f"{what} {os.fspath(path)}"
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
        fd = os.open(os.path.expanduser(path), flags)  # O_NONBLOCK: a FIFO's open never blocks
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode):
                os.set_blocking(fd, True)
                data = _read_regular(fd, limit)
            elif stat.S_ISFIFO(mode):
                data = _read_pipe(fd, limit, deadline, label)
            elif stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
            else:
                raise InputError(
                    f"{label} is {_kind(mode)}, not a regular file; refusing to read it"
                )
        finally:
            os.close(fd)
    if len(data) > limit:
        raise InputError(f"{label} is larger than {_size(limit)}; refusing to read it")
    return data


def read_bounded_text(
    path: str | os.PathLike[str],
    *,
    limit: int,
    what: str = "input",
    deadline: float = DEFAULT_DEADLINE,
    stdin: IO[Any] | None = None,
) -> str:
    """`read_bounded` decoded as UTF-8; anything else is an InputError naming the input."""
    data = read_bounded(path, limit=limit, what=what, deadline=deadline, stdin=stdin)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        where = "stdin" if str(path) == "-" else os.fspath(path)
        raise InputError(f"{what} {where} is not UTF-8 text") from None
