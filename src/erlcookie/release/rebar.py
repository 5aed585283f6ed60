"""rebar3 / relx releases: where the cookie comes from, and the fix to RELEASE_COOKIE.

relx reads vm.args as is, and renders `vm.args.src` with environment variables each time
the release starts, so the fix is `-setcookie ${RELEASE_COOKIE}` in a `.src` file that relx
really uses: rebar3 3.14 and later pick up `config/vm.args.src` by themselves, but an
explicit `{vm_args, ...}` in the relx section (as `rebar3 new release` writes) wins, and
older rebar3 needs `{vm_args_src, ...}`. Measured on rebar3 3.19: a named vm.args that no
longer exists fails the build, and with both keys relx uses vm_args_src.

An unset RELEASE_COOKIE would leave `-setcookie` empty and the node would quietly run on
~/.erlang.cookie (which OTP creates with its predictable generator), so the fix also adds
a relx pre_start hook that refuses to start without it.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from erlcookie.release import erlterms as et
from erlcookie.release import tlsdist, vmargs
from erlcookie.release.buildtool import BuildTool, FixOptions, ProjectFix
from erlcookie.release.common import Edit, apply_edits, finding, line_indent, template
from erlcookie.release.layout import Project, Tree, newline_of, read_regular, read_text
from erlcookie.release.model import FileChange, Finding, ProjectInfo, ReleaseParseError

SRC_AUTO_PICKUP = (3, 14, 0)
COOKIE_VAR = "RELEASE_COOKIE"
HOOK_SOURCE = "config/hooks/erlcookie_require_cookie.sh"
HOOK_TARGET = "bin/hooks/erlcookie_require_cookie.sh"
HOOK_CUSTOM = "hooks/erlcookie_require_cookie.sh"
HOOK_MARK = "erlcookie: release cookie guard"
DEFAULT_VM_ARGS = "config/vm.args"
VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


# -- the project's rebar3 version ------------------------------------------------------------
def _parse_version(text: str) -> tuple[int, int, int] | None:
    m = VERSION_RE.search(text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def _escript_version(path: Path) -> tuple[int, int, int] | None:
    """rebar3's escript says `%% Rebar3 3.19.0` in its header; read it without Erlang."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512).decode("latin-1")
    except OSError:
        return None
    for line in head.splitlines()[:4]:
        if line.startswith("%%") and "ebar3" in line:
            return _parse_version(line)
    try:
        import zipfile

        with zipfile.ZipFile(path) as archive:
            app = archive.read("rebar/ebin/rebar.app").decode("utf-8", "replace")
        m = re.search(r'\{vsn,\s*"([^"]+)"\}', app)
        return _parse_version(m.group(1)) if m else None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def rebar3_version(
    root: Path, override: str | None = None
) -> tuple[tuple[int, int, int] | None, str]:
    """The rebar3 that builds this project: --rebar3-version, ./rebar3, .tool-versions, PATH."""
    if override:
        version = _parse_version(override)
        if version is None:
            from erlcookie.errors import UsageError

            raise UsageError(f"--rebar3-version {override!r} is not a version like 3.19.0")
        return version, "--rebar3-version"
    local = root / "rebar3"
    if local.is_file():
        version = _escript_version(local)
        if version:
            return version, "./rebar3"
    for name in (".tool-versions",):
        path = root / name
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0] in ("rebar", "rebar3"):
                    version = _parse_version(parts[1])
                    if version:
                        return version, name
    found = shutil.which("rebar3")
    if found:
        version = _escript_version(Path(os.path.realpath(found)))
        if version:
            return version, found
    return None, "unknown"


# -- rebar.config -----------------------------------------------------------------------------
@dataclass
class RelxSection:
    where: str  # "relx" or "profile prod"
    options: et.List
    base: bool  # the section the default profile builds from


def has_relx(config: Path) -> bool:
    try:
        return bool(relx_sections(et.parse_terms(read_regular(config).decode("utf-8"))))
    except (OSError, UnicodeDecodeError, et.ErlangSyntaxError):
        return True  # unreadable: treat as a project of its own and report it there


