"""`check` and `fix` over a whole path: every project, every file, one report or one plan.

The plan is computed completely, from files that all parsed, before anything is written;
if any file cannot be read with certainty the fix raises and touches nothing. Each write
is atomic (temporary file, fsync, rename); a vm.args -> vm.args.src rename writes the new
file before it removes the old one.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from erlcookie import git
from erlcookie.errors import OperationalError, UsageError
from erlcookie.release import code, mix, rebar
from erlcookie.release.buildtool import BuildTool, FixOptions
from erlcookie.release.common import finding
from erlcookie.release.layout import Tree, ensure_inside, find_projects
from erlcookie.release.model import FileChange, FixPlan, ReleaseParseError, Report
from erlcookie.scan.detectors import is_cookie_file  # one definition of a cookie file

COOKIE_FILE_MAX = 64 * 1024
# Every build tool the engine knows; a directory that is a project of several goes to the
# first (mix before rebar3: a mix project may carry a rebar.config).
BUILD_TOOLS: tuple[BuildTool, ...] = (mix.TOOL, rebar.TOOL)


def _base(path: str | os.PathLike) -> Path:
    base = Path(path).expanduser()
    if not base.exists():
        raise UsageError(f"{base} does not exist")
    if not base.is_dir():
        raise UsageError(f"{base} is not a directory: give the project's directory")
    return base.resolve()


def _cookie_file_findings(tree: Tree) -> list:
    view = git.work_tree_files(tree.base, is_cookie_file)
    found = []
    if view is None:
        candidates = [
            (
                tree.rel(p),
                "release/cookie-file-in-tree",
                "a cookie file in the project tree (no git repository to tell whether "
                "it is committed)",
            )
            for p in tree.files
            if is_cookie_file(tree.rel(p))
        ]
    else:
        candidates = [
            (p, "release/committed-cookie-file", "a cookie file is tracked by git")
            for p in view.tracked
        ]
        candidates += [
            (
                p,
                "release/cookie-file-in-tree",
                "an untracked cookie file that git would add (it is not ignored)",
            )
            for p in view.untracked
        ]
    for shown, rule, message in candidates:
        value = None
        try:
            path = tree.base / shown
            if path.is_file() and path.stat().st_size <= COOKIE_FILE_MAX:
                value = path.read_text(encoding="utf-8", errors="replace").rstrip("\r\n") or None
        except OSError:
            value = None
        found.append(finding(rule, shown, "", 0, message, fixable=False, cookie=value))
    return found


def _states(base: Path, options: FixOptions):
    tree = Tree.walk(base)
    projects = find_projects(tree, BUILD_TOOLS)
    if not projects:
        kinds = " or ".join(tool.kind for tool in reversed(BUILD_TOOLS))
        markers = " or ".join(tool.marker for tool in reversed(BUILD_TOOLS))
        raise UsageError(f"no {kinds} project under {base} (no {markers})")
    states, errors = [], []
    for project in projects:
        try:
            states.append(project.tool.check(project, tree, options))
        except ReleaseParseError as exc:
            errors.append(exc)
    return tree, states, errors


def _check(base: Path, options: FixOptions):
    tree, states, errors = _states(base, options)
    report = Report(base, errors=errors)
    for state in states:
        report.projects.append(state.project.tool.info(state))
        report.findings.extend(state.findings)
    report.findings.extend(code.scan(tree))
    report.findings.extend(_cookie_file_findings(tree))
    report.sort()
    return report, tree, states


def _options(options: FixOptions | None, **loose) -> FixOptions:
    given = {key: value for key, value in loose.items() if value is not None}
    if options is None:
        return FixOptions(**given)
    if given:
        raise TypeError("give either options or the loose keyword arguments, not both")
    return options


def check(
    path: str | os.PathLike, options: FixOptions | None = None, *, rebar3_version: str | None = None
) -> Report:
    """Every cookie problem of every release under `path`."""
    return _check(_base(path), _options(options, rebar3_version=rebar3_version))[0]


def plan_fix(
    path: str | os.PathLike,
    options: FixOptions | None = None,
    *,
    node_name: str | None = None,
    dist_port: int | None = None,
    rebar3_version: str | None = None,
) -> tuple[FixPlan, Report]:
    """What `fix` would write; raises ReleaseParseError or OutsideProjectError (exit 3)
    before writing anything."""
    options = _options(
        options, node_name=node_name, dist_port=dist_port, rebar3_version=rebar3_version
    )
    report, _, states = _check(_base(path), options)
    if report.errors:
        raise report.errors[0]
    fix_plan = FixPlan(report.path)
    for state in states:
        project_fix = state.project.tool.plan_fix(state, options)
        for change in project_fix.changes:
            for name in {change.path, change.old_path} - {None}:
                ensure_inside(state.project.root, fix_plan.root / name, name)
        fix_plan.changes.extend(project_fix.changes)
        fix_plan.notes.extend(project_fix.notes)
    secrets = [f.secret for f in report.findings if f.secret is not None]
    for change in fix_plan.changes:
        change.secrets = secrets
    fix_plan.remaining = [f for f in report.findings if not f.fixable]
    return fix_plan, report


def apply(fix_plan: FixPlan) -> list[str]:
    """Write the plan: new files first, then edits, then removals. Returns what changed."""
    from erlcookie.cookie.files import atomic_write, write_text_preserving_mode

    for change in fix_plan.changes:
        # plan_fix checked each project; check again against the whole root in case the
        # tree changed since (a directory swapped for a symlink).
        for name in {change.path, change.old_path} - {None}:
            ensure_inside(fix_plan.root, fix_plan.root / name, name)
    done: list[str] = []
    order = {"create": 0, "rename": 1, "edit": 2, "delete": 3}
    for change in sorted(fix_plan.changes, key=lambda c: order[c.action]):
        target = fix_plan.root / change.path
        try:
            if change.new_text is not None:
                if change.action == "edit":
                    # A symlink inside the project (checked above) keeps being one: the
                    # edit goes to the file it names, as any editor would do.
                    write_text_preserving_mode(
                        target.resolve() if target.is_symlink() else target, change.new_text
                    )
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write(
                        target,
                        change.new_text,
                        mode=change.mode or 0o644,
                        overwrite=change.action not in ("create", "rename"),
                    )
            if change.action in ("rename", "delete") and change.old_path:
                old = fix_plan.root / change.old_path
                if old.exists():
                    old.unlink()
        except OSError as exc:
            raise OperationalError(
                f"could not write {change.path} ({exc.strerror}); already written: "
                f"{', '.join(done) or 'nothing'}"
            ) from None
        done.append(
            f"{change.action} {change.path}"
            + (f" (from {change.old_path})" if change.action == "rename" else "")
        )
    return done


_ESCAPED = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _written_forms(value: str) -> set[str]:
    """How a cookie may be spelled in a config file: as is, and with the backslash escapes
    of a double- or single-quoted string, an interpolating one, or a vm.args word."""

    def escaped(specials: str) -> str:
        return "".join(_ESCAPED.get(c) or ("\\" + c if c in specials else c) for c in value)

    forms = {
        value,
        escaped('"'),
        escaped("'"),
        escaped("\"' #"),
        escaped('"').replace("#{", "\\#{"),
    }
    return {form for form in forms if form}


def _redact(text: str, path: str | None, secrets) -> str:
    """`text` with every cookie replaced by `<cookie fp1:...>`: each value the scanner
    would flag in a file at `path` (comments, escaped strings and shapes the release
    analysis does not read included), and each known cookie in any of its written forms."""
    if not text:
        return text
    from erlcookie.cookie.value import Cookie

    spans: list[tuple[int, int, str]] = []
    if path is not None:
        from erlcookie.scan.detectors import detect

        for found in detect(path, text):
            if found.value:
                spans.append((found.start, found.end, found.value))
    for secret in {s.reveal() for s in secrets if s is not None}:
        if not secret:
            continue
        for form in _written_forms(secret):
            at = text.find(form)
            while at >= 0:
                spans.append((at, at + len(form), secret))
                at = text.find(form, at + 1)
    if not spans:
        return text
    # Longest first at each start, then merge overlaps into one placeholder.
    spans.sort(key=lambda span: (span[0], -span[1]))
    merged: list[list] = []
    for start, end, value in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            continue
        merged.append([start, end, value])
    out, last = [], 0
    for start, end, value in merged:
        out.append(text[last:start])
        out.append(f"<cookie {Cookie(value).fingerprint()}>")
        last = end
    out.append(text[last:])
    return "".join(out)


def diff(change: FileChange) -> str:
    """A unified diff of one change, with every cookie replaced by its fingerprint."""
    old = _redact(change.old_text or "", change.old_path, change.secrets)
    new = _redact(change.new_text or "", change.path, change.secrets)
    from_name = f"a/{change.old_path}" if change.old_path else "/dev/null"
    to_name = f"b/{change.path}" if change.new_text is not None else "/dev/null"
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), from_name, to_name
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    if not out and change.old_path != change.path:
        out = [f"rename {change.old_path} -> {change.path}\n"]
    return "".join(out)
