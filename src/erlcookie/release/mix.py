"""mix releases: the :cookie option, the build-time releases/COOKIE fallback, and the fix.

`mix release` writes a random cookie into releases/COOKIE at build time, and the start
script uses it whenever RELEASE_COOKIE is unset, so every clean build would split the
cluster. The script sources `releases/VSN/env.sh` (rendered from `rel/env.sh.eex`) before
that fallback, which is where the guard goes: start and daemon refuse to run without
RELEASE_COOKIE. The :cookie option leaves mix.exs with the rest of the file byte for byte.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from erlcookie.release import code, exlex, tlsdist, vmargs
from erlcookie.release.buildtool import BuildTool, FixOptions, ProjectFix
from erlcookie.release.common import Edit, apply_edits, finding, introducing_comment_start, template
from erlcookie.release.layout import Project, Tree, newline_of, read_regular, read_text
from erlcookie.release.model import FileChange, Finding, ProjectInfo, ReleaseParseError

BEGIN = "erlcookie:begin release-cookie-guard"
END = "erlcookie:end release-cookie-guard"
SH_BLOCK_RE = re.compile(
    r"^# erlcookie:begin release-cookie-guard(?P<opts>[^\n]*)\n.*?"
    r"^# erlcookie:end release-cookie-guard[^\n]*(\n|\Z)",
    re.M | re.S,
)
BAT_BLOCK_RE = re.compile(
    r"^rem erlcookie:begin release-cookie-guard[^\n]*\n.*?"
    r"^rem erlcookie:end release-cookie-guard[^\n]*(\n|\Z)",
    re.M | re.S,
)
# A guard written by hand: a test of RELEASE_COOKIE that stops the script.
USER_GUARD_RE = re.compile(
    r"\$\{RELEASE_COOKIE:\?|-z\s+\"?\$\{?RELEASE_COOKIE\b[^\n]*(\n[^\n]*){0,3}"
    r"\bexit\b"
)
SH_ASSIGN_RE = re.compile(r"^[ \t]*(?:export[ \t]+)?RELEASE_COOKIE=(?P<value>[^\n#;]*)", re.M)
BAT_ASSIGN_RE = re.compile(
    r"^[ \t]*set[ \t]+\"?RELEASE_COOKIE=(?P<value>[^\n\"]*)\"?[ \t]*$", re.M | re.I
)
TLS_BLOCK_RE = re.compile(
    r"^# erlcookie:begin release-tls-dist(?P<opts>[^\n]*)\n.*?"
    r"^# erlcookie:end release-tls-dist[^\n]*(\n|\Z)",
    re.M | re.S,
)
VM_ARGS_NAMES = ("vm.args.eex", "remote.vm.args.eex", "vm.args", "vm.args.src")


@dataclass
class CookieOption:
    key: int  # index of the `cookie:` token in the code tokens
    last: int  # index of the value's last token
    literal: str | None  # the value when it is a plain literal (or its literal fallback)
    fallback: bool = False  # `System.get_env("C") || "literal"`
    attribute: str | None = None  # `cookie: @name`: the literal comes from `@name "..."`


@dataclass
class MixFile:
    path: Path
    text: str
    tokens: list[exlex.Tok]  # code tokens (no comments)
    pairs: dict[int, int]

    def offset(self, index: int) -> int:
        return self.tokens[index].start


@dataclass
class MixRelease:
    name: str
    offset: int  # where it is defined in mix.exs
    windows: bool | None = None  # include_executables_for lists :windows (None: unknown)
    templates: str = "rel"  # rel_templates_path


@dataclass
class MixState:
    project: Project
    tree: Tree
    main: MixFile
    umbrella: bool
    app: str | None
    releases: list[MixRelease]
    files: list[MixFile] = field(default_factory=list)  # main + umbrella children
    cookies: dict[Path, list[CookieOption]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tls: tlsdist.TlsSetup = field(default_factory=tlsdist.TlsSetup)

    def shown(self, path: Path) -> str:
        return self.tree.rel(path)


def _load(path: Path, shown: str) -> MixFile:
    return _load_text(path, read_text(path, shown), shown)


def _load_text(path: Path, text: str, shown: str) -> MixFile:
    try:
        tokens = exlex.code(exlex.tokenize(text))
        pairs = exlex.match_brackets(tokens, text)
    except exlex.ElixirSyntaxError as exc:
        raise ReleaseParseError(shown, str(exc)) from None
    return MixFile(path, text, tokens, pairs)


@functools.lru_cache(maxsize=256)
def _apps_path_cached(mix_exs: str, mtime: float) -> str | None:
    try:
        text = read_regular(Path(mix_exs)).decode("utf-8")
        tokens = exlex.code(exlex.tokenize(text))
    except (OSError, UnicodeDecodeError, exlex.ElixirSyntaxError):
        return None
    for i, tok in enumerate(tokens[:-1]):
        if tok.kind == "kwkey" and tok.value == "apps_path" and tokens[i + 1].kind == "string":
            return tokens[i + 1].value
    return None


def umbrella_apps_path(root: Path) -> str | None:
    """An umbrella's apps_path ("apps"), or None for a plain project."""
    mix_exs = root / "mix.exs"
    try:
        return _apps_path_cached(str(mix_exs), mix_exs.stat().st_mtime)
    except OSError:
        return None