def relx_sections(terms: list[et.Term]) -> list[RelxSection]:
    sections: list[RelxSection] = []
    for term in terms:
        if not isinstance(term, et.Tuple) or len(term.items) != 2:
            continue
        if term.tag() == "relx" and isinstance(term.items[1], et.List):
            sections.append(RelxSection("relx", term.items[1], True))
        elif term.tag() == "profiles" and isinstance(term.items[1], et.List):
            for profile in term.items[1].items:
                if (
                    isinstance(profile, et.Tuple)
                    and len(profile.items) == 2
                    and isinstance(profile.items[0], et.Atom)
                    and isinstance(profile.items[1], et.List)
                ):
                    for relx in et.proplist_get(profile.items[1], "relx"):
                        if len(relx.items) == 2 and isinstance(relx.items[1], et.List):
                            sections.append(
                                RelxSection(
                                    f"profile {profile.items[0].name}", relx.items[1], False
                                )
                            )
    if not any(s.base for s in sections):
        # relx only in profiles: each of them is where a release gets built from.
        for section in sections:
            section.base = True
    return sections


def release_names(sections: list[RelxSection]) -> list[str]:
    names: list[str] = []
    for section in sections:
        for rel in et.proplist_get(section.options, "release"):
            if len(rel.items) >= 2 and isinstance(rel.items[1], et.Tuple) and rel.items[1].items:
                first = rel.items[1].items[0]
                if isinstance(first, et.Atom) and first.name not in names:
                    names.append(first.name)
    return names


def _string_option(section: RelxSection, key: str) -> tuple[et.Tuple, et.Term] | None:
    found = et.proplist_get(section.options, key)
    if not found or len(found[-1].items) != 2:
        return None
    return found[-1], found[-1].items[1]


# -- vm.args analysis -------------------------------------------------------------------------
@dataclass
class VmArgsUse:
    path: Path  # the file relx reads (vm.args or vm.args.src)
    src: bool  # rendered with environment variables at start-up
    declared: et.Tuple | None = None  # the {vm_args, ...} or {vm_args_src, ...} naming it
    rename_to_src: bool = False  # fix: vm.args -> vm.args.src


@dataclass
class RebarState:
    project: Project
    tree: Tree
    config: Path
    text: str
    terms: list[et.Term]
    sections: list[RelxSection]
    releases: list[str]
    version: tuple[int, int, int] | None
    version_source: str
    uses: list[VmArgsUse] = field(default_factory=list)
    missing_vm_args: list[RelxSection] = field(default_factory=list)
    config_edits: list[Edit] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tls: tlsdist.TlsSetup = field(default_factory=tlsdist.TlsSetup)

    def shown(self, path: Path) -> str:
        return self.tree.rel(path)

    @property
    def modern(self) -> bool:
        return self.version is None or self.version >= SRC_AUTO_PICKUP


def _cookie_names(state: RebarState) -> set[str]:
    names = set(state.releases) | {state.project.root.name}
    apps = state.project.root / "apps"
    if apps.is_dir():
        names |= {p.name for p in apps.iterdir() if p.is_dir()}
    return names


def classify_cookie(value: str, names: set[str], src: bool) -> tuple[str | None, str]:
    """(rule or None when fine, short description) for the value of `-setcookie C`."""
    refs = vmargs.variables(value)
    if refs:
        if not src:
            return "release/vm-args-unrendered-variable", "is not expanded in a plain vm.args"
        for var, default in refs:
            if default:
                return (
                    "release/vm-args-cookie-default",
                    f"falls back to a literal when ${var} is unset",
                )
        return None, "from the environment"
    if re.fullmatch(r"\{\{\s*(name|release_name)\s*\}\}(_cookie)?", value) or any(
        value == f"{name}_cookie" for name in names
    ):
        return "release/relx-template-cookie", "is the rebar3/relx template's cookie"
    if "{{" in value or "<%" in value:
        return "release/vm-args-build-time-cookie", "is filled in when the release is built"
    return "release/vm-args-literal-cookie", "is a literal"


