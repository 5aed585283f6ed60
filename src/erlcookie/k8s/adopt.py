"""The cookie a cluster runs today, read from its manifests, so a Secret can adopt it.

Moving a literal cookie into a Secret must not change the cookie: pods rolled out with a
new Secret-backed cookie cannot talk to old pods still running the literal one, and the
cluster splits for the whole rollout. The safe order is: adopt the running cookie into the
Secret, roll out, then rotate (`erlcookie rotate`). This module finds that cookie: a
literal cookie variable in a workload, a ConfigMap key a workload reads it from
(`configMapKeyRef`, or `envFrom` under a cookie-like key), or a Secret manifest poured in
through `envFrom`. It also edits ConfigMaps to drop a cookie key once nothing reads it.

Values stay `Cookie`s (never printed); callers show fingerprints.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.k8s import yamlstream
from erlcookie.k8s.inject.model import FileResult, InjectResult
from erlcookie.k8s.workloads import is_cookie_env_name, iter_workloads, object_ref, pod_spec

__all__ = [
    "EnvFromCookie",
    "RunningCookie",
    "adopt",
    "adopt_live",
    "envfrom_cookies",
    "running_cookies",
    "objects_in",
    "parse_secret_documents",
    "remove_configmap_keys",
    "configmap_references",
]


@dataclass
class EnvFromCookie:
    """A cookie-like key of a ConfigMap or Secret that a container takes in whole (envFrom)."""

    path: str
    line: int  # 1-based line of the envFrom entry
    workload: str
    container: str
    namespace: str | None
    source_kind: str  # "ConfigMap" or "Secret"
    source_name: str
    key: str  # the key in the object
    variable: str  # the variable the container sees (prefix + key)
    cookie: Cookie | None  # None: the object is not among the manifests


@dataclass
class RunningCookie:
    """A cookie the pods of a namespace run today, and where it was read."""

    cookie: Cookie
    namespace: str | None
    where: list[str] = field(default_factory=list)  # "Deployment/x (k8s/deploy.yaml)"
    variables: set[str] = field(default_factory=set)  # the variables that carry it

    @property
    def fingerprint(self) -> str:
        return self.cookie.fingerprint()


def _namespace(obj: Mapping) -> str | None:
    namespace = (obj.get("metadata") or {}).get("namespace")
    return None if namespace in (None, "") else str(namespace)


def objects_in(data: Any) -> Iterable[Mapping]:
    """The objects of one document: itself, and the items of a `kind: List`."""
    if isinstance(data, Mapping):
        yield data
        if str(data.get("kind", "")).endswith("List") and isinstance(data.get("items"), list):
            for item in data["items"]:
                yield from objects_in(item)


def _secret_data(obj: Mapping) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
    for key, value in (obj.get("stringData") or {}).items():
        values[str(key)] = "" if value is None else str(value)
    return values


def _sources(files: Iterable[FileResult]) -> dict[tuple[str, str | None, str], dict[str, str]]:
    """(kind, namespace, name) -> data of every ConfigMap and Secret in the manifests."""
    found: dict[tuple[str, str | None, str], dict[str, str]] = {}
    for result in files:
        for doc in result.docs:
            for obj in objects_in(doc.data):
                kind = obj.get("kind")
                name = str((obj.get("metadata") or {}).get("name"))
                if kind == "ConfigMap":
                    data = {
                        str(k): "" if v is None else str(v)
                        for k, v in (obj.get("data") or {}).items()
                    }
                elif kind == "Secret":
                    data = _secret_data(obj)
                else:
                    continue
                found[(str(kind), _namespace(obj), name)] = data
    return found


def _lookup(sources, kind: str, namespace: str | None, name: str) -> dict[str, str] | None:
    data = sources.get((kind, namespace, name))
    if data is None and namespace is not None:
        data = sources.get((kind, None, name))
    return data


def envfrom_cookies(files: list[FileResult]) -> list[EnvFromCookie]:
    """Every cookie-like key that reaches a container through envFrom, whatever variable
    a command was told to wire."""
    sources = _sources(files)
    found: list[EnvFromCookie] = []
    for result in files:
        for doc in result.docs:
            for obj in iter_workloads(doc.data):
                spec = pod_spec(obj)
                if spec is None:
                    continue
                namespace = _namespace(obj)
                for container in _all_containers(spec):
                    for source in container.get("envFrom") or []:
                        if not isinstance(source, Mapping):
                            continue
                        prefix = str(source.get("prefix") or "")
                        for field_name, kind in (
                            ("configMapRef", "ConfigMap"),
                            ("secretRef", "Secret"),
                        ):
                            target = source.get(field_name)
                            if not isinstance(target, Mapping):
                                continue
                            name = str(target.get("name"))
                            data = _lookup(sources, kind, namespace, name)
                            if data is None:
                                continue
                            line = _line_of(doc, source)
                            for key, value in data.items():
                                if not value or not is_cookie_env_name(prefix + key):
                                    continue
                                found.append(
                                    EnvFromCookie(
                                        result.path,
                                        line,
                                        object_ref(obj),
                                        str(container.get("name")),
                                        namespace,
                                        kind,
                                        name,
                                        key,
                                        prefix + key,
                                        Cookie(value, source=f"{kind} {name} key {key}"),
                                    )
                                )
    return found


def _all_containers(spec: Mapping) -> list[Mapping]:
    return [
        c
        for key in ("containers", "initContainers")
        for c in spec.get(key) or []
        if isinstance(c, Mapping)
    ]


def _line_of(doc: yamlstream.Document, node: Any) -> int:
    at = getattr(getattr(node, "lc", None), "line", None)
    return doc.body_line + (at if isinstance(at, int) else 0) + 1


def running_cookies(
    result: InjectResult, envfrom: Iterable[EnvFromCookie] = ()
) -> dict[str | None, list[RunningCookie]]:
    """namespace -> the distinct cookies its pods run today that the edits in `result`
    (an in-memory `k8s inject`) replace, plus those poured in through envFrom.

    In each namespace the first is the one to adopt: a literal or ConfigMap value of the
    first variable wired (RELEASE_COOKIE by default), in file order."""
    by_fp: dict[str, Cookie] = {}
    for f in result.files:
        for cookie in f.secrets:
            by_fp.setdefault(cookie.fingerprint(), cookie)
    out: dict[str | None, list[RunningCookie]] = {}

    def add(namespace: str | None, cookie: Cookie, where: str, variable: str | None) -> None:
        entries = out.setdefault(namespace, [])
        fp = cookie.fingerprint()
        entry = next((e for e in entries if e.fingerprint == fp), None)
        if entry is None:
            entry = RunningCookie(cookie, namespace)
            entries.append(entry)
        if where not in entry.where:
            entry.where.append(where)
        if variable:
            entry.variables.add(variable)

    for f in result.files:
        for change in f.changes:
            if change.fingerprint is None or change.action != "replace-env":
                continue
            cookie = by_fp.get(change.fingerprint)
            namespace = _namespace_of(result, change.workload, change.fingerprint)
            variable = re.search(
                r"(?:value of|configMapKeyRef \S+ with|in) "
                r"([A-Za-z_][A-Za-z0-9_]*)",
                change.detail,
            )
            if cookie is not None:
                add(
                    namespace,
                    cookie,
                    f"{change.workload} ({change.path})",
                    variable.group(1) if variable else None,
                )
    for item in envfrom:
        if item.cookie is not None:
            add(
                item.namespace,
                item.cookie,
                f"{item.source_kind} {item.source_name} key {item.key} via envFrom of "
                f"{item.workload} ({item.path})",
                item.variable,
            )
    return out


def parse_secret_documents(result: FileResult) -> None:
    """Parse the Secret documents inject leaves unparsed (they feed envFrom)."""
    for doc in result.docs:
        if doc.data is None and doc.body.strip() and yamlstream.top_level_kind(doc) == "Secret":
            try:
                doc.data = yamlstream.new_rt_yaml().load(doc.body.replace("\r\n", "\n"))
            except yamlstream.YamlParseError:
                raise
            except Exception:  # not YAML we can read: inject ignores it, and so do we
                doc.data = None


def live_objects(api, workloads: Iterable[str]) -> list[dict]:
    """The workloads (`Kind/name`) as the cluster runs them, and the ConfigMaps they read
    the cookie from (configMapKeyRef, envFrom), from the API: what `adopt` reads when the
    repository no longer says what runs (the manifests were edited, or never committed)."""
    from erlcookie.errors import UsageError

    objects: list[dict] = []
    configmaps: set[str] = set()
    for ref in workloads:
        kind, _, name = ref.partition("/")
        if not kind or not name:
            raise UsageError(f"--adopt-live takes KIND/NAME, e.g. Deployment/shop (got {ref!r})")
        kind = {k.lower(): k for k in _LIVE_KINDS}.get(kind.lower(), kind)
        if kind not in _LIVE_KINDS:
            raise UsageError(
                f"--adopt-live: {kind} is not a workload kind ({', '.join(_LIVE_KINDS)})"
            )
        obj = api.get_workload(kind, name)
        if obj is None:
            raise UsageError(f"{kind}/{name} does not exist in namespace {api.namespace}")
        obj.setdefault("metadata", {})["namespace"] = api.namespace
        objects.append(obj)
        spec = pod_spec(obj) or {}
        for container in _all_containers(spec):
            for item in container.get("env") or []:
                ref_ = (
                    (item.get("valueFrom") or {}).get("configMapKeyRef")
                    if isinstance(item, Mapping)
                    else None
                )
                if isinstance(ref_, Mapping) and ref_.get("name"):
                    configmaps.add(str(ref_["name"]))
            for source in container.get("envFrom") or []:
                ref_ = source.get("configMapRef") if isinstance(source, Mapping) else None
                if isinstance(ref_, Mapping) and ref_.get("name"):
                    configmaps.add(str(ref_["name"]))
    for name in sorted(configmaps):
        obj = api.get_configmap(name)
        if obj is not None:
            obj.setdefault("metadata", {})["namespace"] = api.namespace
            objects.append(obj)
    return objects


_LIVE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


def adopt_live(api, workloads: Iterable[str], *, envs: tuple[str, ...] = ()) -> RunningCookie:
    """`adopt` over the live objects of the cluster (see `live_objects`)."""
    import io
    import json

    objects = live_objects(api, workloads)
    text = "".join(f"---\n{json.dumps(obj)}\n" for obj in objects)
    return adopt(
        ["-"], namespace=api.namespace, envs=envs, stdin=io.StringIO(text), label="the cluster"
    )


def adopt(
    paths: Iterable[str],
    *,
    namespace: str | None = None,
    envs: tuple[str, ...] = (),
    stdin=None,
    label: str | None = None,
) -> RunningCookie:
    """The one cookie the pods of `namespace` run today, according to the manifests at
    `paths` (files, directories, `-`): a literal cookie variable, or a ConfigMap key read
    through configMapKeyRef or envFrom. UsageError when there is none, or several and
    `envs` (the variables to prefer) does not decide."""
    import sys

    from erlcookie.errors import UsageError
    from erlcookie.k8s.inject import InjectOptions, inject
    from erlcookie.k8s.inject.files import collect_files, load_file, read_input
    from erlcookie.k8s.manifests import DEFAULT_ENV

    files = [
        load_file(
            label if label and path == "-" else path, read_input(path, stdin or sys.stdin), explicit
        )
        for path, explicit in collect_files(paths)
    ]
    files = [f for f in files if not f.skipped]
    for f in files:
        parse_secret_documents(f)
    envfrom = envfrom_cookies(files)
    variables = tuple(dict.fromkeys((*envs, DEFAULT_ENV, *(e.variable for e in envfrom))))
    result = inject(files, InjectOptions(env=variables))
    running = running_cookies(result, envfrom)
    if namespace is not None:
        candidates = running.get(namespace, []) or running.get(None, [])
    elif len(running) > 1:
        names = ", ".join(sorted(n or "(none given)" for n in running))
        raise UsageError(
            f"the manifests run cookies in several namespaces ({names}): "
            "choose one with -n NAMESPACE"
        )
    else:
        candidates = next(iter(running.values()), [])
    if not candidates:
        raise UsageError(
            "no cookie in clear in these manifests (a literal cookie variable, "
            "or a ConfigMap key the pods read): nothing to adopt; if the pods "
            "read it from elsewhere, pass it with --cookie-file"
        )
    if envs:
        preferred = [c for c in candidates if c.variables & set(envs)]
        candidates = preferred or candidates
    if len(candidates) > 1:
        listed = "; ".join(
            f"{c.fingerprint} in {', '.join(sorted(c.variables)) or '?'} ({', '.join(c.where)})"
            for c in candidates
        )
        raise UsageError(f"the pods run several cookies: {listed}; say which with --env VAR")
    return candidates[0]


def _namespace_of(result: InjectResult, workload: str, fingerprint: str) -> str | None:
    for namespace, running in result.namespaces.items():
        if workload in running.get(fingerprint, set()):
            return namespace
    return None


def configmap_references(files: list[FileResult]) -> tuple[set[tuple[str, str]], set[str]]:
    """What the workloads (as edited) still read from ConfigMaps: (name, key) pairs of
    configMapKeyRef, and names of ConfigMaps taken in whole (envFrom) or mounted."""
    keys: set[tuple[str, str]] = set()
    whole: set[str] = set()
    for result in files:
        for doc in result.docs:
            for obj in iter_workloads(doc.data):
                spec = pod_spec(obj)
                if spec is None:
                    continue
                for volume in spec.get("volumes") or []:
                    if isinstance(volume, Mapping) and isinstance(volume.get("configMap"), Mapping):
                        whole.add(str(volume["configMap"].get("name")))
                for container in _all_containers(spec):
                    for item in container.get("env") or []:
                        source = (item.get("valueFrom") or {}) if isinstance(item, Mapping) else {}
                        cm = source.get("configMapKeyRef") if isinstance(source, Mapping) else None
                        if isinstance(cm, Mapping):
                            keys.add((str(cm.get("name")), str(cm.get("key"))))
    return keys, whole


def remove_configmap_keys(
    files: list[FileResult],
    wanted: set[tuple[str | None, str, str]],
    still_read: set[tuple[str, str]],
) -> list[tuple[str, str, str]]:
    """Drop each (namespace, name, key) of `wanted` from the ConfigMaps in `files` (in
    memory; `FileResult.output` then has the edit), unless a workload still reads that key
    by name (`still_read`). Returns (path, ConfigMap, key) of what was removed."""
    removed = []
    for result in files:
        for doc in result.docs:
            touched = False
            for obj in objects_in(doc.data):
                if obj.get("kind") != "ConfigMap" or not isinstance(obj.get("data"), Mapping):
                    continue
                name = str((obj.get("metadata") or {}).get("name"))
                namespace = _namespace(obj)
                for key in list(obj["data"]):
                    key = str(key)
                    if (name, key) in still_read:
                        continue
                    if (namespace, name, key) in wanted or (None, name, key) in wanted:
                        value = obj["data"].get(key)
                        if value not in (None, ""):
                            result.secrets.append(Cookie(str(value), source=f"ConfigMap {name}"))
                        del obj["data"][key]
                        removed.append((result.path, name, key))
                        touched = True
            if touched:
                yamlstream.render(doc)
    return removed
