"""Walking a tree: which files to read, and reading them with bounded memory.

Skips `.git`, symlinks (never followed, so no loops and no escaping the tree), files over
the size limit (reported, never read), binaries (a NUL byte in the first 8 KiB), paths
matching `--exclude` globs, and whatever the caller's `skip` says (build output, files
git ignores).
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

BINARY_PROBE = 8192
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
ALWAYS_SKIPPED_DIRS = frozenset({".git"})
# Build output and fetched dependencies (mix and rebar3): rebuilt from the sources, so a
# cookie there is a copy of one in the sources or made by the build (releases/COOKIE).
BUILD_OUTPUT_DIRS = frozenset({"_build", "deps"})


@dataclass(frozen=True)
class Skip:
    path: str
    reason: str  # "too-large", "binary", "unreadable", "not-utf8"
    size: int | None = None

    def to_dict(self) -> dict:
        data = {"path": self.path, "reason": self.reason}
        if self.size is not None:
            data["size"] = self.size
        return data


class Excluder:
    """`--exclude` globs, matched against the relative path and each path component.

    `vendor` skips every directory or file named vendor; `deploy/*.yaml` matches by path;
    `**/fixtures/**` works as in git (fnmatch's `*` already crosses `/`).
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        cleaned = []
        for p in patterns:
            p = p.strip().replace("\\", "/")
            if p.startswith("./"):
                p = p[2:]
            p = p.rstrip("/")
            if p:
                cleaned.append(p)
                if p.startswith("**/"):
                    cleaned.append(p[3:])
                if p.endswith("/**"):
                    cleaned.append(p[:-3])
        self.patterns = tuple(dict.fromkeys(cleaned))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def excluded(self, rel: str) -> bool:
        if not self.patterns:
            return False
        rel = rel.replace("\\", "/")
        if rel.startswith("./"):
            rel = rel[2:]
        parts = rel.split("/")
        for pattern in self.patterns:
            if fnmatch.fnmatchcase(rel, pattern):
                return True
            if "/" not in pattern and any(fnmatch.fnmatchcase(part, pattern) for part in parts):
                return True
            # a directory pattern with a slash excludes everything below it
            for i in range(1, len(parts)):
                if fnmatch.fnmatchcase("/".join(parts[:i]), pattern):
                    return True
        return False


def display_path(path: str, cwd: str) -> str:
    """Relative to the working directory when below it (what SARIF and baselines want)."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, cwd)
    except ValueError:
        return absolute
    if rel == os.curdir:
        return os.path.basename(absolute)
    if rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        return absolute
    return rel.replace(os.sep, "/")


def iter_files(
    roots: Sequence[str],
    excluder: Excluder,
    cwd: str,
    skip: Callable[[str, bool], bool] | None = None,
) -> Iterator[tuple[str, str]]:
    """(absolute path, display path) of every regular file to consider, depth first.

    `skip(absolute path, is_dir)` drops entries below a root (never a root itself: a file
    or directory named on the command line is read)."""
    seen: set[str] = set()
    for root in roots:
        absolute = os.path.abspath(root)
        try:
            st = os.lstat(absolute)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            shown = display_path(absolute, cwd)
            if absolute not in seen and not excluder.excluded(shown):
                seen.add(absolute)
                yield absolute, shown
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        # display paths below `absolute` are `prefix + the rest`: no relpath per file, unless
        # the working directory is inside the tree (then some paths are relative, some not)
        cwd_abs = os.path.abspath(cwd)
        shown_root = display_path(absolute, cwd)
        prefix = "" if cwd_abs == absolute else shown_root + "/"
        per_file = cwd_abs != absolute and cwd_abs.startswith(absolute + os.sep)
        cut = len(absolute) + 1
        stack = [absolute]
        while stack:
            directory = stack.pop()
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            subdirs = []
            for entry in entries:
                try:
                    if entry.is_symlink():
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name in ALWAYS_SKIPPED_DIRS:
                            continue
                        if skip is not None and skip(entry.path, True):
                            continue
                        if excluder and excluder.excluded(
                            display_path(entry.path, cwd) if per_file else prefix + entry.path[cut:]
                        ):
                            continue
                        subdirs.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        shown = (
                            display_path(entry.path, cwd) if per_file else prefix + entry.path[cut:]
                        )
                        if excluder and excluder.excluded(shown):
                            continue
                        if skip is not None and skip(entry.path, False):
                            continue
                        if len(roots) == 1 or entry.path not in seen:
                            if len(roots) > 1:
                                seen.add(entry.path)
                            yield entry.path, shown.replace(os.sep, "/")
                except OSError:
                    continue
            stack.extend(reversed(subdirs))


def read_candidate(path: str, shown: str, max_size: int) -> tuple[bytes | None, Skip | None, int]:
    """The file's bytes if it should be scanned, else why not. Third item: bytes read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None, Skip(shown, "unreadable"), 0
    try:
        size = os.fstat(fd).st_size
        if size > max_size:
            return None, Skip(shown, "too-large", size), 0
        chunks = []
        remaining = size + 1  # one more byte tells us the file grew meanwhile
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except OSError:
        return None, Skip(shown, "unreadable"), 0
    finally:
        os.close(fd)
    if len(data) > max_size:
        return None, Skip(shown, "too-large", len(data)), 0
    if data.find(b"\0", 0, BINARY_PROBE) >= 0:
        return None, Skip(shown, "binary", len(data)), len(data)
    return data, None, len(data)