def _analyze_vm_args(state: RebarState, use: VmArgsUse, text: str) -> None:
    shown = state.shown(use.path)
    flag_list = vmargs.parse(text, shown)
    names = _cookie_names(state)
    own = 0
    for flag in vmargs.find(flag_list, "-setcookie"):
        if not flag.args:
            own += 1
            state.findings.append(
                finding(
                    "release/vm-args-empty-cookie",
                    shown,
                    text,
                    flag.word.start,
                    "-setcookie without a value: the node falls back to ~/.erlang.cookie",
                    fixable=True,
                )
            )
        elif len(flag.args) == 1:
            own += 1
            word = flag.args[0]
            rule, how = classify_cookie(word.value, names, use.src)
            if rule is None:
                if vmargs.line_bounds(text, flag.word.start)[0] != flag.word.start:
                    state.findings.append(
                        finding(
                            "release/relx-setcookie-not-at-line-start",
                            shown,
                            text,
                            flag.word.start,
                            "-setcookie shares its line, so `bin/<release> stop`, `ping` and "
                            "`remote_console` find no cookie",
                            fixable=True,
                        )
                    )
                continue
            literal = (
                None
                if rule
                in ("release/vm-args-unrendered-variable", "release/vm-args-build-time-cookie")
                else word.value
            )
            if rule == "release/vm-args-cookie-default":
                literal = next(d for _, d in vmargs.variables(word.value) if d)
            state.findings.append(
                finding(
                    rule,
                    shown,
                    text,
                    word.start,
                    f"-setcookie value {how}",
                    fixable=True,
                    cookie=literal,
                )
            )
        elif len(flag.args) == 2:
            node, word = flag.args
            if vmargs.variables(word.value) and use.src:
                continue
            state.findings.append(
                finding(
                    "release/vm-args-per-node-cookie",
                    shown,
                    text,
                    word.start,
                    f"-setcookie sets a literal cookie for peer {node.value}",
                    fixable=False,
                    cookie=word.value,
                )
            )
        else:
            raise ReleaseParseError(
                shown,
                f"line {vmargs.line_of(text, flag.word.start)}: "
                "-setcookie with more than two arguments",
            )
    if own == 0:
        state.findings.append(
            finding(
                "release/vm-args-no-cookie",
                shown,
                text,
                0,
                "no -setcookie: the node uses ~/.erlang.cookie, which OTP creates with its "
                "predictable generator when it is missing",
                fixable=True,
            )
        )


def analyze(
    project: Project,
    tree: Tree,
    version_override: str | None = None,
    fix_options: FixOptions | None = None,
) -> RebarState:
    """Where each relx release of the project takes its cookie from, as findings."""
    config = project.root / "rebar.config"
    shown = tree.rel(config)
    text = read_text(config, shown)
    try:
        terms = et.parse_terms(text)
    except et.ErlangSyntaxError as exc:
        raise ReleaseParseError(shown, str(exc)) from None
    sections = relx_sections(terms)
    version, source = rebar3_version(project.root, version_override)
    state = RebarState(
        project, tree, config, text, terms, sections, release_names(sections), version, source
    )
    if (project.root / "rebar.config.script").exists():
        state.notes.append(
            "rebar.config.script exists: it may change the relx section in "
            "ways this analysis cannot see"
        )
    if not sections:
        return state
    state.notes.append(
        "rebar3 "
        + (
            ".".join(map(str, version)) + f" (from {source})"
            if version
            else "version unknown: assuming 3.14 or later"
        )
    )
    seen: set[Path] = set()
    for section in sections:
        named_src = _string_option(section, "vm_args_src")
        named = _string_option(section, "vm_args")
        use: VmArgsUse | None = None
        if named_src and isinstance(named_src[1], et.Str):
            use = VmArgsUse(project.root / named_src[1].value, True, named_src[0])
        elif named and isinstance(named[1], et.Str):
            plain = project.root / named[1].value
            src = plain.with_name(plain.name + ".src")
            if src.is_file():
                state.findings.append(
                    finding(
                        "release/relx-vm-args-src-ignored",
                        shown,
                        text,
                        named[0].start,
                        f"{tree.rel(src)} exists, but the relx section names {named[1].value!r} "
                        f"with vm_args, so relx {'uses that file' if plain.is_file() else 'fails'}",
                        fixable=not plain.is_file(),
                    )
                )
                if not plain.is_file():
                    use = VmArgsUse(src, True, named[0])
                    state.config_edits.extend(_rename_option(named[0], named[1].value + ".src"))
            if use is None and plain.is_file():
                use = VmArgsUse(plain, False, named[0], rename_to_src=True)
                state.config_edits.extend(_rename_option(named[0], named[1].value + ".src"))
            elif use is None:
                state.notes.append(
                    f"{section.where} names {named[1].value!r}, which does not exist"
                )
        elif named and isinstance(named[1], et.Atom) and named[1].name == "false":
            state.notes.append(f"{section.where}: vm_args is false, so the release has no vm.args")
            continue
        elif section.base:
            auto_src = project.root / (DEFAULT_VM_ARGS + ".src")
            auto = project.root / DEFAULT_VM_ARGS
            if auto_src.is_file():
                use = VmArgsUse(auto_src, True)
                if not state.modern:
                    state.findings.append(
                        finding(
                            "release/relx-vm-args-src-ignored",
                            shown,
                            text,
                            section.options.start,
                            f"rebar3 {'.'.join(map(str, version))} does not pick up "
                            f"{DEFAULT_VM_ARGS}.src by itself",
                            fixable=True,
                        )
                    )
            elif auto.is_file():
                use = VmArgsUse(auto, False, rename_to_src=True)
            elif state.releases:
                state.missing_vm_args.append(section)
                state.findings.append(
                    finding(
                        "release/relx-default-vm-args",
                        shown,
                        text,
                        section.options.start,
                        f"no vm.args for {', '.join(state.releases)}: relx writes one with "
                        "-setcookie set to the release name",
                        fixable=True,
                    )
                )
        if use is None or use.path in seen:
            continue
        seen.add(use.path)
        state.uses.append(use)
        if not use.path.is_file():
            state.notes.append(
                f"{tree.rel(use.path)} is named in {section.where} but does not exist"
            )
            continue
        _analyze_vm_args(state, use, read_text(use.path, tree.rel(use.path)))
    if any(u.src for u in state.uses) and not _guarded(state):
        state.findings.append(
            finding(
                "release/relx-no-cookie-guard",
                shown,
                text,
                _base_sections(state)[0].options.start,
                "an unset RELEASE_COOKIE leaves -setcookie empty and the node runs on "
                "~/.erlang.cookie",
                fixable=True,
            )
        )
    _tls_findings(state, fix_options or FixOptions())
    return state


