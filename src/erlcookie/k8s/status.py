"""`k8s status`: pure analysis of objects fetched from a cluster (no I/O here).

Checks, each a finding of the shared layer (`erlcookie.findings.Finding`, rules in
`findings/rules.py`: the manifests' `k8s/*` rules for wiring, `k8s-status/*` for the rest).
A finding's `path` is the live object's reference ("Secret/erlang-cookie", "Pod/chat-abc";
"Namespace/NS" when it is about no object), its line 0. From medium up a finding is a
problem ("error" in the text, exit 1); below, a warning:
- the Secret exists and holds a usable, strong cookie under the key (fingerprint shown);
- each matched workload's app containers get the cookie from that Secret and key;
- each pod's containers do too (a pod can differ from its workload mid-rollout);
- no pod runs a container started before the Secret's last change (a stale cookie: env
  vars and subPath files are read when a container starts);
- no cookie is written in clear in a live workload or pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.findings import rules
from erlcookie.findings.model import CookieInfo, Finding
from erlcookie.k8s.manifests import (
    FIELD_MANAGER,
    FINGERPRINT_ANNOTATION,
    UPDATED_AT_ANNOTATION,
    secret_value,
)
from erlcookie.k8s.selectors import from_label_selector
from erlcookie.k8s.workloads import (
    containers,
    env_binding,
    mount_binding,
    object_ref,
    plain_cookies,
    pod_spec,
)


@dataclass(frozen=True)
class StatusOptions:
    secret: str
    key: str
    env: str | None = "RELEASE_COOKIE"
    mount: str | None = None
    containers: tuple[str, ...] | None = None
    namespace: str = "default"
    selector: str = ""


def finding_json(finding: Finding) -> dict:
    """The shared shape, plus the keys `k8s status --json` always had: `object`, `level`
    (its old "error"/"warning", `Finding.level`; `severity` is now the shared scale)."""
    return {**finding.to_dict(), "object": finding.path, "level": finding.level}


@dataclass
class SecretInfo:
    name: str
    exists: bool
    fingerprint: str | None = None
    changed_at: str | None = None  # RFC 3339, our best knowledge of the last data change
    changed_at_source: str | None = None
    resource_version: str | None = None
    verdict: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ContainerState:
    name: str
    binding: str  # "secret", "literal", "configmap", "other-secret", "missing", ...
    started_at: str | None = None
    ready: bool | None = None
    stale: bool = False


@dataclass
class WorkloadRow:
    ref: str
    ok: bool
    containers: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    distribution: str = "tcp"  # "tls" when the pod spec asks for -proto_dist inet_tls

    def to_dict(self) -> dict:
        return {
            "object": self.ref,
            "ok": self.ok,
            "containers": self.containers,
            "distribution": self.distribution,
            **({"owner": self.owner} if self.owner else {}),
        }


@dataclass
class PodRow:
    name: str
    phase: str | None
    ip: str | None
    owner: str | None
    ok: bool
    containers: list[ContainerState] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return any(c.stale for c in self.containers)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "phase": self.phase,
            "ip": self.ip,
            "owner": self.owner,
            "ok": self.ok,
            "stale": self.stale,
            "containers": [c.__dict__ for c in self.containers],
        }


@dataclass
class StatusReport:
    options: StatusOptions
    secret: SecretInfo
    workloads: list[WorkloadRow] = field(default_factory=list)
    pods: list[PodRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    @property
    def problems(self) -> int:
        return sum(f.level == "error" for f in self.findings)

    def to_dict(self) -> dict:
        o = self.options
        return {
            "ok": self.ok,
            "namespace": o.namespace,
            "selector": o.selector,
            "expect": {"secret": o.secret, "key": o.key, "env": o.env, "mount": o.mount},
            "secret": self.secret.to_dict(),
            "workloads": [w.to_dict() for w in self.workloads],
            "pods": [p.to_dict() for p in self.pods],
            "findings": [finding_json(f) for f in self.findings],
        }

    # -- a FindingsReport (erlcookie.findings.formats): --format json|sarif --------------
    def to_json(self) -> dict:
        return {**self._report().to_json(), **self.to_dict()}

    def sarif_run(self):
        o = self.options
        return self._report().sarif_run(
            {
                "namespace": o.namespace,
                "selector": o.selector,
                "secret": o.secret,
                "key": o.key,
                "fingerprint": self.secret.fingerprint,
            }
        )

    def _report(self):
        import os

        from erlcookie.findings.report import Report

        return Report("k8s status", os.getcwd(), self.findings)


# -- time ---------------------------------------------------------------------------------


def parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def secret_changed_at(
    secret: Mapping, fingerprint: str | None
) -> tuple[datetime | None, str | None]:
    """When the Secret's data last changed, as well as the API lets us know.

    While erlcookie's fingerprint annotation matches the data, erlcookie made the last data
    change: its managedFields entry holds the server's time of it (the updated-at
    annotation, in the writer's clock, is the fallback). Otherwise the newest managedFields
    time of any manager (never earlier than the data change; may be later, when only labels
    changed), else the creation time.
    """
    meta = secret.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    fields = [m for m in meta.get("managedFields") or [] if isinstance(m, Mapping)]
    ours = parse_time(annotations.get(UPDATED_AT_ANNOTATION))
    if fingerprint and annotations.get(FINGERPRINT_ANNOTATION) == fingerprint:
        mine = [parse_time(m.get("time")) for m in fields if m.get("manager") == FIELD_MANAGER]
        mine = [t for t in mine if t is not None]
        if mine:
            return max(mine), "managedFields (erlcookie)"
        if ours:
            return ours, "annotation"
    times = [t for t in (parse_time(m.get("time")) for m in fields) if t is not None]
    if ours:
        times.append(ours)
    if times:
        return max(times), "managedFields"
    created = parse_time(meta.get("creationTimestamp"))
    return (created, "creationTimestamp") if created else (None, None)


def _rfc3339(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


# -- the analysis ---------------------------------------------------------------------------


def _owner(obj: Mapping) -> Mapping | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def _container_binding(spec: Mapping, container: Mapping, opt: StatusOptions) -> str:
    states = []
    if opt.env is not None:
        states.append(env_binding(container, opt.env, opt.secret, opt.key))
    if opt.mount is not None:
        states.append(mount_binding(spec, container, opt.mount, opt.secret, opt.key))
    for state in states:
        if (
            state.state == "envfrom-secret"
            and state.reference == opt.secret
            and state.key == opt.key
        ):
            continue
        if state.state not in ("secret", "secret-copy"):
            return state.state
    return "secret"


_BINDING_TEXT = {
    "missing": "does not get the cookie from the Secret",
    "literal": "sets the cookie variable to a literal value",
    "configmap": "reads the cookie from a ConfigMap",
    "other-secret": "reads the cookie from another Secret or key",
    "field": "sets the cookie variable from a field reference",
    "envfrom-secret": "relies on envFrom of a Secret other than the expected one",
    "envfrom-configmap": "relies on envFrom of a ConfigMap",
    "bad-mode": "mounts the cookie file with a mode other users can read (Erlang refuses it)",
    "other-source": "mounts something else at the cookie file's path",
}


# Env vars and subPath files are read when a container starts. A live rotation changes the
# running node's cookie but not what the container was started with.
STALE_ENVIRONMENT = (
    "its environment (or cookie file) holds the cookie from before the change; "
    "after a live rotation (erlcookie rotate) the node runs the new one, but "
    "`remote`, `rpc` and `eval` in the container still use the old one until "
    "the pod is restarted"
)


class _Analysis:
    def __init__(
        self,
        opt: StatusOptions,
        report: StatusReport,
        secret_obj: Mapping | None,
        configmaps: Mapping[str, Mapping],
        audit: Any = None,
    ):
        self.opt, self.report, self.secret_obj = opt, report, secret_obj
        self.configmaps, self.audit = configmaps, audit
        self.reported: set[tuple[str, str]] = set()
        self.occurrences: dict[tuple[str, str, str], int] = {}

    def add(
        self,
        code: str,
        rule_id: str,
        obj_ref: str | None,
        message: str,
        container: str | None = None,
        cookie: Cookie | CookieInfo | None = None,
    ) -> None:
        """One finding about a live object (`obj_ref` None: about the namespace)."""
        info = cookie if isinstance(cookie, CookieInfo) or cookie is None else self.info(cookie)
        path = obj_ref or f"Namespace/{self.opt.namespace}"
        # the same rule, object and cookie twice (two containers of one pod): tell them
        # apart in the identity, as scan does for one cookie twice in a file
        seen = (rule_id, path, info.fingerprint if info else "")
        self.occurrences[seen] = self.occurrences.get(seen, 0) + 1
        self.report.findings.append(
            Finding(
                rule_id,
                path,
                0,
                0,
                detail=message,
                cookie=info,
                key=self.opt.env if code.endswith("-not-wired") else None,
                container=container,
                code=code,
                occurrence=self.occurrences[seen],
            )
        )

    def info(self, cookie: Cookie, result: Any = None) -> CookieInfo:
        """Fingerprint and (with an audit) verdict: a weak cookie raises the severity, as
        in `k8s inject --check` and `doctor`. `result`: the cookie's audit, if done."""
        if result is None and self.audit is None:
            return CookieInfo(cookie.fingerprint(), None, None)
        result = result or self.audit(cookie)
        return CookieInfo(
            cookie.fingerprint(),
            result.verdict,
            round(result.bits, 1),
            tuple(r.code for r in result.reasons if r.verdict != "ok"),
        )

    def check_containers(
        self, obj: Mapping, ref: str, spec: Mapping, kind_word: str
    ) -> dict[str, str]:
        opt = self.opt
        states: dict[str, str] = {}
        for cref in containers(spec, opt.containers):
            state = _container_binding(spec, cref.container, opt)
            states[cref.name] = state
            if state != "secret":
                detail = _BINDING_TEXT.get(state, state)
                cookie: Cookie | CookieInfo | None = (
                    self._literal(cref.container) if state == "literal" else None
                )
                if state in ("configmap", "envfrom-configmap"):
                    cookie = self._configmap_cookie(ref, cref.container)
                self.add(
                    f"{kind_word}-not-wired",
                    _WIRING_RULES.get(state, rules.K8S_NOT_WIRED),
                    ref,
                    f"container {cref.name} {detail} (expected Secret {opt.secret} key {opt.key})",
                    cref.name,
                    cookie,
                )
            elif opt.env is not None:
                binding = env_binding(cref.container, opt.env, opt.secret, opt.key)
                if binding.optional:
                    self.add(
                        "optional-ref",
                        rules.K8S_STATUS_OPTIONAL_REF,
                        ref,
                        f"container {cref.name}: the secretKeyRef is optional, so a missing "
                        "Secret starts the node with another cookie",
                        cref.name,
                    )
            for plain in plain_cookies(cref.container, skip_env=opt.env):  # reported above
                self.add(
                    "plain-cookie",
                    rules.K8S_PLAIN_COOKIE,
                    ref,
                    f"container {cref.name}: a cookie in clear in {plain.where}",
                    cref.name,
                    plain.cookie,
                )
        if opt.containers is not None and not states:
            self.add(
                f"{kind_word}-no-container",
                rules.K8S_STATUS_NO_CONTAINER,
                ref,
                f"no container named {', '.join(opt.containers)}",
            )
        return states

    def _configmap_cookie(self, ref: str, container: Mapping) -> CookieInfo | None:
        """The cookie a ConfigMap holds in clear (reported once per key)."""
        binding = env_binding(container, self.opt.env or "", self.opt.secret, self.opt.key)
        data = self.configmaps.get(str(binding.reference))
        if not isinstance(data, Mapping) or binding.key is None or not data.get(binding.key):
            return None
        info = self.info(Cookie(str(data[binding.key]), source=f"ConfigMap {binding.reference}"))
        where = f"ConfigMap/{binding.reference}"
        if (where, binding.key) not in self.reported:
            self.reported.add((where, binding.key))
            self.add(
                "plain-cookie",
                rules.K8S_PLAIN_COOKIE,
                where,
                f"key {binding.key} holds the cookie in clear (read by {ref})",
                cookie=info,
            )
        return info

    def _literal(self, container: Mapping) -> Cookie | None:
        binding = env_binding(container, self.opt.env or "", self.opt.secret, self.opt.key)
        return binding.literal if binding.literal and not binding.expands else None


