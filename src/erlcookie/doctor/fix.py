"""`doctor --fix`: every fix that is safe offline, planned in full before anything is written.

- the release fix (`release fix`), the Kubernetes wiring (`k8s inject`), and the cookie keys
  dropped from ConfigMaps once nothing reads them;
- cookies moved out of the work tree: the cookie the pods run today into a Secret manifest,
  committed cookie files and Secret-only manifests moved aside.

No cookie value is ever left in a file git would commit: everything that holds one goes
into a directory git ignores (`.erlcookie/`, made ignored by its own `.gitignore`), or a
directory outside the work tree (`secret_dir`), or straight into the cluster (`apply`).
Cookies are secured first; the edits that remove them from the tree come after.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.doctor.model import Diagnosis
from erlcookie.doctor.steps import SECRET_DIR, secret_file
from erlcookie.errors import OperationalError, UsageError

__all__ = ["DoctorFix", "SecretOut", "plan", "apply"]

_IGNORE_ALL = "# erlcookie keeps cookies here: git must never add this directory\n*\n"


@dataclass
class SecretOut:
    """A Secret manifest holding the cookie the pods of `namespace` run today."""

    namespace: str | None
    cookie: Cookie
    manifest: dict
    path: str | None  # absolute; None when applied to the cluster instead
    where: list[str]


@dataclass
class Move:
    """A file holding a cookie, moved out of the tree (its content kept, mode 0600)."""

    path: str  # relative to the project
    target: str  # absolute
    fingerprints: list[str]
    tracked: bool = False  # git tracks it: its removal is staged too
    superseded: bool = False  # a manifest of the Secret the adopted cookie now goes into


@dataclass
class DoctorFix:
    root: str
    secret_dir: str  # absolute
    release_plan: Any = None
    k8s_files: list = field(default_factory=list)  # changed inject FileResults
    configmap_keys: list = field(default_factory=list)  # (path, ConfigMap, key) dropped
    moves: list[Move] = field(default_factory=list)
    secrets: list[SecretOut] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return (
            not (self.release_plan and self.release_plan.changes)
            and not self.k8s_files
            and not self.moves
            and not self.secrets
        )

    def next_steps(self, apps: dict | None = None, secret: str = "erlang-cookie") -> list[str]:
        """After the fix, on a running cluster: the Secret first, then the rollout, then
        the rotation (the cookie it holds is the one in git history)."""
        import shlex

        steps = []
        for s in self.secrets:
            ns = f"-n {shlex.quote(s.namespace)}" if s.namespace else "-n NAMESPACE"
            if s.path is not None:
                steps.append(
                    f"before any pod restarts, create the Secret holding the cookie "
                    f"the pods run today ({s.cookie.fingerprint()}): kubectl apply "
                    f"{ns} -f {shlex.quote(_rel(s.path, os.getcwd()))}"
                )
            app = (apps or {}).get(s.namespace) or "app=APP"
            steps.append(
                "commit the edits and roll them out (kubectl apply -f ...); wait "
                "until every pod runs the new spec: they all keep the same cookie"
            )
            steps.append(
                f"then rotate to a new cookie, live: erlcookie rotate {ns} -l {app} "
                f"--secret {secret} --restart"
            )
        manifests = [
            m for m in self.moves if m.path.endswith((".yaml", ".yml")) and not m.superseded
        ]
        if manifests:
            steps.append(
                "deploy the moved Secret manifests from where they are now ("
                + ", ".join(shlex.quote(_rel(m.target, os.getcwd())) for m in manifests)
                + "), not from git; to keep them in git, encrypt them (SOPS, Sealed "
                "Secrets)"
            )
        if self.moves:
            steps.append(
                "commit the staged removals; the moved cookies stay in git history: "
                "rotate every cluster that runs them"
            )
        return steps

    def diffs(self) -> list[tuple[str, str]]:
        """(header, redacted unified diff or description) of every change, in apply order."""
        from erlcookie.k8s.inject import redacted_diff
        from erlcookie.release import diff as release_diff

        out = []
        for s in self.secrets:
            target = os.path.relpath(s.path, self.root) if s.path else "the cluster (--apply)"
            out.append(
                (
                    f"create {target}",
                    f"Secret {s.manifest['metadata']['name']}"
                    + (f" in namespace {s.namespace}" if s.namespace else "")
                    + f": the cookie the pods run today, {s.cookie.fingerprint()} (from "
                    + "; ".join(s.where)
                    + ")\n",
                )
            )
        for m in self.moves:
            out.append(
                (
                    f"move {m.path} -> {_rel(m.target, self.root)}",
                    f"holds {', '.join(m.fingerprints) or 'a cookie'}; kept there (0600), "
                    "removed from the tree"
                    + (" and from git's index (git rm --cached)" if m.tracked else "")
                    + "\n",
                )
            )
        if self.release_plan is not None:
            for change in self.release_plan.changes:
                what = (
                    f"{change.old_path} -> {change.path}"
                    if change.action == "rename"
                    else change.path
                )
                out.append((f"{change.action} {what}: {change.reason}", release_diff(change)))
        for f in self.k8s_files:
            out.append((f"edit {f.path}", redacted_diff(f)))
        return out


def _rel(path: str, root: str) -> str:
    rel = os.path.relpath(path, root)
    return path if rel.startswith("..") else rel


def _outside(path: str, root: str) -> bool:
    rel = os.path.relpath(os.path.realpath(path), root)
    return rel == ".." or rel.startswith(".." + os.sep)


def plan(
    diagnosis: Diagnosis, *, secret_dir: str | None = None, to_cluster: bool = False
) -> DoctorFix:
    """What `--fix` would do; raises UsageError when a cookie would have nowhere safe to go."""
    from erlcookie.k8s.manifests import secret_manifest

    state = diagnosis.state
    root = diagnosis.root
    default_dir = os.path.join(root, SECRET_DIR)
    target_dir = os.path.realpath(secret_dir) if secret_dir else default_dir
    fix = DoctorFix(root, target_dir)
    if any(i.doctor_fix and i.family == "release" for i in diagnosis.items):
        from erlcookie.release import FixOptions, ReleaseParseError, plan_fix

        try:
            fix.release_plan, _ = plan_fix(
                root, FixOptions(rebar3_version=state.options.rebar3_version)
            )
        except ReleaseParseError as exc:
            raise OperationalError(f"{exc}; nothing was changed") from None
    k8s = state.k8s
    if k8s.files:
        from erlcookie.k8s.adopt import configmap_references, remove_configmap_keys

        still_read, _ = configmap_references(k8s.files)
        fix.configmap_keys = remove_configmap_keys(k8s.files, k8s.configmap_keys, still_read)
        fix.k8s_files = [f for f in k8s.files if f.changed and f.path not in k8s.movable]
    for namespace, running in sorted(k8s.running.items(), key=lambda kv: kv[0] or ""):
        first = running[0]
        manifest = secret_manifest(
            first.cookie, name=state.options.secret, key=state.options.key, namespace=namespace
        )
        path = (
            None
            if to_cluster
            else os.path.join(
                target_dir, os.path.basename(secret_file(namespace, state.options.secret))
            )
        )
        fix.secrets.append(SecretOut(namespace, first.cookie, manifest, path, first.where))
        for other in running[1:]:
            fix.notes.append(
                f"the pods{' of namespace ' + namespace if namespace else ''} "
                f"also run {other.fingerprint} ({', '.join(other.where)}); the "
                f"Secret holds {first.fingerprint}"
            )
    fps = {i.finding.path: [] for i in diagnosis.items}
    for i in diagnosis.items:
        if i.finding.fingerprint and i.finding.fingerprint not in fps[i.finding.path]:
            fps[i.finding.path].append(i.finding.fingerprint)
    for rel in sorted(k8s.movable):
        status = state.status
        tracked = status is not None and os.path.join(status.root, rel) in status.tracked
        fix.moves.append(
            Move(rel, os.path.join(target_dir, "moved", rel), fps.get(rel, []), tracked)
        )
    for move in fix.moves:  # a moved manifest of our Secret with another cookie: say so
        for f in k8s.files:
            if f.path != move.path:
                continue
            for doc in f.docs:
                data = doc.data if isinstance(doc.data, dict) else {}
                meta = data.get("metadata") or {}
                if data.get("kind") == "Secret" and meta.get("name") == state.options.secret:
                    kept = [s.cookie.fingerprint() for s in fix.secrets]
                    move.superseded = bool(kept)
                    fix.notes.append(
                        f"{move.path} defined Secret {state.options.secret} "
                        f"({', '.join(move.fingerprints) or 'unknown cookie'}); "
                        + (
                            f"the pods run {', '.join(kept)}: apply only the adopted one"
                            if kept
                            else "apply it only if the pods run that cookie"
                        )
                    )
    if fix.moves or any(s.path for s in fix.secrets):
        _check_destination(diagnosis, target_dir, default=secret_dir is None)
    return fix


def _check_destination(diagnosis: Diagnosis, target_dir: str, *, default: bool) -> None:
    """Cookies may go outside the project, or into a directory git ignores; nowhere else."""
    from erlcookie.git import path_ignored

    root = diagnosis.root
    if default:
        if diagnosis.state.status is None:
            raise UsageError(
                f"{root} is not in a git work tree, so no path in it is known "
                "to stay out of version control: give --secret-dir DIR outside "
                "the project, or --apply to create the Secret in the cluster"
            )
        return  # .erlcookie/ is made ignored by its own .gitignore (checked when written)
    if _outside(target_dir, root):
        ignored = path_ignored(os.path.join(target_dir, "x.secret.yaml"))
        if ignored is False:
            raise UsageError(
                f"--secret-dir {target_dir} is in a git work tree and not "
                "ignored: a cookie there could be committed"
            )
        return
    if path_ignored(os.path.join(target_dir, "x.secret.yaml")) is not True:
        raise UsageError(
            f"--secret-dir {target_dir} is inside the project and git does not "
            "ignore it: choose a directory outside the project or one git "
            "ignores"
        )


def _prepare_dir(fix: DoctorFix) -> None:
    from erlcookie.cookie.files import atomic_write
    from erlcookie.git import path_ignored

    os.makedirs(fix.secret_dir, mode=0o700, exist_ok=True)
    marker = os.path.join(fix.secret_dir, ".gitignore")
    if not _outside(fix.secret_dir, fix.root) and not os.path.exists(marker):
        atomic_write(marker, _IGNORE_ALL, mode=0o644)
    probe = (
        os.path.join(fix.secret_dir, "moved", "x")
        if fix.moves
        else os.path.join(fix.secret_dir, "x.secret.yaml")
    )
    if path_ignored(probe) is False:
        raise OperationalError(
            f"{fix.secret_dir} is not ignored by git (a .gitignore negation?): nothing was changed"
        )


def apply(
    fix: DoctorFix,
    *,
    connect: Callable[[], Any] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> list[str]:
    """Write the plan: cookies first (Secret manifests or the cluster, moved files), then
    the edits that take them out of the tree. Returns what was done."""
    from erlcookie.cookie.files import atomic_write, write_text_preserving_mode
    from erlcookie.k8s.manifests import render

    done: list[str] = []
    if fix.moves or any(s.path for s in fix.secrets):
        _prepare_dir(fix)
    for s in fix.secrets:
        if s.path is None:
            _apply_to_cluster(s, connect, done)
            continue
        existing = _existing_fingerprint(s.path)
        if existing is not None and existing != s.cookie.fingerprint():
            raise OperationalError(
                f"{s.path} already holds another cookie ({existing}); "
                "nothing was changed (move it away first)"
            )
        atomic_write(s.path, render(s.manifest, "yaml"), mode=0o600)
        done.append(
            f"wrote {_rel(s.path, fix.root)} (mode 0600): Secret "
            f"{s.manifest['metadata']['name']}, {s.cookie.fingerprint()}"
        )
    for m in fix.moves:
        source = os.path.join(fix.root, m.path)
        with open(source, "rb") as fh:
            data = fh.read()
        os.makedirs(os.path.dirname(m.target), mode=0o700, exist_ok=True)
        atomic_write(m.target, data, mode=0o600)
        os.unlink(source)
        done.append(f"moved {m.path} to {_rel(m.target, fix.root)} (mode 0600)")
    tracked = [m.path for m in fix.moves if m.tracked]
    if tracked:
        from erlcookie.git import untrack

        untrack(fix.root, tracked)
        done.append(
            f"git rm --cached {' '.join(tracked)} (the deletion is staged; the "
            "cookies stay in git history: rotate them)"
        )
    if fix.release_plan is not None and fix.release_plan.changes:
        from erlcookie.release import apply as release_apply

        done += release_apply(fix.release_plan)
    for f in fix.k8s_files:
        write_text_preserving_mode(os.path.realpath(os.path.join(fix.root, f.path)), f.output)
        done.append(f"edit {f.path}")
    return done


def _existing_fingerprint(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    from ruamel.yaml import YAML

    from erlcookie.k8s.manifests import secret_value

    try:
        with open(path, encoding="utf-8") as fh:
            data = YAML(typ="safe").load(fh)
        value = secret_value(data, next(iter(data.get("data") or {})))
        return value.cookie.fingerprint() if value.cookie is not None else "unreadable"
    except Exception:
        return "unreadable"


def _apply_to_cluster(s: SecretOut, connect, done: list[str]) -> None:
    from erlcookie.k8s.apply import apply_secret

    if connect is None:
        raise UsageError("--apply needs a cluster to talk to")
    api = connect(s.namespace)
    with api:
        key = next(iter(s.manifest["data"]))
        if s.namespace is None:
            s.manifest["metadata"]["namespace"] = api.namespace
        outcome = apply_secret(api, s.manifest, s.cookie, key=key)
    where = f"Secret {outcome.namespace}/{outcome.name}"
    if outcome.action == "kept":
        raise OperationalError(
            f"{where} exists and holds another cookie "
            f"({outcome.live_fingerprint}, the pods run "
            f"{s.cookie.fingerprint()}): left alone, and nothing else was "
            "changed; see docs/k8s.md, migrating a live cluster"
        )
    done.append(
        f"{'created' if outcome.action == 'created' else 'kept'} {where} "
        f"({outcome.live_fingerprint})"
    )