# -- TLS distribution ------------------------------------------------------------------------
def _release_app_lists(state: RebarState) -> list[tuple[et.Tuple, et.List]]:
    """({release, ...} tuple, its application list) of every release of the base sections."""
    out = []
    for section in _base_sections(state):
        for rel in et.proplist_get(section.options, "release"):
            if len(rel.items) >= 3 and isinstance(rel.items[2], et.List):
                out.append((rel, rel.items[2]))
    return out


def _names_ssl(term: et.Term) -> bool:
    return any(
        (isinstance(t, et.Atom) and t.name == "ssl")
        or (
            isinstance(t, et.Tuple)
            and t.items
            and isinstance(t.items[0], et.Atom)
            and t.items[0].name == "ssl"
        )
        for t in (term.items if isinstance(term, et.List) else [])
    )


def _apps_need_ssl(root: Path) -> bool:
    """An application of the project lists ssl in its .app.src: relx then includes it."""
    for app_src in list(root.glob("src/*.app.src")) + list(root.glob("apps/*/src/*.app.src")):
        try:
            terms = et.parse_terms(read_regular(app_src).decode("utf-8"))
        except (OSError, UnicodeDecodeError, et.ErlangSyntaxError):
            continue
        for term in terms:
            for t in et.walk(term):
                if (
                    isinstance(t, et.Tuple)
                    and t.tag() == "applications"
                    and len(t.items) == 2
                    and _names_ssl(t.items[1])
                ):
                    return True
    return False


def _tls_findings(state: RebarState, options: FixOptions) -> None:
    setup = state.tls
    for use in state.uses:
        if use.path.is_file():
            shown = state.shown(use.path)
            text = read_text(use.path, shown)
            setup.add_vm_args(shown, text, vmargs.parse(text, shown))
    lists = _release_app_lists(state)
    setup.ssl_app = any(_names_ssl(apps) for _, apps in lists) or _apps_need_ssl(state.project.root)
    if not state.releases:
        return
    at = lists[0][0].start if lists else _base_sections(state)[0].options.start
    state.findings.extend(
        tlsdist.findings(
            setup,
            options,
            tlsdist.Place(state.shown(state.config), state.text, at),
            ssl_fixable=bool(lists) and all(apps.tail is None for _, apps in lists),
            ssl_how="add ssl to the relx release's applications",
        )
    )


def _ssl_edits(state: RebarState) -> list[Edit]:
    return [
        _list_insert(state.text, apps, "ssl")
        for _, apps in _release_app_lists(state)
        if not _names_ssl(apps)
    ]


def _tls_vm_args_edits(
    text: str, flag_list: list[vmargs.Flag], optfile: str
) -> tuple[list[Edit], list[str]]:
    """-proto_dist inet_tls and -ssl_dist_optfile, added when missing (the path rewritten
    when the user gives --optfile-path)."""
    from erlcookie.release.buildtool import check_optfile_path

    check_optfile_path(optfile)
    edits: list[Edit] = []
    lines: list[str] = []
    if not any(
        f.name == "-proto_dist" and any(a.value in ("inet_tls", "inet6_tls") for a in f.args)
        for f in flag_list
    ):
        if vmargs.find(flag_list, "-proto_dist"):
            raise ValueError("vm.args chooses another -proto_dist")
        lines += [
            "## Mutual TLS distribution (erlcookie release fix --tls). relx's own ping, rpc,",
            "## eval and stop cannot reach a TLS node: run foreground, check with erlcookie ping.",
            "-proto_dist inet_tls",
        ]
    optfiles = vmargs.find(flag_list, "-ssl_dist_optfile")
    if not optfiles and not vmargs.find(flag_list, "-ssl_dist_opt"):
        lines.append(f"-ssl_dist_optfile {optfile}")
    for flag in optfiles:
        if flag.args and flag.args[-1].value != optfile:
            edits.append(Edit(flag.args[-1].start, flag.args[-1].end, optfile))
    return edits, lines