# How a container gets its cookie -> the manifests' rule for it (the same problem has the
# same rule and severity in `k8s inject --check`, `doctor` and here); others: k8s/not-wired.
_WIRING_RULES = {
    "literal": rules.K8S_ENV_LITERAL_COOKIE,
    "configmap": rules.K8S_CONFIGMAP_REF_COOKIE,
    "envfrom-configmap": rules.K8S_ENVFROM_COOKIE,
}


def referenced_configmaps(opt: StatusOptions, objects: Iterable[Mapping]) -> set[str]:
    """ConfigMaps that containers read the cookie variable from (worth fetching)."""
    names: set[str] = set()
    if opt.env is None:
        return names
    for obj in objects:
        spec = pod_spec(obj)
        for cref in containers(spec, opt.containers) if spec is not None else []:
            binding = env_binding(cref.container, opt.env, opt.secret, opt.key)
            if binding.state in ("configmap", "envfrom-configmap") and binding.reference:
                names.add(binding.reference)
    return names


def analyze(
    opt: StatusOptions,
    secret_obj: Mapping | None,
    workloads: Iterable[Mapping],
    pods: Iterable[Mapping],
    *,
    audit: Any = None,
    configmaps: Mapping[str, Mapping] | None = None,
) -> StatusReport:
    """Judge what was fetched. `audit(cookie) -> AuditResult` is injected (None: skip);
    `configmaps` maps names to their `data`, for ConfigMaps that hold the cookie."""
    report = StatusReport(opt, SecretInfo(opt.secret, secret_obj is not None))
    run = _Analysis(opt, report, secret_obj, configmaps or {}, audit)
    changed_at = _check_secret(run, secret_obj, audit)
    judged = _judged_workloads(list(workloads))
    pods = list(pods)
    _check_workloads(run, judged)
    _check_pods(run, pods, changed_at)
    if judged and not pods:
        run.add("no-pods", rules.K8S_STATUS_NO_PODS, None, f"no pod matches -l {opt.selector!r}")
    _pods_outside_workloads(run, judged, pods)
    return report


