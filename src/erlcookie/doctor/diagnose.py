"""`doctor`'s diagnosis: every analyzer over one project, one deduplicated list of problems.

- release configuration: `release check` (mix and rebar3/relx, including the build-time
  `releases/COOKIE` fallback);
- Kubernetes manifests: an in-memory `k8s inject` (what `--check` would change or report),
  plus cookies that reach pods through `envFrom` ConfigMaps or Secrets under a cookie-like
  key, whichever variables were asked for;
- leaked and weak cookies: `scan` of the tree (build output and git-ignored files skipped),
  committed Secret manifests among them.

The same problem found by two analyzers (a `cookie:` literal in mix.exs is EC003 for scan
and release/mix-literal-cookie for release check) is reported once, by the analyzer that
can fix it, naming the others in `also`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from erlcookie.doctor.model import AREAS, Diagnosis, DoctorOptions, Item
from erlcookie.errors import ErlcookieError, UsageError
from erlcookie.findings import rules
from erlcookie.findings.model import CookieInfo, Finding

# Directories that are never a project's own manifests or sources.
SKIPPED_DIRS = frozenset({"_build", "deps", "node_modules", ".git"})
_COOKIE_FILE_RULES = (
    rules.COMMITTED_COOKIE_FILE,
    rules.RELEASE_COMMITTED_COOKIE_FILE,
    rules.RELEASE_COOKIE_FILE_IN_TREE,
)
_FAMILY_RANK = {family: rank for rank, family in enumerate(AREAS)}


@dataclass
class K8sState:
    """The Kubernetes side, kept for `--fix`: edited files (in memory), what they run."""

    files: list = field(default_factory=list)  # inject FileResults, edited in memory
    result: Any = None  # the InjectResult
    envfrom: list = field(default_factory=list)  # adopt.EnvFromCookie
    running: dict = field(default_factory=dict)  # namespace -> [adopt.RunningCookie]
    configmap_keys: set = field(default_factory=set)  # (namespace, name, key) to drop
    movable: set = field(default_factory=set)  # cookie files and Secret-only manifests
    apps: dict = field(default_factory=dict)  # namespace -> a label selector of the app


@dataclass
class State:
    options: DoctorOptions
    status: Any = None  # git.WorkTreeStatus or None
    k8s: K8sState = field(default_factory=K8sState)


def _judge(value: str) -> CookieInfo:
    """Fingerprint and audit of a literal, through scan's per-process cache."""
    from erlcookie.scan.engine import judge

    return CookieInfo(*judge(value))


def diagnose(path: str | os.PathLike = ".", options: DoctorOptions | None = None) -> Diagnosis:
    """Every cookie problem of the project at `path`, grouped, with the next steps."""
    options = options or DoctorOptions()
    if not os.path.exists(path):
        raise UsageError(f"{path} does not exist")
    if not os.path.isdir(path):
        raise UsageError(f"{path} is not a directory: give the project's directory")
    root = os.path.realpath(path)
    from erlcookie.git import work_tree_status

    state = State(options, work_tree_status(root))
    diagnosis = Diagnosis(root=root, state=state)
    found: list[Item] = []
    found += _release(diagnosis, state)
    found += _kubernetes(diagnosis, state)
    found += _scan(diagnosis, state)
    diagnosis.items = _dedupe(found)
    _mark_movable(diagnosis, state)
    if state.status is not None:  # k8s and release findings: tracked, untracked or ignored
        for item in diagnosis.items:
            if item.finding.git is None and os.path.exists(os.path.join(root, item.finding.path)):
                item.finding.git = state.status.status(os.path.join(root, item.finding.path))
    diagnosis.items.sort(key=lambda i: (i.finding.path, i.finding.line, i.finding.column))
    from erlcookie.doctor.steps import next_steps

    diagnosis.next_steps = next_steps(diagnosis)
    return diagnosis


# -- release ----------------------------------------------------------------------------------
def _release(diagnosis: Diagnosis, state: State) -> list[Item]:
    from erlcookie.release import check

    try:  # the root is a directory (checked): a usage error here means no project in it
        report = check(diagnosis.root, rebar3_version=state.options.rebar3_version)
    except UsageError:
        diagnosis.checked["release"] = "no mix or rebar3 project found"
        return []
    diagnosis.errors += [str(e) for e in report.errors]
    diagnosis.checked["release"] = "; ".join(
        f"{p.kind} {p.root}" + (f" ({', '.join(p.releases)})" if p.releases else "")
        for p in report.projects
    )
    return [Item(f, doctor_fix=f.fixable) for f in report.findings]


# -- Kubernetes ---------------------------------------------------------------------------------
_KIND = re.compile(rb"(?m)^\s*(?:-\s*)?kind:\s*['\"]?(\w+)")