def _base_sections(state: RebarState) -> list[RelxSection]:
    return [s for s in state.sections if s.base]


def _rename_option(option: et.Tuple, new_path: str) -> list[Edit]:
    key, value = option.items
    return [
        Edit(key.start, key.end, "vm_args_src"),
        Edit(value.start, value.end, et.erlang_string(new_path)),
    ]


def _hook_lists(section: RelxSection) -> tuple[bool, bool]:
    """(our pre_start hook configured, our overlay copy configured) in one relx section."""
    hook = overlay = False
    for term in et.walk(section.options):
        if (
            isinstance(term, et.Tuple)
            and term.tag() == "custom"
            and len(term.items) >= 2
            and isinstance(term.items[1], et.Str)
            and term.items[1].value == HOOK_CUSTOM
        ):
            hook = True
        if (
            isinstance(term, et.Tuple)
            and term.tag() in ("copy", "template")
            and len(term.items) == 3
            and isinstance(term.items[2], et.Str)
            and term.items[2].value == HOOK_TARGET
        ):
            overlay = True
    return hook, overlay


def _guarded(state: RebarState) -> bool:
    for section in state.sections:
        hook, overlay = _hook_lists(section)
        if (et.proplist_get(section.options, "extended_start_script_hooks") and not hook) or (
            et.proplist_get(section.options, "overlay") and not overlay
        ):
            return False
    if not all(all(_hook_lists(s)) for s in _base_sections(state)):
        return False
    return (state.project.root / HOOK_SOURCE).is_file()


def project_info(state: RebarState) -> ProjectInfo:
    return ProjectInfo("rebar3", state.tree.rel(state.project.root), state.releases, state.notes)


# -- the fix ---------------------------------------------------------------------------------
def fixed_vm_args(text: str, node_base: str, options: FixOptions, shown: str) -> str:
    """vm.args.src text with the cookie from ${RELEASE_COOKIE}; a no-op on fixed text.

    The steps: the node's own -setcookie reads a variable (and opens its line), a missing
    one is added, and --node-name / --dist-port add or rewrite their flags.
    """
    nl = newline_of(text)
    flag_list = vmargs.parse(text, shown)
    name_flags = [f for f in flag_list if f.name in ("-name", "-sname")]
    edits, own = _setcookie_edits(text, flag_list, nl)
    if not own:
        edits.extend(_added_setcookie(text, name_flags, nl))
    if options.node_name == "pod-ip":
        edits.extend(_pod_ip_name_edits(name_flags, node_base, shown, nl))
    appended: list[str] = []
    if options.dist_port is not None:
        port_edits, appended = _dist_port_edits(flag_list, options.dist_port)
        edits.extend(port_edits)
    if options.tls:
        try:
            tls_edits, tls_lines = _tls_vm_args_edits(
                text, flag_list, options.optfile_path or _optfile_in(flag_list) or options.optfile
            )
        except ValueError as exc:
            raise ReleaseParseError(shown, f"{exc}; set up TLS by hand") from None
        edits.extend(tls_edits)
        appended += tls_lines
    return _append_lines(apply_edits(text, edits, shown), appended, nl)


def _optfile_in(flag_list: list[vmargs.Flag]) -> str | None:
    for flag in vmargs.find(flag_list, "-ssl_dist_optfile"):
        if flag.args:
            return flag.args[-1].value
    return None


def _setcookie_edits(text: str, flag_list: list[vmargs.Flag], nl: str) -> tuple[list[Edit], bool]:
    """Make each of the node's own -setcookie read a variable; (edits, any found)."""
    edits: list[Edit] = []
    own = False
    for flag in vmargs.find(flag_list, "-setcookie"):
        if len(flag.args) > 1:
            continue  # a per-peer cookie: left for a human
        own = True
        refs = vmargs.variables(flag.args[0].value) if flag.args else []
        var = refs[0][0] if refs else COOKIE_VAR
        line_start, _ = vmargs.line_bounds(text, flag.word.start)
        if line_start != flag.word.start:
            edits.extend(_setcookie_to_own_line(text, flag, var, nl))
        elif not flag.args:
            edits.append(Edit(flag.word.end, flag.word.end, " ${%s}" % var))
        elif not (refs and flag.args[0].raw == "${%s}" % var and refs[0][1] is None):
            edits.append(Edit(flag.args[0].start, flag.args[0].end, "${%s}" % var))
    return edits, own