def _kw_value(f: MixFile, key: str) -> int | None:
    for i, tok in enumerate(f.tokens[:-1]):
        if tok.kind == "kwkey" and tok.value == key:
            return i + 1
    return None


def _function_list(f: MixFile, name: str) -> int | None:
    """Index of the list a zero-arity `def(p) name` returns (its last top-level list)."""
    toks = f.tokens
    for i, tok in enumerate(toks[:-1]):
        if tok.kind == "ident" and tok.text in ("def", "defp") and toks[i + 1].text == name:
            j = i + 2
            if (
                j < len(toks)
                and toks[j].text == "("
                and j + 1 < len(toks)
                and toks[j + 1].text == ")"
            ):
                j += 2
            if j < len(toks) and toks[j].text == ",":
                j += 1
            if j < len(toks) and toks[j].kind == "kwkey" and toks[j].value == "do":
                return j + 1 if toks[j + 1].text == "[" else None
            if j < len(toks) and toks[j].text == "do" and j in f.pairs:
                end = f.pairs[j]
                k, last_list = j + 1, None
                while k < end:
                    if toks[k].text == "[" and k in f.pairs:
                        last_list = k
                        k = f.pairs[k] + 1
                        continue
                    k = f.pairs.get(k, k) + 1
                return last_list
    return None


def _entries(f: MixFile, open_index: int) -> list[tuple[int, int]]:
    """(key index, last value index) of a keyword list's direct entries."""
    close = f.pairs[open_index]
    out = []
    i = open_index + 1
    while i < close:
        tok = f.tokens[i]
        if tok.kind == "kwkey":
            last = exlex.value_end(f.tokens, i + 1, f.pairs)
            out.append((i, last))
            i = last + 1
        else:
            i = f.pairs.get(i, i) + 1
    return out


def _literal(f: MixFile, first: int, last: int) -> str | None:
    if first != last:
        return None
    tok = f.tokens[first]
    if tok.kind in ("string", "charlist", "sigil", "atom"):
        return tok.value
    return None