def _walk(root: str, status) -> list[str]:
    """Relative paths of the YAML files that may be manifests: not hidden, not build
    output or dependencies, not ignored by git."""
    out = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIPPED_DIRS
            and not (status and os.path.join(directory, d) in status.ignored_dirs)
        )
        for name in sorted(files):
            full = os.path.join(directory, name)
            if (
                not name.endswith((".yaml", ".yml"))
                or os.path.islink(full)
                or not os.path.isfile(full)
            ):  # no FIFO or device: it could block
                continue
            if status is not None and full in status.ignored_files:
                continue
            out.append(os.path.relpath(full, root))
    return out


def _kubernetes(diagnosis: Diagnosis, state: State) -> list[Item]:
    from erlcookie.k8s import yamlstream
    from erlcookie.k8s.adopt import envfrom_cookies, parse_secret_documents, running_cookies
    from erlcookie.k8s.inject import InjectOptions, inject
    from erlcookie.k8s.inject.files import load_file
    from erlcookie.k8s.workloads import WORKLOAD_KINDS

    wanted = set(WORKLOAD_KINDS) | {"ConfigMap", "Secret", "List"}
    files = []
    for rel in _walk(diagnosis.root, state.status):
        try:
            with open(os.path.join(diagnosis.root, rel), "rb") as fh:
                raw = fh.read(1 << 24)
            kinds = {m.decode() for m in _KIND.findall(raw)}
            if not kinds & wanted and not any(k.endswith("List") for k in kinds):
                continue
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        try:  # the path relative to the project names the file in every finding
            result = load_file(rel, text, explicit=False)
        except yamlstream.YamlParseError as exc:  # hostile YAML: refused, said so
            diagnosis.errors.append(str(exc))
            continue
        if result.skipped:
            diagnosis.notes.append(f"{rel}: skipped ({result.skipped})")
            continue
        parse_secret_documents(result)  # Secrets feed envFrom; inject leaves them unparsed
        files.append(result)
    if not files:
        diagnosis.checked["k8s"] = "no Kubernetes manifests found"
        return []
    k8s = state.k8s
    k8s.files = files
    k8s.envfrom = envfrom_cookies(files)
    extra = sorted(
        {e.variable for e in k8s.envfrom if e.source_kind == "ConfigMap"} - set(state.options.envs)
    )
    envs = tuple(state.options.envs) + tuple(extra)
    inject_options = InjectOptions(secret=state.options.secret, key=state.options.key, env=envs)
    k8s.result = inject(files, inject_options)
    k8s.running = running_cookies(k8s.result, k8s.envfrom)
    diagnosis.checked["k8s"] = (
        f"{len(files)} manifest file(s), {k8s.result.workloads} "
        f"workload(s); variables {', '.join(envs)} from Secret "
        f"{state.options.secret} key {state.options.key}"
    )
    items = _inject_items(k8s)
    items += _envfrom_items(k8s)
    _plan_configmaps(k8s)
    _find_apps(k8s)
    return items


def _inject_items(k8s: K8sState) -> list[Item]:
    from erlcookie.k8s.inject.findings import inject_findings

    told = {(e.path, e.workload, e.container, e.variable) for e in k8s.envfrom}
    return [Item(f, doctor_fix=f.fixable) for f in inject_findings(k8s.result, told)]


def _envfrom_items(k8s: K8sState) -> list[Item]:
    items = []
    for e in k8s.envfrom:
        assert e.cookie is not None
        detail = (
            f"{e.workload} container {e.container}: {e.variable} comes from "
            f"{e.source_kind} {e.source_name} key {e.key} through envFrom"
        )
        finding = Finding(
            rules.K8S_ENVFROM_COOKIE,
            e.path,
            e.line,
            1,
            detail=detail,
            key=e.variable,
            cookie=_judge(e.cookie.reveal()),
            secret=e.cookie,
        )
        # A ConfigMap's key is dropped and the variable wired from the Secret; a Secret
        # manifest is moved out of the tree (then it is no longer in the manifests).
        items.append(Item(finding, doctor_fix=e.source_kind == "ConfigMap"))
    return items


def _plan_configmaps(k8s: K8sState) -> None:
    """The ConfigMap keys `--fix` drops: every cookie-like key (and every key a replaced
    configMapKeyRef pointed at) that no workload reads by other means afterwards."""
    from erlcookie.k8s.adopt import configmap_references, objects_in
    from erlcookie.k8s.workloads import is_cookie_env_name

    replaced = set()
    for change in k8s.result.changes:
        m = re.search(r"configMapKeyRef (\S+)/(\S+)", change.detail)
        if m:
            replaced.add((m.group(1), m.group(2)))
    still_read, mounted = configmap_references(k8s.files)
    for f in k8s.files:
        for doc in f.docs:
            for obj in objects_in(doc.data):
                if obj.get("kind") != "ConfigMap" or not isinstance(obj.get("data"), Mapping):
                    continue
                meta = obj.get("metadata") or {}
                name, namespace = str(meta.get("name")), meta.get("namespace") or None
                if name in mounted:
                    continue
                for key in obj["data"]:
                    key = str(key)
                    if (is_cookie_env_name(key) or (name, key) in replaced) and (
                        name,
                        key,
                    ) not in still_read:
                        k8s.configmap_keys.add((namespace, name, key))


