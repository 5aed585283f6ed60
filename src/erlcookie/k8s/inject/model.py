"""What inject works with: its options, and the changes, findings and results it reports.

Data and no I/O: the editor fills these in, the CLI renders them. Its findings are the
shared layer's (`erlcookie.findings.Finding`), built by `finding`.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field

from erlcookie.cookie.value import Cookie
from erlcookie.errors import UsageError
from erlcookie.findings import rules
from erlcookie.findings.model import CookieInfo, Finding
from erlcookie.k8s import yamlstream
from erlcookie.k8s.manifests import (
    DEFAULT_ENV,
    DEFAULT_SECRET_KEY,
    DEFAULT_SECRET_NAME,
    check_env_name,
    check_object_name,
    check_secret_key,
)
from erlcookie.k8s.selectors import Selector


@dataclass(frozen=True)
class InjectOptions:
    secret: str = DEFAULT_SECRET_NAME
    key: str = DEFAULT_SECRET_KEY
    # The variable(s) to set from the Secret (a name or a tuple of names); None: mount only.
    env: str | tuple[str, ...] | None = DEFAULT_ENV
    containers: tuple[str, ...] | None = None  # None: every app container
    mount: str | None = None  # absolute path of the cookie file in the container
    volume_name: str = "erlang-cookie"
    selector: Selector | None = None  # only workloads whose pod labels match
    init_copy: bool = False  # mount a 0400 copy made by an init container as the app's user
    init_copy_owner: tuple[int, int | None] | None = None  # (uid, gid): the copy is chowned

    def __post_init__(self):
        check_object_name(self.secret, "Secret name")
        check_secret_key(self.key)
        if isinstance(self.env, (list, tuple)):
            envs = tuple(dict.fromkeys(self.env))  # each once, in the order given
            object.__setattr__(self, "env", envs or None)
        for name in self.envs:
            check_env_name(name)
        if self.env is None and self.mount is None:
            raise UsageError("nothing to wire: give --env NAME, --mount PATH or both")
        if self.mount is not None:
            if (
                not self.mount.startswith("/")
                or self.mount.endswith("/")
                or posixpath.normpath(self.mount) != self.mount
            ):
                raise UsageError(
                    f"--mount needs the absolute path of a file, e.g. "
                    f"/var/lib/rabbitmq/.erlang.cookie (got {self.mount!r})"
                )
            check_object_name(self.volume_name, "volume name")
        if self.init_copy_owner is not None and not self.init_copy:
            raise UsageError("--init-copy-owner goes with --init-copy")
        if self.init_copy and self.mount is None:
            raise UsageError("--init-copy goes with --mount PATH")
        if self.init_copy:
            from erlcookie.k8s.manifests import check_dns_label

            check_dns_label(f"{self.volume_name}-copy", "volume name (with -copy)")

    @property
    def envs(self) -> tuple[str, ...]:
        """The variables to set, in order (empty: mount only)."""
        if self.env is None:
            return ()
        return (self.env,) if isinstance(self.env, str) else self.env

    @property
    def file_name(self) -> str:
        return posixpath.basename(self.mount or "")


def parse_owner(text: str) -> tuple[int, int | None]:
    """`UID` or `UID:GID` (numbers: the init container has no user database to ask)."""
    uid, sep, gid = text.partition(":")
    try:
        owner = (int(uid), int(gid) if sep else None)
    except ValueError:
        owner = None
    if (
        owner is None
        or not all(v is None or 0 <= v < 2**31 for v in owner)
        or not uid.isdigit()
        or (sep and not gid.isdigit())
    ):
        raise UsageError(
            f"--init-copy-owner needs UID or UID:GID as numbers, e.g. 999:999 (got {text!r})"
        )
    return owner


def format_owner(owner: tuple[int, int | None]) -> str:
    return f"{owner[0]}" if owner[1] is None else f"{owner[0]}:{owner[1]}"


@dataclass
class Change:
    """One edit, in words a reviewer can check; `fingerprint` stands in for a replaced value."""

    path: str
    document: int
    workload: str
    container: str | None
    action: str
    detail: str
    fingerprint: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def finding(
    path: str,
    line: int,
    document: int | None,
    workload: str | None,
    container: str | None,
    code: str,
    message: str,
    fingerprint: str | None = None,
    severity: str = "error",
) -> Finding:
    """Something inject saw but did not (or could not) fix. `severity`: "error" (exit 1:
    a cookie in clear it cannot move, k8s/plain-cookie; a wiring it cannot do as asked,
    k8s/wiring-error) or "warning" (advice, k8s/wiring-warning). The cookie is named by
    its fingerprint only; `inject_findings` adds its audit."""
    if code == "plain-cookie":
        rule = rules.K8S_PLAIN_COOKIE
    else:
        rule = rules.K8S_WIRING_ERROR if severity == "error" else rules.K8S_WIRING_WARNING
    return Finding(
        rule,
        path,
        line,
        1,
        detail=message,
        cookie=CookieInfo(fingerprint, None, None) if fingerprint else None,
        workload=workload,
        document=document,
        container=container,
        code=code,
    )


def finding_json(x: Finding) -> dict:
    """The shared shape, plus `level`: what inject's --json called severity ("error" or
    "warning"; `severity` is now the shared scale)."""
    return {**x.to_dict(), "level": x.level}


@dataclass
class FileResult:
    path: str
    original: str
    docs: list[yamlstream.Document] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    secret_lines: set[int] = field(default_factory=set)  # lines whose text holds a replaced value
    secrets: list[Cookie] = field(default_factory=list)  # values to redact from --diff
    skipped: str | None = None
    bom: bool = False

    @property
    def output(self) -> str:
        if self.skipped or not self.docs:
            return self.original
        return ("\ufeff" if self.bom else "") + yamlstream.join(self.docs)

    @property
    def changed(self) -> bool:
        return self.output != self.original


@dataclass
class InjectResult:
    files: list[FileResult]
    workloads: int = 0  # workloads that had at least one container wired
    options: InjectOptions | None = None
    # namespace (None: not in the manifest) of each edited workload -> a cookie its pods
    # run today that an edit replaced (the fingerprint of a literal or of a ConfigMap's
    # value in the input, else where it came from: "Secret x key y") -> the workloads
    namespaces: dict[str | None, dict[str, set[str]]] = field(default_factory=dict)

    @property
    def changes(self) -> list[Change]:
        return [c for f in self.files for c in f.changes]

    @property
    def findings(self) -> list[Finding]:
        return [x for f in self.files for x in f.findings]

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.files)

    @property
    def has_errors(self) -> bool:
        return any(x.level == "error" for x in self.findings)

    def next_steps(self) -> list[str]:
        """What to do after these edits: the Secret they read must exist in each namespace,
        holding the cookie the pods run today when a literal was replaced (a new cookie
        would split the running cluster as pods roll out; `rotate` changes it after)."""
        if not self.changes:
            return []
        opt = self.options or InjectOptions()
        flags = (f" --name {opt.secret}" if opt.secret != DEFAULT_SECRET_NAME else "") + (
            f" --key {opt.key}" if opt.key != DEFAULT_SECRET_KEY else ""
        )
        steps = []
        for namespace in sorted(self.namespaces, key=lambda ns: (ns is None, ns or "")):
            if namespace is None:
                steps.append(
                    f"create Secret {opt.secret} in the namespace you deploy to: "
                    f"erlcookie k8s secret -n NAMESPACE{flags} --apply"
                )
            else:
                # the namespace comes from the input: quoted, so a copied command stays one
                steps.append(
                    f"create Secret {opt.secret} in namespace {namespace}: "
                    f"erlcookie k8s secret -n {shlex.quote(namespace)}{flags} --apply"
                )
            running = sorted(self.namespaces[namespace])
            if running:
                sources = sorted(
                    {
                        c.path
                        for f in self.files
                        for c in f.changes
                        if c.fingerprint in running and c.path != "-"
                    }
                )
                adopt = (
                    f"--adopt-from {' '.join(shlex.quote(p) for p in sources)} (read "
                    "before the edit is written; after --in-place: git show "
                    "HEAD:FILE | erlcookie k8s secret --adopt-from - ...) or "
                    if sources
                    else ""
                )
                steps.append(
                    f"  with the cookie the pods run today ({', '.join(running)}) "
                    f"so that new pods and old ones agree during the rollout: add "
                    f"{adopt}--cookie-file FILE (FILE holding that cookie, mode "
                    "0600); after the rollout, change it with `erlcookie rotate`"
                )
        return steps

    def split_warnings(self) -> list[str]:
        """Where replacing a running cookie by the Secret would split a live cluster."""
        opt = self.options or InjectOptions()
        warnings = []
        for namespace in sorted(self.namespaces, key=lambda ns: (ns is None, ns or "")):
            for cookie, workloads in sorted(self.namespaces[namespace].items()):
                where = f" (namespace {namespace})" if namespace else ""
                ran = (
                    f"ran a cookie in clear ({cookie})"
                    if cookie.startswith("fp1:")
                    else f"read its cookie from {cookie}"
                )
                old = "the literal one" if cookie.startswith("fp1:") else "the old one"
                warnings.append(
                    f"{', '.join(sorted(workloads))}{where} {ran}, which now comes from Secret "
                    f"{opt.secret}: rolling out pods with a new Secret-backed cookie while old "
                    f"pods still run {old} splits the cluster; the Secret must hold that same "
                    "cookie until the rollout is done"
                )
        return warnings

    def to_dict(self) -> dict:
        return {
            "files": [
                {"path": f.path, "changed": f.changed, "skipped": f.skipped} for f in self.files
            ],
            "workloads": self.workloads,
            "changes": [c.to_dict() for c in self.changes],
            "findings": [finding_json(x) for x in self.findings],
            "split_warnings": self.split_warnings(),
            "next_steps": self.next_steps(),
        }