def _releases(f: MixFile, app: str | None, umbrella: bool) -> tuple[list[MixRelease], bool]:
    """The releases mix.exs defines, and whether we could read the list at all."""
    start = _kw_value(f, "releases")
    if start is None:
        if umbrella or app is None:
            return [], True
        app_at = _kw_value(f, "app")
        return [MixRelease(app, f.tokens[app_at - 1].start if app_at else f.offset(0))], True
    tok = f.tokens[start]
    list_index = None
    if tok.text == "[":
        list_index = start
    elif tok.kind == "ident":
        list_index = _function_list(f, tok.text)
    if list_index is None or list_index not in f.pairs:
        return [], False
    releases = []
    for key, _last in _entries(f, list_index):
        rel = MixRelease(f.tokens[key].value, f.tokens[key].start)
        if f.tokens[key + 1].text == "[" and (key + 1) in f.pairs:
            for okey, olast in _entries(f, key + 1):
                option = f.tokens[okey].value
                if option == "include_executables_for":
                    span = f.tokens[okey + 1 : olast + 1]
                    rel.windows = any(t.kind == "atom" and t.value == "windows" for t in span)
                elif option == "rel_templates_path":
                    value = _literal(f, okey + 1, olast)
                    if value:
                        rel.templates = value
        releases.append(rel)
    return releases, True


def _cookie_options(f: MixFile) -> list[CookieOption]:
    out = []
    attributes = code.module_attributes(f.tokens)
    for i, tok in enumerate(f.tokens):
        if tok.kind == "kwkey" and tok.value == "cookie" and i + 1 < len(f.tokens):
            last = exlex.value_end(f.tokens, i + 1, f.pairs)
            if last < i + 1:
                continue
            value, attribute_fallback = code.with_attributes(
                f.tokens, list(range(i + 1, last + 1)), attributes
            )
            literal, fallback = code.literal_argument(value, list(range(len(value))))
            attribute = next(
                (t.text[1:] for t in value if t.kind == "string" and t.text.startswith("@")), None
            )
            out.append(CookieOption(i, last, literal, fallback or attribute_fallback, attribute))
    return out


def guard_state(text: str | None) -> str:
    """'ours', 'user' (a hand-written guard) or 'none' for an env.sh.eex text."""
    if text is None:
        return "none"
    if SH_BLOCK_RE.search(text):
        return "ours"
    if USER_GUARD_RE.search(text):
        return "user"
    return "none"


def _literal_assignment(value: str, shell: bool) -> str | None:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        if value[0] == "'" and shell:
            return inner or None
        value = inner
    if not value or any(c in value for c in ("$", "`", "%", "!")):
        return None
    return value


def analyze(project: Project, tree: Tree, fix_options: FixOptions | None = None) -> MixState:
    main = _load(project.root / "mix.exs", tree.rel(project.root / "mix.exs"))
    umbrella = umbrella_apps_path(project.root) is not None
    app_at = _kw_value(main, "app")
    app = (
        main.tokens[app_at].value
        if app_at is not None and main.tokens[app_at].kind == "atom"
        else None
    )
    releases, readable = _releases(main, app, umbrella)
    state = MixState(project, tree, main, umbrella, app, releases)
    if not readable:
        state.notes.append("the releases list is computed; assuming the templates in rel/")
        releases.append(MixRelease(app or project.root.name, main.offset(0)))
    state.files = [main] + [
        _load(child / "mix.exs", tree.rel(child / "mix.exs"))
        for child in project.children
        if (child / "mix.exs").is_file()
    ]
    for f in state.files:
        options = _cookie_options(f)
        state.cookies[f.path] = options
        shown = state.shown(f.path)
        for option in options:
            offset = f.tokens[option.key].start
            if option.literal is not None:
                how = "falls back to a literal" if option.fallback else "is a literal"
                if option.attribute:
                    how += f" (module attribute @{option.attribute})"
                state.findings.append(
                    finding(
                        "release/mix-literal-cookie",
                        shown,
                        f.text,
                        offset,
                        f"the release :cookie option {how}",
                        fixable=True,
                        cookie=option.literal,
                    )
                )
            else:
                state.findings.append(
                    finding(
                        "release/mix-build-time-cookie",
                        shown,
                        f.text,
                        offset,
                        "the release :cookie option is computed when the release is built and "
                        "baked into releases/COOKIE",
                        fixable=True,
                    )
                )
    for rel_dir in sorted({r.templates for r in releases}):
        directory = project.root / rel_dir
        env_sh = directory / "env.sh.eex"
        text = read_text(env_sh, state.shown(env_sh)) if env_sh.is_file() else None
        if guard_state(text) == "none":
            for rel in (r for r in releases if r.templates == rel_dir):
                state.findings.append(
                    finding(
                        "release/mix-cookie-fallback",
                        state.shown(main.path),
                        main.text,
                        rel.offset,
                        f"release {rel.name}: with RELEASE_COOKIE unset it starts on the build-time "
                        f"releases/COOKIE ({rel_dir}/env.sh.eex has no guard)",
                        fixable=True,
                    )
                )
        _env_scripts(state, directory)
        _mix_vm_args(state, directory)
    _tls_findings(state, fix_options or FixOptions())
    return state


