"""The git adapter: the only place that runs `git` (for `scan` and `release check`).

Work trees: `git ls-files` says which files are tracked and which git would add
(`work_tree_files`); without git or outside a work tree the caller falls back to the tree.

Blobs are streamed, never checked out.

History: `git rev-list --objects --all` names every object reachable from any ref once;
`git cat-file --batch-check` types and sizes them; `git cat-file --batch` streams the
blob contents one at a time (bounded memory: one blob, at most the size limit). Only for
blobs that hold a cookie does a single `git log --all --raw` pass map blob -> the commits
and paths that introduced it.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from erlcookie.errors import OperationalError
from erlcookie.findings.model import CommitRef

LS_FILES_TIMEOUT = 20.0
# Reading a partial clone must not go to the network for objects it lacks (git 2.44+).
_NO_FETCH_ENV = dict(os.environ, GIT_NO_LAZY_FETCH="1", GIT_TERMINAL_PROMPT="0")
_GITLINK = "160000"
_SYMLINK = "120000"
_CHUNK = 1 << 20


@dataclass
class GitView:
    tracked: list[str]  # relative to the path asked about
    untracked: list[str]  # not ignored, not yet added


def _ls_files(base: Path, *extra: str) -> list[str] | None:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0")
    try:
        proc = subprocess.run(
            ["git", "-C", str(base), "ls-files", "-z", *extra, "--", "."],
            capture_output=True,
            timeout=LS_FILES_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


@dataclass
class WorkTreeStatus:
    """Which files under a directory git tracks, ignores, or would add (untracked).

    Absolute paths; `ignored_dirs` are whole directories git ignores (`--directory`)."""

    root: str
    tracked: set[str]
    ignored_files: set[str]
    ignored_dirs: set[str]

    def is_ignored(self, path: str) -> bool:
        if path in self.ignored_files or path in self.ignored_dirs:
            return True
        parent = os.path.dirname(path)
        while len(parent) >= len(self.root.rstrip(os.sep)):
            if parent in self.ignored_dirs:
                return True
            up = os.path.dirname(parent)
            if up == parent:
                break
            parent = up
        return False

    def status(self, path: str) -> str:
        """ "tracked", "ignored" or "untracked" (git would add it) for an absolute path."""
        if path in self.tracked:
            return "tracked"
        return "ignored" if self.is_ignored(path) else "untracked"


def work_tree_status(base: str | os.PathLike) -> WorkTreeStatus | None:
    """What git says about the files under `base`; None outside a work tree or without git."""
    root = os.path.abspath(base)
    tracked = _ls_files(Path(root))
    if tracked is None:
        return None
    ignored = (
        _ls_files(Path(root), "--others", "--ignored", "--exclude-standard", "--directory") or []
    )
    files, dirs = set(), set()
    for rel in ignored:  # "./": `base` itself is ignored (named explicitly, it is read)
        absolute = os.path.normpath(os.path.join(root, rel.rstrip("/")))
        (dirs if rel.endswith("/") else files).add(absolute)
    return WorkTreeStatus(root, {os.path.join(root, p) for p in tracked}, files, dirs)


def path_ignored(path: str | os.PathLike) -> bool | None:
    """Does git ignore `path` (which need not exist)? None when it is in no work tree.
    A tracked file is never ignored, whatever .gitignore says."""
    target = os.path.abspath(path)
    directory = os.path.dirname(target)
    while not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0")
    try:
        top = subprocess.run(
            ["git", "-C", directory, "rev-parse", "--show-toplevel"],
            capture_output=True,
            timeout=LS_FILES_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if top.returncode != 0:
        return None
    toplevel = os.path.realpath(top.stdout.decode("utf-8", "surrogateescape").strip())
    real = os.path.join(os.path.realpath(directory), os.path.basename(target))
    if not (real + os.sep).startswith(toplevel + os.sep):
        return None
    try:
        proc = subprocess.run(
            ["git", "-C", toplevel, "check-ignore", "-q", "--", os.path.relpath(real, toplevel)],
            capture_output=True,
            timeout=LS_FILES_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode not in (0, 1):
        return None
    return proc.returncode == 0


def untrack(root: str | os.PathLike, paths: Sequence[str]) -> None:
    """Stage the removal of `paths` (relative to `root`) from the index, leaving the work
    tree alone: `git rm --cached`. Raises OperationalError when git fails."""
    if not paths:
        return
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rm", "--cached", "-q", "--ignore-unmatch", "--", *paths],
            capture_output=True,
            timeout=LS_FILES_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OperationalError(f"git rm --cached failed: {exc}") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OperationalError(
            f"git rm --cached failed: {message[-1] if message else proc.returncode}"
        )


def work_tree_files(base: Path, keep: Callable[[str], bool] = lambda _: True) -> GitView | None:
    """Files under `base` git tracks or would add, filtered by `keep`; None when git
    cannot tell (no git, not a work tree, a timeout)."""
    tracked = _ls_files(base)
    if tracked is None:
        return None
    untracked = _ls_files(base, "--others", "--exclude-standard") or []
    return GitView([p for p in tracked if keep(p)], [p for p in untracked if keep(p)])


class GitRepo:
    """A repository found from `path` (any directory inside the work tree)."""

    def __init__(self, path: str = ".") -> None:
        if shutil.which("git") is None:
            raise OperationalError("git is not installed (needed for --staged and --history)")
        if not os.path.isdir(path):
            raise OperationalError(f"{path} is not a directory")
        self.cwd = os.path.abspath(path)
        try:
            top = self._git("rev-parse", "--show-toplevel").decode().strip()
        except OperationalError:
            raise OperationalError(
                f"{path} is not inside a git work tree (--staged and --history need one)"
            ) from None
        self.toplevel = top or self.cwd

    # -- plumbing -------------------------------------------------------------------------------
    def _git(self, *args: str, check: bool = True, cwd: str | None = None) -> bytes:
        try:
            proc = subprocess.run(
                ["git", *args],
                cwd=cwd or self.cwd,
                capture_output=True,
                timeout=600,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise OperationalError(f"git {args[0]} timed out") from None
        if check and proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OperationalError(
                f"git {args[0]} failed: {message[-1] if message else proc.returncode}"
            )
        return proc.stdout

    def _popen(self, *args: str, stdin=subprocess.DEVNULL, bufsize: int = -1) -> subprocess.Popen:
        return subprocess.Popen(
            ["git", *args],
            cwd=self.toplevel,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=bufsize,
            env=_NO_FETCH_ENV,
        )

    def version(self) -> tuple[int, ...]:
        out = self._git("--version").decode()
        m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
        return tuple(int(x) for x in m.groups(default="0")) if m else (0,)

    def has_head(self) -> bool:
        return bool(self._git("rev-parse", "--verify", "-q", "HEAD^{commit}", check=False).strip())

    # -- the index ------------------------------------------------------------------------------
    def staged_blobs(self) -> list[tuple[str, str]]:
        """(path, blob id) of files added, copied, modified or type-changed in the index."""
        # without a commit argument, `diff --cached` compares with HEAD, or with nothing
        # on an unborn branch (everything staged is new): one git call either way
        out = self._git(
            "diff",
            "--cached",
            "--raw",
            "-z",
            "--no-renames",
            "--no-abbrev",
            "--diff-filter=ACMT",
            "--ignore-submodules",
            cwd=self.toplevel,
        )
        entries = []
        tokens = out.split(b"\0")
        i = 0
        while i + 1 < len(tokens):
            meta = tokens[i].decode("ascii", "replace").lstrip("\n")
            path = tokens[i + 1].decode("utf-8", "surrogateescape")
            i += 2
            if not meta.startswith(":"):
                continue
            _old_mode, new_mode, _old, new_oid, _status = meta[1:].split(" ")[:5]
            if new_mode in (_GITLINK, _SYMLINK) or set(new_oid) == {"0"}:
                continue
            entries.append((path, new_oid))
        return entries

    # -- blobs ----------------------------------------------------------------------------------
    def read_blobs(self, oids: Sequence[str], max_size: int) -> Iterator[tuple[int, bytes | None]]:
        """(size, content or None when over max_size or missing) for each oid, in order."""
        if not oids:
            return
        proc = self._popen("cat-file", "--batch", stdin=subprocess.PIPE)
        writer = threading.Thread(
            target=_feed, args=(proc, [o.encode() + b"\n" for o in oids]), daemon=True
        )
        writer.start()
        try:
            assert proc.stdout is not None
            for _ in oids:
                yield _read_one(proc.stdout, max_size)
        finally:
            _close(proc)
            writer.join(timeout=5)

    def reachable_blobs(
        self, max_size: int, excluded: Callable[[str], bool]
    ) -> Iterator[tuple[str, str, int, bytes | None]]:
        """(oid, path, size, content or None if too large) of every reachable blob, once.

        `path` is the name rev-list found the blob under first; the commits and paths
        where it appears come from `introductions`.
        """
        # --missing=print: a missing object (a broken repository, or a partial clone's
        # promisor object) is listed as `?oid` and refused below, never skipped or fetched
        revlist_args = ["rev-list", "--objects", "--all", "--missing=print"]
        if self.version() >= (2, 32):
            revlist_args.append("--filter=object:type=blob")
        revlist = self._popen(*revlist_args)
        check = self._popen(
            "cat-file",
            "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)",
            stdin=revlist.stdout,
        )
        assert revlist.stdout is not None
        revlist.stdout.close()  # the child owns it now; rev-list sees SIGPIPE if check dies
        batch = self._popen("cat-file", "--batch", stdin=subprocess.PIPE)
        # Requests go to `cat-file --batch` a chunk at a time from a writer thread, so neither
        # side of the pipe pair can fill up and stall; per blob there is no thread hand-off.
        chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        writer = threading.Thread(target=_write_chunks, args=(batch, chunks), daemon=True)
        writer.start()
        try:
            assert check.stdout is not None and batch.stdout is not None
            while True:
                planned = _plan_chunk(check.stdout, max_size, excluded)
                if planned is None:
                    break
                wanted = b"".join(oid.encode() + b"\n" for oid, _, _, read in planned if read)
                if wanted:
                    chunks.put(wanted)
                for oid, path, size, read in planned:
                    if not read:
                        yield oid, path, size, None
                        continue
                    got_size, data = _read_one(batch.stdout, max_size)
                    yield oid, path, got_size, data
        finally:
            chunks.put(None)
            writer.join(timeout=5)
            for proc in (batch, check, revlist):
                _close(proc)
        for proc, name in ((revlist, "rev-list"), (check, "cat-file --batch-check")):
            if proc.returncode not in (0, None, -13):
                err = proc.stderr.read().decode("utf-8", "replace").strip() if proc.stderr else ""
                raise OperationalError(
                    f"git {name} failed: {err.splitlines()[-1] if err else proc.returncode}"
                )

    # -- history ------------------------------------------------------------------------------
    def introductions(self, oids: set[str]) -> tuple[dict[str, list[CommitRef]], int]:
        """For each blob in `oids`: the commits (any ref) whose change put it at a path.

        Second item: how many commits were walked.
        """
        found, commits = self._log_pass(oids, merges=False)
        missing = {o for o in oids if o not in found}
        if missing:  # introduced only by a merge (a conflict resolution): look at merges too
            extra, _ = self._log_pass(missing, merges=True)
            for oid, refs in extra.items():
                found.setdefault(oid, []).extend(refs)
        return found, commits

    def _log_pass(self, oids: set[str], merges: bool) -> tuple[dict[str, list[CommitRef]], int]:
        args = [
            "log",
            "--all",
            "--date-order",
            "--raw",
            "--no-renames",
            "-z",
            "--no-abbrev",
            "--format=%x01%H %aI",
        ]
        if merges:
            args += ["--merges", "-m"]
        proc = self._popen(*args)
        assert proc.stdout is not None
        found: dict[str, list[CommitRef]] = {}
        commits = 0
        sha = date = ""
        carry = b""
        expect_path: str | None = None
        try:
            while True:
                chunk = proc.stdout.read(_CHUNK)
                if not chunk:
                    break
                tokens = (carry + chunk).split(b"\0")
                carry = tokens.pop()
                for token in tokens:
                    if expect_path is not None:  # this token is the path of a raw entry
                        if expect_path:
                            ref = CommitRef(
                                sha, date, token.decode("utf-8", "surrogateescape"), age=commits
                            )
                            refs = found.setdefault(expect_path, [])
                            if ref not in refs:
                                refs.append(ref)
                        expect_path = None
                        continue
                    text = token.decode("utf-8", "replace").lstrip("\n")
                    if text.startswith("\x01"):
                        sha, _, date = text[1:].partition(" ")
                        commits += 1
                    elif text.startswith(":"):
                        parts = text[1:].split(" ")
                        wanted = (
                            len(parts) >= 5
                            and parts[4][:1] in ("A", "M", "T", "C")
                            and parts[3] in oids
                        )
                        expect_path = parts[3] if wanted else ""  # "" skips the path token
        finally:
            _close(proc)
        if proc.returncode not in (0, None) and not (proc.returncode == 128 and commits == 0):
            err = proc.stderr.read().decode("utf-8", "replace").strip() if proc.stderr else ""
            if "does not have any commits" not in err:
                raise OperationalError(
                    f"git log failed: {err.splitlines()[-1] if err else proc.returncode}"
                )
        return found, commits

    def head_entries(self) -> set[tuple[str, str]]:
        """(path, blob id) of every file in HEAD's tree (empty when there is no HEAD)."""
        if not self.has_head():
            return set()
        out = self._git("ls-tree", "-r", "-z", "--full-tree", "HEAD")
        entries = set()
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            parts = meta.decode("ascii", "replace").split(" ")
            if len(parts) == 3 and parts[1] == "blob":
                entries.add((path.decode("utf-8", "surrogateescape"), parts[2]))
        return entries