def _find_apps(k8s: K8sState) -> None:
    from erlcookie.k8s.workloads import iter_workloads, pod_template_labels

    for f in k8s.files:
        for doc in f.docs:
            for obj in iter_workloads(doc.data):
                labels = pod_template_labels(obj) or {}
                namespace = (obj.get("metadata") or {}).get("namespace") or None
                for key in ("app.kubernetes.io/name", "app", "k8s-app"):
                    if key in labels and namespace not in k8s.apps:
                        k8s.apps[namespace] = f"{key}={labels[key]}"


# -- scan ---------------------------------------------------------------------------------------
def _scan(diagnosis: Diagnosis, state: State) -> list[Item]:
    from erlcookie.scan.engine import ScanOptions, scan_tree

    try:
        report = scan_tree([diagnosis.root], ScanOptions(jobs=1), cwd=diagnosis.root)
    except ErlcookieError as exc:
        diagnosis.errors.append(f"scan: {exc}")
        return []
    diagnosis.checked["scan"] = f"{report.files_scanned} file(s) read"
    if report.skipped:
        diagnosis.notes += [f"scan skipped {s.path} ({s.reason})" for s in report.skipped]
    items = []
    cm_keys = {(name, key) for _, name, key in state.k8s.configmap_keys}
    for f in report.findings:
        fix = False
        if f.rule_id == rules.K8S_CONFIGMAP_COOKIE:
            fix = any(key == f.key for _, key in cm_keys)
        items.append(Item(f, doctor_fix=fix))
    return items


# -- one problem, one report ----------------------------------------------------------------------
def _same(a: Finding, b: Finding) -> bool:
    if a.path != b.path:
        return False
    if a.fingerprint and b.fingerprint:
        return a.fingerprint == b.fingerprint and abs(a.line - b.line) <= 2
    return a.line == b.line and bool(a.fingerprint or b.fingerprint)


def _dedupe(items: list[Item]) -> list[Item]:
    """Keep the first analyzer's finding (release, then k8s, then scan) of each problem."""
    items = sorted(items, key=lambda i: _FAMILY_RANK.get(i.family, 9))
    kept: list[Item] = []
    for item in items:
        twins = [k for k in kept if k.family != item.family and _same(k.finding, item.finding)]
        # the same cookie beats the same line (a release finding without a cookie may share
        # the line of one with it)
        twins.sort(key=lambda k: k.finding.fingerprint != item.finding.fingerprint)
        twin = twins[0] if twins else None
        if twin is None:
            kept.append(item)
            continue
        if item.finding.rule_id not in twin.also:
            twin.also.append(item.finding.rule_id)
        twin.doctor_fix = twin.doctor_fix or item.doctor_fix
        if twin.finding.git is None:
            twin.finding.git = item.finding.git
    return kept


def _mark_movable(diagnosis: Diagnosis, state: State) -> None:
    """Cookie files and Secret-only manifests: `--fix` moves them out of the tree."""
    k8s = state.k8s
    secret_only = set()
    for f in k8s.files:
        kinds = [
            (d.data or {}).get("kind") if isinstance(d.data, Mapping) else None
            for d in f.docs
            if d.body.strip()
        ]
        if kinds and all(k == "Secret" for k in kinds):
            secret_only.add(f.path)
    for item in diagnosis.items:
        f = item.finding
        if f.rule_id in _COOKIE_FILE_RULES:
            item.doctor_fix = True
            k8s.movable.add(f.path)
        elif f.rule_id == rules.K8S_SECRET_COMMITTED and f.path in secret_only:
            item.doctor_fix = True
            k8s.movable.add(f.path)
    moved = k8s.movable
    for item in diagnosis.items:  # a Secret poured in through envFrom, moved with its file
        f = item.finding
        if f.rule_id == rules.K8S_ENVFROM_COOKIE and not item.doctor_fix:
            source = next(
                (
                    e
                    for e in k8s.envfrom
                    if e.path == f.path and e.line == f.line and e.variable == f.key
                ),
                None,
            )
            if source is not None and any(
                _defines_secret(k8s, p, source.source_name) for p in moved
            ):
                item.doctor_fix = True


def _defines_secret(k8s: K8sState, path: str, name: str) -> bool:
    for f in k8s.files:
        if f.path == path:
            return any(
                isinstance(d.data, Mapping)
                and d.data.get("kind") == "Secret"
                and str((d.data.get("metadata") or {}).get("name")) == name
                for d in f.docs
            )
    return False