# -- TLS distribution ------------------------------------------------------------------------
def _ssl_in(f: MixFile) -> bool:
    """Whether `extra_applications` or a release's `applications` in `f` names ssl."""
    for i, tok in enumerate(f.tokens[:-1]):
        if tok.kind == "kwkey" and tok.value in ("extra_applications", "applications"):
            last = exlex.value_end(f.tokens, i + 1, f.pairs)
            for t in f.tokens[i + 1 : last + 1]:
                if t.value == "ssl" and t.kind in ("atom", "kwkey"):
                    return True
    return False


def _ssl_target(f: MixFile) -> tuple[int, str] | None:
    """Where `ssl` can go in `f`: the `[` of a literal `extra_applications: [...]` (an atom
    list), else of a release's literal `applications: [...]` (a keyword list), with the
    element to add; None when there is neither (or only computed ones)."""
    for key, element in (("extra_applications", ":ssl"), ("applications", "ssl: :permanent")):
        for i, tok in enumerate(f.tokens[:-1]):
            if tok.kind == "kwkey" and tok.value == key:
                first = i + 1
                if f.tokens[first].text == "[" and f.pairs.get(first) == exlex.value_end(
                    f.tokens, first, f.pairs
                ):
                    return first, element
    return None


def _tls_findings(state: MixState, options: FixOptions) -> None:
    setup = state.tls
    for rel_dir in sorted({r.templates for r in state.releases}):
        directory = state.project.root / rel_dir
        env_sh = directory / "env.sh.eex"
        if env_sh.is_file():
            setup.add_shell(state.shown(env_sh), read_text(env_sh, state.shown(env_sh)))
        for shown, text, flag_list in _vm_args_files(state, directory):
            setup.add_vm_args(shown, text, flag_list)
    setup.ssl_app = any(_ssl_in(f) for f in state.files)
    main = state.main
    at = state.releases[0].offset if state.releases else main.offset(0)
    state.findings.extend(
        tlsdist.findings(
            setup,
            options,
            tlsdist.Place(state.shown(main.path), main.text, at),
            ssl_fixable=any(_ssl_target(f) is not None for f in state.files),
            ssl_how="add :ssl to extra_applications or ssl: :permanent to the release's applications",
        )
    )