class MissingObjectError(OperationalError):
    """A blob git cannot read: missing, corrupt, or a promisor object not fetched. A scan
    that skipped it could call a leaking repository clean, so it stops (exit 3)."""

    def __init__(self, oid: str) -> None:
        self.oid = oid
        super().__init__(
            f"git object {oid} is missing or corrupt, so this repository cannot "
            "be scanned completely (`git fsck` names the damage; in a partial "
            "clone, fetch the missing objects first)"
        )


# -- helpers for the cat-file streams -------------------------------------------------------------
def _feed(proc: subprocess.Popen, lines: list[bytes]) -> None:
    try:
        assert proc.stdin is not None
        for line in lines:
            proc.stdin.write(line)
        proc.stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def _write_chunks(proc: subprocess.Popen, chunks: queue.Queue[bytes | None]) -> None:
    try:
        assert proc.stdin is not None
        while (chunk := chunks.get()) is not None:
            proc.stdin.write(chunk)
            proc.stdin.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass
    finally:
        try:
            assert proc.stdin is not None
            proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass


def _plan_chunk(
    stream, max_size: int, excluded: Callable[[str], bool], limit: int = 4096
) -> list[tuple[str, str, int, bool]] | None:
    """Up to `limit` blobs from `--batch-check` output: (oid, path, size, worth reading).

    None at the end of the stream. Excluded paths are dropped; blobs over the size limit
    are returned with read=False so they can be reported without being read.
    """
    planned = []
    for raw in stream:
        line = raw.rstrip(b"\n").decode("utf-8", "surrogateescape")
        oid, _, rest = line.partition(" ")
        kind, _, rest = rest.partition(" ")
        if kind == "missing" or oid.startswith("?"):
            raise MissingObjectError(oid.lstrip("?"))
        if kind != "blob":
            continue
        size_text, _, path = rest.partition(" ")
        if excluded(path):
            continue
        size = int(size_text)
        planned.append((oid, path, size, size <= max_size))
        if len(planned) >= limit:
            return planned
    return planned or None


def _read_exact(stream, n: int, keep: bool) -> bytes:
    chunks = []
    remaining = n
    while remaining > 0:
        chunk = stream.read(min(remaining, _CHUNK))
        if not chunk:
            raise OperationalError("git cat-file ended early")
        if keep:
            chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_one(stream, max_size: int) -> tuple[int, bytes | None]:
    header = stream.readline()
    if not header:
        raise OperationalError("git cat-file ended early")
    parts = header.split()
    if len(parts) >= 2 and parts[1] in (b"missing", b"ambiguous"):
        raise MissingObjectError(parts[0].decode("ascii", "replace"))
    if len(parts) < 3:
        raise OperationalError("git cat-file gave an unexpected answer")
    size = int(parts[2])
    keep = size <= max_size and parts[1] == b"blob"
    data = _read_exact(stream, size, keep)
    stream.read(1)  # the newline after the content
    return size, data if keep else None


def _close(proc: subprocess.Popen) -> None:
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream:
                stream.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
