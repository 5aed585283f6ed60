"""Finding the projects under a path, and reading their files safely.

A directory with `mix.exs` or `rebar.config` is a project. Apps inside a mix umbrella's
`apps_path`, and rebar3 apps without a relx section inside a rebar3 project, belong to
the enclosing project. Build output and dependencies are never read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from erlcookie.release.model import ReleaseParseError

SKIP_DIRS = frozenset({"_build", "deps", ".git", "node_modules", ".elixir_ls", ".hex", ".mix",
                       "_checkouts", ".rebar3", "cover", "_opam", ".venv", "__pycache__"})
MAX_TEXT = 2 * 1024 * 1024   # no release config is this big
MAX_FILES = 200_000


@dataclass
class Tree:
    """Every readable file under the checked path, walked once."""

    base: Path
    files: list[Path] = field(default_factory=list)

    @classmethod
    def walk(cls, base: Path) -> "Tree":
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


def read_text(path: Path, shown: str) -> str:
    """A config file's text; a ReleaseParseError (exit 3) if it is not readable UTF-8 text."""
    try:
        if path.stat().st_size > MAX_TEXT:
            raise ReleaseParseError(shown, "larger than 2 MiB, not a config file")
        data = path.read_bytes()
    except OSError as exc:
        raise ReleaseParseError(shown, f"cannot read it ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ReleaseParseError(shown, "not UTF-8 text") from None
    return text


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


@dataclass
class Project:
    kind: str                     # rebar3 or mix
    root: Path
    children: list[Path] = field(default_factory=list)


def find_projects(tree: Tree) -> list[Project]:
    """Project roots under the tree, outermost first, children attached to their parent."""
    roots: dict[Path, str] = {}
    for path in tree.files:
        if path.name == "mix.exs":
            roots.setdefault(path.parent, "mix")
        elif path.name == "rebar.config" and path.parent not in roots:
            roots[path.parent] = "rebar3"
    projects: list[Project] = []
    for root in sorted(roots, key=lambda p: (len(p.parts), str(p))):
        parent = next((p for p in projects if _is_child(p, root, roots[root])), None)
        if parent is not None:
            parent.children.append(root)
        else:
            projects.append(Project(roots[root], root))
    return projects


def _is_child(parent: Project, root: Path, kind: str) -> bool:
    try:
        inner = root.relative_to(parent.root)
    except ValueError:
        return False
    if inner == Path("."):
        return False
    if parent.kind == "mix":
        from erlcookie.release.mix import umbrella_apps_path

        apps = umbrella_apps_path(parent.root)
        if apps is not None:
            try:
                root.relative_to(parent.root / apps)
                return True
            except ValueError:
                return False
        return False
    if parent.kind == "rebar3" and kind == "rebar3":
        from erlcookie.release.rebar import has_relx

        return not has_relx(root / "rebar.config")
    return False