def _add_ssl(state: MixState, changes: list[FileChange], secrets) -> None:
    """ssl added to the first literal extra_applications list (main mix.exs first) or
    release applications list, on top of the change already planned for that file, if any."""
    for f in state.files:
        if _ssl_target(f) is None:
            continue
        shown = state.shown(f.path)
        earlier = next((c for c in changes if c.path == shown and c.new_text), None)
        if earlier is not None:
            f = _load_text(f.path, earlier.new_text, shown)
        target = _ssl_target(f)
        if target is None:
            raise ReleaseParseError(shown, "could not add :ssl to the release cleanly")
        open_index, element = target
        close = f.pairs[open_index]
        shown = state.shown(f.path)
        elements = [t for t in f.tokens[open_index + 1 : close] if t.text != ","]
        if elements:
            before = f.tokens[close - 1]
            if before.text == ",":
                before = f.tokens[close - 2]
            edit = Edit(before.end, before.end, ", " + element)
        else:
            edit = Edit(f.tokens[open_index].end, f.tokens[open_index].end, element)
        new = apply_edits(f.text, [edit], shown)
        try:
            new_tokens = exlex.code(exlex.tokenize(new))
            exlex.match_brackets(new_tokens, new)
        except exlex.ElixirSyntaxError as exc:  # pragma: no cover - would be our bug
            raise ReleaseParseError(shown, f"adding :ssl would break the file ({exc})") from None
        added = len(exlex.code(exlex.tokenize(element))) + (1 if elements else 0)
        if len(new_tokens) != len(f.tokens) + added:
            raise ReleaseParseError(shown, "could not add ssl to the release cleanly")
        reason = "TLS distribution: the ssl application must be in the release"
        if earlier is not None:
            earlier.new_text = new
            earlier.reason += "; " + reason
        else:
            changes.append(FileChange(shown, shown, f.text, new, reason, secrets=secrets))
        return


def _tls_block_path(old: str | None, options: FixOptions) -> str:
    """The optfile path: the user's, else the one in our block, else the default."""
    if options.optfile_path is None and old:
        m = TLS_BLOCK_RE.search(old)
        if m:
            opts = dict(part.split("=", 1) for part in m.group("opts").split() if "=" in part)
            if opts.get("optfile"):
                return opts["optfile"]
    return options.optfile


def tls_sh_block(optfile: str) -> str:
    from erlcookie.release.buildtool import check_optfile_path

    return template("mix_tls.sh.txt").replace("@OPTFILE@", check_optfile_path(optfile))


def _env_scripts(state: MixState, directory: Path) -> None:
    for name, regex, shell in (
        ("env.sh.eex", SH_ASSIGN_RE, True),
        ("env.bat.eex", BAT_ASSIGN_RE, False),
    ):
        path = directory / name
        if not path.is_file():
            continue
        text = read_text(path, state.shown(path))
        for m in regex.finditer(text):
            literal = _literal_assignment(m.group("value"), shell)
            if literal is not None:
                state.findings.append(
                    finding(
                        "release/env-script-literal-cookie",
                        state.shown(path),
                        text,
                        m.start(),
                        "RELEASE_COOKIE is assigned a literal value",
                        fixable=True,
                        cookie=literal,
                    )
                )


def _vm_args_files(state: MixState, directory: Path):
    """(shown path, text, flags) of each vm.args template the release build reads."""
    for name in VM_ARGS_NAMES:
        path = directory / name
        if path.is_file():
            shown = state.shown(path)
            text = read_text(path, shown)
            yield shown, text, vmargs.parse(text, shown)


def _mix_vm_args(state: MixState, directory: Path) -> None:
    for shown, text, flag_list in _vm_args_files(state, directory):
        for flag in vmargs.find(flag_list, "-setcookie"):
            literal = None
            if flag.args and not any("<%" in w.raw or "$" in w.raw for w in flag.args):
                literal = flag.args[-1].value
            state.findings.append(
                finding(
                    "release/mix-vm-args-setcookie",
                    shown,
                    text,
                    flag.word.start,
                    "-setcookie in the release's vm.args overrides RELEASE_COOKIE",
                    fixable=True,
                    cookie=literal,
                )
            )


def project_info(state: MixState) -> ProjectInfo:
    kind = "mix-umbrella" if state.umbrella else "mix"
    return ProjectInfo(
        kind, state.tree.rel(state.project.root), [r.name for r in state.releases], state.notes
    )