def _check_secret(run: _Analysis, secret_obj: Mapping | None, audit: Any) -> datetime | None:
    """The Secret's findings and facts; returns when its data last changed (None: unknown)."""
    opt, report = run.opt, run.report
    secret_ref = f"Secret/{opt.secret}"
    if secret_obj is None:
        run.add(
            "secret-missing",
            rules.K8S_STATUS_SECRET_MISSING,
            secret_ref,
            f"Secret {opt.secret} does not exist in namespace {opt.namespace}",
        )
        return None
    meta = secret_obj.get("metadata") or {}
    report.secret.resource_version = meta.get("resourceVersion")
    value = secret_value(secret_obj, opt.key)
    if value.cookie is None:
        text = {
            "missing": f"has no key {opt.key}",
            "empty": f"key {opt.key} is empty",
            "not-base64": f"key {opt.key} is not base64",
            "not-utf8": f"key {opt.key} is not UTF-8 text",
        }
        run.add(
            "secret-key",
            rules.K8S_STATUS_SECRET_KEY,
            secret_ref,
            f"Secret {opt.secret} {text[value.problem]}",
        )
        return None
    fp = value.cookie.fingerprint()
    report.secret.fingerprint = fp
    result = audit(value.cookie) if audit is not None else None
    info = run.info(value.cookie, result)
    # the newline and the annotation are not about the cookie's strength (secret-weak is)
    named = CookieInfo(fp, None, None)
    if value.trailing_newline:
        run.add(
            "secret-newline",
            rules.K8S_STATUS_SECRET_NEWLINE,
            secret_ref,
            f"key {opt.key} ends with a newline: through an env var it is part of "
            "the cookie, read from a file it is not",
            cookie=named,
        )
    annotated = (meta.get("annotations") or {}).get(FINGERPRINT_ANNOTATION)
    if annotated and annotated != fp:
        run.add(
            "annotation-stale",
            rules.K8S_STATUS_ANNOTATION_STALE,
            secret_ref,
            f"annotation {FINGERPRINT_ANNOTATION} says {annotated} but the data is {fp}: "
            "the Secret was changed by something else",
            cookie=named,
        )
    if result is not None:
        report.secret.verdict = result.verdict
        if result.verdict != "ok":
            reasons = "; ".join(r.message for r in result.reasons if r.verdict != "ok")
            run.add(
                "secret-weak",
                rules.K8S_STATUS_SECRET_WEAK,
                secret_ref,
                f"the cookie is {result.verdict}: {reasons}",
                cookie=info,
            )
    changed_at, source = secret_changed_at(secret_obj, fp)
    report.secret.changed_at, report.secret.changed_at_source = _rfc3339(changed_at), source
    return changed_at