def _setcookie_to_own_line(text: str, flag: vmargs.Flag, var: str, nl: str) -> list[Edit]:
    """relx's start script finds the cookie with `grep '^-setcookie'`: it must open its own
    line, or `stop`, `ping` and `remote` cannot reach the node."""
    line_start, line_end = vmargs.line_bounds(text, flag.word.start)
    wanted = "-setcookie ${%s}" % var
    if not text[line_start : flag.word.start].strip() and not vmargs.words(
        text[flag.end : line_end]
    ):
        return [Edit(line_start, flag.end, wanted)]
    start, stop = flag.word.start, flag.end
    while stop < len(text) and text[stop] in " \t":
        stop += 1
    if not text[stop:line_end].strip():
        while start > line_start and text[start - 1] in " \t":
            start -= 1
    return [
        Edit(start, stop, ""),
        Edit(
            line_end, line_end, ("" if text[line_end - 1 : line_end] == "\n" else nl) + wanted + nl
        ),
    ]


def _added_setcookie(text: str, name_flags: list[vmargs.Flag], nl: str) -> list[Edit]:
    """`-setcookie ${RELEASE_COOKIE}` after the node name, or first when there is none."""
    line = "-setcookie ${%s}" % COOKIE_VAR
    if not name_flags:
        return [Edit(0, 0, line + nl)]
    _, line_end = vmargs.line_bounds(text, name_flags[0].end)
    return [
        Edit(line_end, line_end, ("" if text[line_end - 1 : line_end] == "\n" else nl) + line + nl)
    ]


def _pod_ip_name_edits(
    name_flags: list[vmargs.Flag], node_base: str, shown: str, nl: str
) -> list[Edit]:
    """--node-name pod-ip: `-name <base>@${POD_IP}` (a -sname becomes a long name)."""
    target = "${POD_IP}"
    if not name_flags:
        return [Edit(0, 0, f"-name {node_base}@{target}{nl}")]
    edits: list[Edit] = []
    for flag in name_flags:
        if len(flag.args) != 1:
            raise ReleaseParseError(shown, f"{flag.name} needs exactly one node name")
        word = flag.args[0]
        base = word.value.split("@", 1)[0]
        if flag.name == "-name" and word.value == f"{base}@{target}":
            continue
        if "$" in base or "{{" in base:
            raise ReleaseParseError(
                shown, f"the node name {word.raw!r} is computed; set --node-name by hand"
            )
        edits.append(Edit(flag.word.start, flag.word.end, "-name"))
        edits.append(Edit(word.start, word.end, f"{base}@{target}"))
    return edits


def _dist_port_edits(flag_list: list[vmargs.Flag], dist_port: int) -> tuple[list[Edit], list[str]]:
    """--dist-port N: existing inet_dist_listen_min/max get N; (edits, lines to append)."""
    port = str(dist_port)
    edits: list[Edit] = []
    found = {"inet_dist_listen_min": False, "inet_dist_listen_max": False}
    for flag in vmargs.find(flag_list, "-kernel"):
        args = flag.args
        for key_word, value_word in zip(args[::2], args[1::2]):
            if key_word.value in found:
                found[key_word.value] = True
                if value_word.value != port:
                    edits.append(Edit(value_word.start, value_word.end, port))
    return edits, [f"-kernel {key} {port}" for key, present in found.items() if not present]


def _append_lines(text: str, lines: list[str], nl: str) -> str:
    if not lines:
        return text
    if text and not text.endswith("\n"):
        text += nl
    return text + nl.join(lines) + nl


def _list_insert(text: str, lst: et.List, element: str) -> Edit:
    """Insert `element` as the list's last item, on its own line when the items are."""
    nl = newline_of(text)
    if lst.tail is not None:
        raise ValueError("improper list")
    if not lst.items:
        return Edit(lst.open_end, lst.open_end, element)
    last = lst.items[-1]
    indent = line_indent(text, last.start)
    if indent is not None and "\n" in text[lst.start : last.start]:
        return Edit(last.end, last.end, f",{nl}{indent}{element}")
    return Edit(last.end, last.end, f", {element}")