# -- the fix ---------------------------------------------------------------------------------
def remove_option(f: MixFile, option: CookieOption, shown: str) -> list[Edit]:
    """Edits that cut one keyword entry (and one comma) and nothing else."""
    text, toks = f.text, f.tokens
    start, end = toks[option.key].start, toks[option.last].end
    after = toks[option.last + 1] if option.last + 1 < len(toks) else None
    before = toks[option.key - 1] if option.key > 0 else None
    trailing = after is not None and after.kind == "punct" and after.text == ","
    leading = before is not None and before.kind == "punct" and before.text == ","
    if before is None or before.text not in (",", "["):
        raise ReleaseParseError(shown, "the :cookie option is not in a keyword list")
    line_start = text.rfind("\n", 0, start) + 1
    stop = after.end if trailing else end
    eol = text.find("\n", stop)
    eol = len(text) if eol < 0 else eol
    rest = text[stop:eol].strip()
    alone = text[line_start:start].strip() == "" and (rest == "" or rest.startswith("#"))
    if alone:
        line_end = min(eol + 1, len(text))
        edits = [Edit(introducing_comment_start(text, line_start, line_end), line_end, "")]
        if not trailing and leading:
            edits.append(Edit(before.start, before.end, ""))
        return edits
    if trailing:
        stop = after.end
        while stop < len(text) and text[stop] in " \t":
            stop += 1
        return [Edit(start, stop, "")]
    if leading:
        return [Edit(before.start, end, "")]
    return [Edit(start, end, "")]


def _unused_attribute_edits(
    f: MixFile, options: list[CookieOption], edits: list[Edit]
) -> list[Edit]:
    """Remove `@cookie "..."` once the `cookie: @cookie` entries it fed are gone.

    Only a definition alone on its line(s) goes (with its introducing comment), and only
    when nothing else in the file uses the attribute; otherwise the literal stays, as
    `erlcookie scan` will still say.
    """
    names = {o.attribute for o in options if o.attribute and o.literal is not None}
    if not names:
        return []
    attributes = code.module_attributes(f.tokens)
    text, toks = f.text, f.tokens
    out: list[Edit] = []
    for name in sorted(names):
        definitions = attributes.get(name, [])
        starts = {a.start for a in definitions}
        uses = [
            t.start
            for i, t in enumerate(toks[:-1])
            if t.text == "@"
            and toks[i + 1].kind == "ident"
            and toks[i + 1].text == name
            and t.start not in starts
        ]
        if any(not any(e.start <= use < e.end for e in edits) for use in uses):
            continue
        for attribute in definitions:
            line_start = text.rfind("\n", 0, attribute.start) + 1
            eol = text.find("\n", attribute.end)
            eol = len(text) if eol < 0 else eol
            rest = text[attribute.end : eol].strip()
            if text[line_start : attribute.start].strip() or (rest and not rest.startswith("#")):
                continue
            line_end = min(eol + 1, len(text))
            out.append(Edit(introducing_comment_start(text, line_start, line_end), line_end, ""))
    return out


def verify_removal(old: MixFile, new_text: str, removed: set[int], shown: str) -> None:
    """The new file's code tokens must be the old ones minus exactly the removed ones."""
    try:
        new_tokens = exlex.code(exlex.tokenize(new_text))
        exlex.match_brackets(new_tokens, new_text)
    except exlex.ElixirSyntaxError as exc:  # pragma: no cover - would be our bug
        raise ReleaseParseError(shown, f"the edit would break the file ({exc})") from None
    expected = [(t.kind, t.text) for i, t in enumerate(old.tokens) if i not in removed]
    if [(t.kind, t.text) for t in new_tokens] != expected:
        raise ReleaseParseError(
            shown, "could not remove the :cookie option cleanly; remove it by hand"
        )


def _removed_indices(f: MixFile, option: CookieOption, edits: list[Edit]) -> set[int]:
    spans = [(e.start, e.end) for e in edits]
    return {i for i, t in enumerate(f.tokens) if any(s <= t.start and t.end <= e for s, e in spans)}


