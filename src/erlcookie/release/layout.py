"""Finding the projects under a path, and reading and writing their files safely.

A directory holding a build tool's marker file (`mix.exs`, `rebar.config`) is a project;
each tool decides which nested projects belong to one of its own (a mix umbrella's apps,
rebar3 apps without a relx section). Build output and dependencies are never read, and
nothing is written outside the project a change belongs to.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from erlcookie.errors import OperationalError
from erlcookie.release.model import ReleaseParseError

if TYPE_CHECKING:
    from erlcookie.release.buildtool import BuildTool

SKIP_DIRS = frozenset(
    {
        "_build",
        "deps",
        ".git",
        "node_modules",
        ".elixir_ls",
        ".hex",
        ".mix",
        "_checkouts",
        ".rebar3",
        "cover",
        "_opam",
        ".venv",
        "__pycache__",
    }
)
MAX_TEXT = 2 * 1024 * 1024  # no release config is this big
MAX_FILES = 200_000


@dataclass
class Tree:
    """Every readable file under the checked path, walked once."""

    base: Path
    files: list[Path] = field(default_factory=list)

    @classmethod
    def walk(cls, base: Path) -> Tree:
        tree = cls(base)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                tree.files.append(Path(dirpath) / name)
                if len(tree.files) >= MAX_FILES:
                    return tree
        return tree

    def rel(self, path: Path) -> str:
        try:
            out = path.relative_to(self.base).as_posix()
        except ValueError:
            out = str(path)
        return out or "."

    def named(self, *names: str) -> list[Path]:
        return [p for p in self.files if p.name in names]

    def with_suffix(self, *suffixes: str) -> list[Path]:
        return [p for p in self.files if p.name.endswith(suffixes)]


def read_regular(path: Path, limit: int = MAX_TEXT) -> bytes:
    """At most `limit` + 1 bytes of a regular file; OSError for anything else.

    A FIFO, a device or a symlink to one (`vm.args` -> /dev/zero) would otherwise hang the
    analysis or fill memory: the open does not block and the read is bounded.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path, shown: str) -> str:
    """A config file's text; a ReleaseParseError (exit 3) if it is not readable UTF-8 text."""
    try:
        data = read_regular(path)
    except OSError as exc:
        raise ReleaseParseError(shown, f"cannot read it ({exc.strerror})") from None
    if len(data) > MAX_TEXT:
        raise ReleaseParseError(shown, "larger than 2 MiB, not a config file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ReleaseParseError(shown, "not UTF-8 text") from None
    return text


class OutsideProjectError(OperationalError):
    """A change would write, create or delete a file outside its project (exit 3)."""


def ensure_inside(root: Path, path: Path, shown: str) -> None:
    """Refuse `path` unless it stays inside `root` once every symlink on the way is followed.

    A `config/` that is a symlink to /etc, a vm.args that links out of the tree, or a
    `{vm_args, "../../x"}` would otherwise let `fix` delete and create files elsewhere.
    Links that stay inside the project are fine.
    """
    try:
        real_root = root.resolve(strict=True)
        real = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop, a vanished directory
        raise OutsideProjectError(
            f"refusing to change {shown}: its path cannot be resolved (a symlink loop?)"
        ) from None
    if real == real_root or real_root in real.parents:
        return
    link = None
    try:
        current = root
        for part in path.relative_to(root).parts:
            current = current / part
            if current.is_symlink():
                link = current
                break
    except ValueError:
        pass
    how = (
        f"{link.relative_to(root).as_posix()} is a symbolic link out of the project"
        if link is not None
        else "the path leaves the project"
    )
    raise OutsideProjectError(
        f"refusing to change {shown}: {how} ({root.name or root}); nothing was changed"
    )


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


@dataclass
class Project:
    tool: BuildTool  # the build tool whose project this is
    root: Path
    children: list[Path] = field(default_factory=list)

    @property
    def kind(self) -> str:  # rebar3 or mix
        return self.tool.kind


def find_projects(tree: Tree, tools: Sequence[BuildTool]) -> list[Project]:
    """Project roots under the tree, outermost first, children attached to their parent.

    A directory that is a project of several tools goes to the first of `tools` that
    detects it (mix before rebar3: a mix project may carry a rebar.config for its deps).
    """
    names: dict[Path, set[str]] = {}
    markers = {tool.marker for tool in tools}
    for path in tree.files:
        if path.name in markers:
            names.setdefault(path.parent, set()).add(path.name)
    roots: dict[Path, BuildTool] = {}
    for directory, present in names.items():
        tool = next((t for t in tools if t.detect(directory, present)), None)
        if tool is not None:
            roots[directory] = tool
    projects: list[Project] = []
    for root in sorted(roots, key=lambda p: (len(p.parts), str(p))):
        parent = next((p for p in projects if _is_child(p, root, roots[root])), None)
        if parent is not None:
            parent.children.append(root)
        else:
            projects.append(Project(roots[root], root))
    return projects


def _is_child(parent: Project, root: Path, tool: BuildTool) -> bool:
    try:
        inner = root.relative_to(parent.root)
    except ValueError:
        return False
    if inner == Path("."):
        return False
    return parent.tool.owns(parent.root, root, tool.kind)