# A ReplicaSet run by a Deployment (or a Job run by a CronJob) is judged through its owner.
_OWNED_KINDS = {("ReplicaSet", "Deployment"), ("Job", "CronJob")}


def _judged_workloads(workloads: list[Mapping]) -> list[Mapping]:
    """The workloads to judge: without those whose matched owner is judged instead, and
    without a Deployment's old ReplicaSets scaled to zero."""
    present = {(w.get("kind"), (w.get("metadata") or {}).get("name")) for w in workloads}
    judged = []
    for obj in workloads:
        owner = _owner(obj)
        if (
            owner
            and (obj.get("kind"), owner.get("kind")) in _OWNED_KINDS
            and (owner.get("kind"), owner.get("name")) in present
        ):
            continue
        if (
            obj.get("kind") == "ReplicaSet"
            and owner
            and owner.get("kind") == "Deployment"
            and ((obj.get("spec") or {}).get("replicas") or 0) == 0
        ):
            continue  # an old revision kept for rollback, scaled to zero
        judged.append(obj)
    return judged


# Where a pod spec can ask for TLS distribution: the container's command and args, and the
# variables erl, elixir, mix releases and RabbitMQ read extra VM flags from.
_FLAG_VARIABLES = (
    "ERL_FLAGS",
    "ERL_AFLAGS",
    "ERL_ZFLAGS",
    "ELIXIR_ERL_OPTIONS",
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
    "RABBITMQ_CTL_ERL_ARGS",
)


