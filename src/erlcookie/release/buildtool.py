"""The seam between the release engine and the build tools it understands (mix, rebar3/relx).

The engine walks the tree once, lets each build tool claim the directories that are its
projects, and hands every project back to its own tool to check and to plan the fix: it
never asks which tool a project uses. A new build tool is one more `BuildTool` (as a new
ecosystem is one more `DependencySource` in pip-audit), not a branch in the engine.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from erlcookie.release.layout import Project, Tree
    from erlcookie.release.model import FileChange, Finding, ProjectInfo


DEFAULT_OPTFILE_PATH = "/etc/erlang/tls/ssl_dist.conf"
# The optfile path goes into shell scripts, EEx templates and ERL_FLAGS (split on blanks):
# an absolute path of plain characters only, so no quoting can go wrong anywhere.
OPTFILE_PATH_RE = re.compile(r"/[A-Za-z0-9._+@=/-]+")


def check_optfile_path(path: str) -> str:
    """`path` when it can go into a release unquoted; else a UsageError (exit 2)."""
    from erlcookie.errors import UsageError

    if not OPTFILE_PATH_RE.fullmatch(path) or "/../" in path + "/":
        raise UsageError(
            f"--optfile-path {path!r}: give an absolute path of letters, digits and ._+@=/- "
            "(it goes unquoted into ERL_FLAGS and vm.args)"
        )
    return path


@dataclass(frozen=True)
class FixOptions:
    """What the user asked of `release check` and `release fix`, in one object for every tool.

    `check` reads only `rebar3_version`; the others shape what `fix` writes.
    """

    node_name: str | None = None  # "pod-ip": long names <release>@${POD_IP}
    dist_port: int | None = None  # pin the distribution port (NetworkPolicy)
    rebar3_version: str | None = None  # the rebar3 that builds the project, when known better
    tls: bool = False  # mutual TLS distribution: -proto_dist inet_tls, the optfile, ssl booted
    optfile_path: str | None = None  # where the ssl_dist optfile is on the node (with tls)

    @property
    def optfile(self) -> str:
        """The optfile path the release is given (`erlcookie tls optfile` writes the file)."""
        return self.optfile_path or DEFAULT_OPTFILE_PATH


class ProjectState(Protocol):
    """What a tool's analysis of one project must offer the engine."""

    project: Project
    findings: list[Finding]
    notes: list[str]


@dataclass
class ProjectFix:
    """A tool's plan for one project: the file changes, and what the user should know."""

    changes: list[FileChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class BuildTool(ABC):
    """One build tool: which directories are its projects, what is wrong, and the fix."""

    kind: ClassVar[str]  # "mix", "rebar3": also the project kind in reports
    marker: ClassVar[str]  # the file that makes a directory one of its projects

    def detect(self, directory: Path, names: set[str]) -> bool:
        """Whether `directory` (holding the files `names`) is a project of this tool."""
        return self.marker in names

    @abstractmethod
    def owns(self, parent_root: Path, root: Path, kind: str) -> bool:
        """Whether the `kind` project at `root`, inside this tool's project at `parent_root`,
        belongs to it (an umbrella's app, a rebar3 app without a relx section)."""

    @abstractmethod
    def check(self, project: Project, tree: Tree, options: FixOptions) -> ProjectState:
        """Read the project's files; raise ReleaseParseError on one it cannot read with certainty."""

    @abstractmethod
    def info(self, state: ProjectState) -> ProjectInfo:
        """The project as reports show it (kind, root, releases, notes)."""

    @abstractmethod
    def plan_fix(self, state: ProjectState, options: FixOptions) -> ProjectFix:
        """Every change that makes the project's releases read RELEASE_COOKIE (nothing written)."""