def _hook_edits(state: RebarState) -> list[Edit]:
    """Add our pre_start hook and its overlay copy where relx will see them."""
    edits: list[Edit] = []
    custom = "{custom, %s}" % et.erlang_string(HOOK_CUSTOM)
    copy = "{copy, %s, %s}" % (et.erlang_string(HOOK_SOURCE), et.erlang_string(HOOK_TARGET))
    for section in state.sections:
        hook, overlay = _hook_lists(section)
        hooks = et.proplist_get(section.options, "extended_start_script_hooks")
        overlays = et.proplist_get(section.options, "overlay")
        if not hook and (hooks or section.base):
            if hooks:
                hook_list = hooks[-1].items[1] if len(hooks[-1].items) == 2 else None
                if not isinstance(hook_list, et.List):
                    raise ValueError("extended_start_script_hooks is not a list")
                pre = et.proplist_get(hook_list, "pre_start")
                if pre:
                    if len(pre[-1].items) != 2 or not isinstance(pre[-1].items[1], et.List):
                        raise ValueError("pre_start is not a list")
                    edits.append(_list_insert(state.text, pre[-1].items[1], custom))
                else:
                    edits.append(_list_insert(state.text, hook_list, "{pre_start, [%s]}" % custom))
            else:
                edits.append(
                    _list_insert(
                        state.text,
                        section.options,
                        "{extended_start_script_hooks, [{pre_start, [%s]}]}" % custom,
                    )
                )
        if not overlay and (overlays or section.base):
            if overlays:
                overlay_list = overlays[-1].items[1] if len(overlays[-1].items) == 2 else None
                if not isinstance(overlay_list, et.List):
                    raise ValueError("overlay is not a list")
                edits.append(_list_insert(state.text, overlay_list, copy))
            else:
                edits.append(_list_insert(state.text, section.options, "{overlay, [%s]}" % copy))
    return edits


def _merge_same_point(edits: list[Edit]) -> list[Edit]:
    """Insertions at one offset become one edit, in order (they would otherwise 'overlap')."""
    merged: dict[tuple[int, int], str] = {}
    order: list[tuple[int, int]] = []
    for edit in edits:
        key = (edit.start, edit.end)
        if key in merged and edit.start == edit.end:
            merged[key] += edit.text
        else:
            if key in merged:
                raise ValueError("two replacements of the same text")
            merged[key] = edit.text
            order.append(key)
    return [Edit(s, e, merged[(s, e)]) for s, e in order]


def hook_script(options: FixOptions, cookie_var: str = COOKIE_VAR) -> str:
    text = template("relx_require_cookie.sh.txt")
    pod_ip = template("relx_require_pod_ip.sh.txt") if options.node_name == "pod-ip" else ""
    return text.replace("@POD_IP_CHECK@\n", pod_ip).replace("@VAR@", cookie_var)


def _cookie_var(text: str) -> str | None:
    """The variable the node's own -setcookie reads in fixed vm.args.src text."""
    for flag in vmargs.find(vmargs.flags(text), "-setcookie"):
        if len(flag.args) == 1:
            refs = vmargs.variables(flag.args[0].value)
            if refs:
                return refs[0][0]
    return None