def distribution_of(spec: Mapping) -> str:
    """ "tls" when a container asks for `-proto_dist inet_tls` (or inet6_tls) as far as the
    pod spec shows, else "tcp": the cookie is then the only check a network peer meets.
    Flags baked into the image (its vm.args) are not visible here."""
    for container in spec.get("containers") or []:
        words: list[str] = []
        for part in ("command", "args"):
            words += [str(w) for w in container.get(part) or []]
        for var in container.get("env") or []:
            if var.get("name") in _FLAG_VARIABLES and isinstance(var.get("value"), str):
                words += var["value"].split()
        text = " ".join(words).split()
        for i, word in enumerate(text[:-1]):
            if word == "-proto_dist" and text[i + 1] in ("inet_tls", "inet6_tls"):
                return "tls"
    return "tcp"


def _check_workloads(run: _Analysis, judged: list[Mapping]) -> None:
    opt = run.opt
    if not judged:
        run.add(
            "no-workloads",
            rules.K8S_STATUS_NO_WORKLOADS,
            None,
            f"no Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob matches "
            f"-l {opt.selector!r} in namespace {opt.namespace}",
        )
    for obj in judged:
        spec = pod_spec(obj)
        if spec is None:
            continue
        ref = object_ref(obj)
        states = run.check_containers(obj, ref, spec, "workload")
        run.report.workloads.append(
            WorkloadRow(
                ref,
                all(s == "secret" for s in states.values()) and bool(states),
                states,
                distribution=distribution_of(spec),
            )
        )


def _check_pods(run: _Analysis, pods: list[Mapping], changed_at: datetime | None) -> None:
    """Each pod's wiring, and containers started before the Secret last changed."""
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue  # on its way out
        status = pod.get("status") or {}
        spec = pod.get("spec") or {}
        owner = _owner(pod)
        ref = f"Pod/{meta.get('name')}"
        states = run.check_containers(pod, ref, spec, "pod")
        statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
        statuses.update({s.get("name"): s for s in status.get("initContainerStatuses") or []})
        row = PodRow(
            str(meta.get("name")),
            status.get("phase"),
            status.get("podIP"),
            f"{owner.get('kind')}/{owner.get('name')}" if owner else None,
            all(s == "secret" for s in states.values()) and bool(states),
        )
        for name, state in states.items():
            cstatus = statuses.get(name) or {}
            running = (cstatus.get("state") or {}).get("running") or {}
            started = parse_time(running.get("startedAt")) or (
                parse_time(status.get("startTime")) if not cstatus else None
            )
            cs = ContainerState(name, state, _rfc3339(started), cstatus.get("ready"))
            if changed_at is not None and started is not None and started < changed_at:
                cs.stale = True
                row.ok = False
                run.add(
                    "stale-cookie",
                    rules.K8S_STATUS_STALE_COOKIE,
                    ref,
                    f"container {name} started {_rfc3339(started)}, before the Secret last "
                    f"changed ({_rfc3339(changed_at)}, from {run.report.secret.changed_at_source}): "
                    f"{STALE_ENVIRONMENT}",
                    name,
                )
            row.containers.append(cs)
        run.report.pods.append(row)


def _pods_outside_workloads(run: _Analysis, workloads: list[Mapping], pods: list[Mapping]) -> None:
    """Pods the selector matched that no matched workload selects: the workload that runs
    them was not matched by -l (its own labels differ), so it was not checked."""
    selectors = [
        from_label_selector((w.get("spec") or {}).get("selector"))
        for w in workloads
        if w.get("kind") != "CronJob"
    ]
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        owner = _owner(pod)
        if owner is None:
            continue  # a bare pod is checked on its own
        if owner.get("kind") == "Job":
            continue  # jobs of a CronJob carry the CronJob's template labels only sometimes
        if not any(sel.matches(labels) for sel in selectors):
            run.add(
                "workload-not-matched",
                rules.K8S_STATUS_WORKLOAD_NOT_MATCHED,
                f"Pod/{(pod.get('metadata') or {}).get('name')}",
                f"its {owner.get('kind')} {owner.get('name')} does not carry the labels of "
                f"-l {run.opt.selector!r}, so the workload itself was not checked",
            )