def _block_options(existing: str | None, options: FixOptions) -> FixOptions:
    """Options in an existing guard block stay unless the user gives new ones."""
    merged = options
    if existing:
        m = SH_BLOCK_RE.search(existing)
        if m:
            opts = dict(part.split("=", 1) for part in m.group("opts").split() if "=" in part)
            if merged.node_name is None and opts.get("node-name") == "pod-ip":
                merged = replace(merged, node_name="pod-ip")
            if merged.dist_port is None and opts.get("dist-port", "").isdigit():
                merged = replace(merged, dist_port=int(opts["dist-port"]))
    return merged


def sh_block(options: FixOptions) -> str:
    header = ""
    helpers = ""
    checks = ""
    if options.node_name == "pod-ip":
        header += " node-name=pod-ip"
        helpers += template("mix_pod_ip.sh.txt")
        checks += template("mix_pod_ip_check.sh.txt")
    if options.dist_port is not None:
        header += f" dist-port={options.dist_port}"
        helpers += template("mix_dist_port.sh.txt").replace("@PORT@", str(options.dist_port))
    return (
        template("mix_guard.sh.txt")
        .replace("@OPTIONS@", header)
        .replace("@HELPERS@", helpers)
        .replace("@CHECKS@", checks)
    )


def _with_block(text: str, block: str, regex: re.Pattern) -> str:
    """Replace our block in place, or append it at the end (after the user's own lines)."""
    nl = newline_of(text)
    block = block.replace("\n", nl)
    m = regex.search(text)
    if m:
        return text[: m.start()] + block + text[m.end() :]
    if text and not text.endswith("\n"):
        text += nl
    return text + (nl if text.strip() else "") + block


def _strip_literal_assignments(text: str, regex: re.Pattern, shell: bool) -> str:
    out = text
    for m in reversed(list(regex.finditer(text))):
        if _literal_assignment(m.group("value"), shell) is not None:
            start = m.start()
            end = text.find("\n", start)
            end = len(text) if end < 0 else end + 1
            if shell:
                start = introducing_comment_start(text, start, end)
            out = out[:start] + out[end:]
    return out


def _wants_tls_block(state: MixState, options: FixOptions) -> bool:
    """--tls adds our block unless the user's own files already choose TLS."""
    if not options.tls:
        return False
    place = state.tls.proto_dist or state.tls.optfile
    return place is None or TLS_BLOCK_RE.search(place.text) is not None