def plan(state: RebarState, options: FixOptions) -> list[FileChange]:
    """The file changes that make every release of this project read RELEASE_COOKIE."""
    if not state.sections:
        return []
    root = state.project.root
    shown_config = state.shown(state.config)
    if (root / "rebar.config.script").exists():
        raise ReleaseParseError(
            shown_config,
            "rebar.config.script rewrites the config at build time; fix this project by hand",
        )
    changes: list[FileChange] = []
    config_edits = list(state.config_edits)
    node_base = state.releases[0] if state.releases else root.name
    secrets = [f.secret for f in state.findings if f.secret is not None]
    cookie_var = COOKIE_VAR
    for use in state.uses:
        if not use.path.is_file():
            continue
        shown = state.shown(use.path)
        old = read_text(use.path, shown)
        new = fixed_vm_args(old, node_base, options, shown)
        cookie_var = _cookie_var(new) or cookie_var
        target = use.path
        if use.rename_to_src:
            target = use.path.with_name(use.path.name + ".src")
            if target.exists():
                raise ReleaseParseError(
                    shown, f"both {shown} and {state.shown(target)} exist; keep one of them"
                )
            changes.append(
                FileChange(
                    state.shown(target),
                    shown,
                    old,
                    new,
                    "vm.args becomes vm.args.src: relx renders it with RELEASE_COOKIE at start-up",
                    mode=use.path.stat().st_mode & 0o7777,
                    secrets=secrets,
                )
            )
        elif new != old:
            changes.append(
                FileChange(
                    shown, shown, old, new, "the cookie comes from RELEASE_COOKIE", secrets=secrets
                )
            )
        if use.declared is None and not state.modern:
            config_edits.append(
                _list_insert(
                    state.text,
                    _base_sections(state)[0].options,
                    "{vm_args_src, %s}"
                    % et.erlang_string("./" + target.relative_to(root).as_posix()),
                )
            )
    for section in state.missing_vm_args:
        target = root / (DEFAULT_VM_ARGS + ".src")
        if any(c.path == state.shown(target) for c in changes):
            continue
        text = template("vm.args.src.txt").replace("@NAME@", node_base)
        text = fixed_vm_args(text, node_base, options, state.shown(target))
        changes.append(
            FileChange(
                state.shown(target),
                None,
                None,
                text,
                "relx would write -setcookie <release name>; use RELEASE_COOKIE",
                mode=0o644,
            )
        )
        if not state.modern:
            config_edits.append(
                _list_insert(
                    state.text,
                    section.options,
                    "{vm_args_src, %s}" % et.erlang_string("./" + DEFAULT_VM_ARGS + ".src"),
                )
            )
    # The guard: a pre_start hook, copied into the release by an overlay.
    hook_path = root / HOOK_SOURCE
    script = hook_script(options, cookie_var)
    old_script = read_text(hook_path, state.shown(hook_path)) if hook_path.is_file() else None
    if old_script is not None and HOOK_MARK not in old_script:
        raise ReleaseParseError(state.shown(hook_path), "exists and was not written by erlcookie")
    if old_script != script:
        changes.append(
            FileChange(
                state.shown(hook_path),
                None if old_script is None else state.shown(hook_path),
                old_script,
                script,
                "relx pre_start hook: refuse to start without RELEASE_COOKIE",
                mode=0o644,
            )
        )
    if (options.tls or state.tls.on) and not state.tls.ssl_app:
        try:
            config_edits.extend(_ssl_edits(state))
        except ValueError as exc:
            raise ReleaseParseError(
                shown_config, f"cannot add ssl to the release ({exc})"
            ) from None
    try:
        config_edits.extend(_hook_edits(state))
        config_edits = _merge_same_point(config_edits)
    except ValueError as exc:
        raise ReleaseParseError(shown_config, f"unexpected relx section shape ({exc})") from None
    if config_edits:
        new_config = apply_edits(state.text, config_edits, shown_config)
        _verify_config(new_config, shown_config)
        changes.append(
            FileChange(
                shown_config,
                shown_config,
                state.text,
                new_config,
                "relx: use vm.args.src and run the RELEASE_COOKIE guard"
                + ("; ssl in the release (TLS distribution)" if options.tls else ""),
            )
        )
    return changes


def _verify_config(new_text: str, shown: str) -> None:
    """The edited rebar.config must still parse, with no {vm_args, ...} left pointing at a gone file."""
    try:
        terms = et.parse_terms(new_text)
    except et.ErlangSyntaxError as exc:  # pragma: no cover - would be our bug
        raise ReleaseParseError(shown, f"the edit would break the file ({exc})") from None
    sections = relx_sections(terms)
    for section in sections:
        if section.base and not all(_hook_lists(section)):
            raise ReleaseParseError(shown, "could not add the cookie guard to the relx section")


class Rebar3(BuildTool):
    """rebar3 / relx: a directory with `rebar.config`."""

    kind = "rebar3"
    marker = "rebar.config"

    def owns(self, parent_root: Path, root: Path, kind: str) -> bool:
        # An app without a relx section is built into the enclosing project's releases.
        return kind == "rebar3" and not has_relx(root / "rebar.config")

    def check(self, project: Project, tree: Tree, options: FixOptions) -> RebarState:
        return analyze(project, tree, options.rebar3_version, options)

    def info(self, state: RebarState) -> ProjectInfo:
        return project_info(state)

    def plan_fix(self, state: RebarState, options: FixOptions) -> ProjectFix:
        notes = []
        if state.sections and state.version is None:
            notes.append(
                f"{state.tree.rel(state.project.root)}: rebar3 version unknown, "
                "assumed 3.14 or later (give --rebar3-version if older)"
            )
        if options.tls and state.releases:
            notes.append(
                f"--tls: {', '.join(state.releases)} starts on TLS distribution, but relx's "
                "start script reaches the node with erl_call or nodetool, which cannot use the "
                "optfile: bin/NAME ping, rpc, eval, stop (and daemon, which pings) do not work. "
                "Run `bin/NAME foreground` under your init system; check the node with "
                "erlcookie ping --tls-*"
            )
        return ProjectFix(plan(state, options), notes)


TOOL = Rebar3()