def plan(state: MixState, options: FixOptions) -> list[FileChange]:
    changes: list[FileChange] = []
    secrets = [f.secret for f in state.findings if f.secret is not None]
    tls_block = _wants_tls_block(state, options)
    for f in state.files:
        shown = state.shown(f.path)
        cookie_options = state.cookies.get(f.path, [])
        if not cookie_options:
            continue
        edits: list[Edit] = []
        for option in cookie_options:
            edits.extend(remove_option(f, option, shown))
        edits.extend(_unused_attribute_edits(f, cookie_options, edits))
        new = apply_edits(f.text, edits, shown)
        removed: set[int] = set()
        for option in cookie_options:
            removed |= _removed_indices(f, option, edits)
        verify_removal(f, new, removed, shown)
        changes.append(
            FileChange(
                shown,
                shown,
                f.text,
                new,
                "drop the :cookie option: the cookie comes from RELEASE_COOKIE",
                secrets=secrets,
            )
        )
    if (options.tls or state.tls.on) and not state.tls.ssl_app:
        _add_ssl(state, changes, secrets)
    if not state.releases:
        return changes
    for rel_dir in sorted({r.templates for r in state.releases}):
        directory = state.project.root / rel_dir
        windows = any(r.windows for r in state.releases if r.templates == rel_dir)
        for name, make in (("env.sh.eex", _env_sh), ("env.bat.eex", _env_bat)):
            path = directory / name
            shown = state.shown(path)
            old = read_text(path, shown) if path.is_file() else None
            if name == "env.bat.eex" and old is None and not windows:
                continue
            new = make(old, options)
            if name == "env.sh.eex" and tls_block and new is not None:
                new = _with_block(new, tls_sh_block(_tls_block_path(old, options)), TLS_BLOCK_RE)
            if new is None or new == old:
                continue
            changes.append(
                FileChange(
                    shown,
                    None if old is None else shown,
                    old,
                    new,
                    f"guard: refuse to start without RELEASE_COOKIE ({name})"
                    + (
                        ", TLS distribution (ERL_FLAGS)"
                        if tls_block and name == "env.sh.eex"
                        else ""
                    ),
                    mode=0o644,
                    secrets=secrets,
                )
            )
        for shown, old, flag_list in _vm_args_files(state, directory):
            new = old
            for flag in reversed(vmargs.find(flag_list, "-setcookie")):
                new = vmargs.remove_flag(new, flag)
            if new != old:
                changes.append(
                    FileChange(
                        shown,
                        shown,
                        old,
                        new,
                        "mix passes RELEASE_COOKIE itself; -setcookie here overrides it",
                        secrets=secrets,
                    )
                )
    return changes


def _env_sh(old: str | None, options: FixOptions) -> str | None:
    if (
        old is not None
        and guard_state(old) == "user"
        and options.node_name is None
        and options.dist_port is None
    ):
        return _strip_literal_assignments(old, SH_ASSIGN_RE, True)
    base = (
        template("env.sh.eex")
        if old is None
        else _strip_literal_assignments(old, SH_ASSIGN_RE, True)
    )
    return _with_block(base, sh_block(_block_options(old, options)), SH_BLOCK_RE)


def _env_bat(old: str | None, options: FixOptions) -> str | None:
    base = (
        template("env.bat.eex")
        if old is None
        else _strip_literal_assignments(old, BAT_ASSIGN_RE, False)
    )
    return _with_block(base, template("mix_guard.bat.txt"), BAT_BLOCK_RE)


class Mix(BuildTool):
    """mix releases (also umbrellas): a directory with `mix.exs`."""

    kind = "mix"
    marker = "mix.exs"

    def owns(self, parent_root: Path, root: Path, kind: str) -> bool:
        # Only an umbrella's apps belong to it; other nested projects stand on their own.
        apps = umbrella_apps_path(parent_root)
        if apps is None:
            return False
        try:
            root.relative_to(parent_root / apps)
        except ValueError:
            return False
        return True

    def check(self, project: Project, tree: Tree, options: FixOptions) -> MixState:
        return analyze(project, tree, options)

    def info(self, state: MixState) -> ProjectInfo:
        return project_info(state)

    def plan_fix(self, state: MixState, options: FixOptions) -> ProjectFix:
        notes = []
        if options.tls and state.releases:
            if not _wants_tls_block(state, options):
                notes.append(
                    "--tls: the project's own files already set TLS distribution; left as they are"
                )
            else:
                env_sh = state.project.root / state.releases[0].templates / "env.sh.eex"
                old = read_text(env_sh, state.shown(env_sh)) if env_sh.is_file() else None
                notes.append(
                    f"--tls: the node, `bin/NAME remote` and `bin/NAME rpc` run with "
                    f"-proto_dist inet_tls -ssl_dist_optfile {_tls_block_path(old, options)} "
                    "(ERL_FLAGS from env.sh); put the optfile and certificates there "
                    "(erlcookie tls optfile), and check with erlcookie ping --tls-*"
                )
            if any(r.windows for r in state.releases):
                notes.append("--tls: env.bat.eex (Windows) is not changed for TLS")
        return ProjectFix(plan(state, options), notes)


TOOL = Mix()
