"""A local Kubernetes API server for tests: the REST endpoints erlcookie uses, in memory.

Tests talk to it through the real `kubernetes` client and a real kubeconfig file
(`write_kubeconfig`), over HTTP on 127.0.0.1 (random port, threaded). What it serves:

- core/v1 secrets, configmaps, pods; apps/v1 deployments, statefulsets, daemonsets,
  replicasets; batch/v1 jobs, cronjobs: GET (one, or a list with labelSelector, limit and
  continue), POST, PUT, PATCH (merge, strategic merge with lists merged by `name`, JSON
  patch), DELETE. No watch.
- The API server's rules that matter here: a new resourceVersion on every write and 409
  Conflict on a stale PUT whatever changed, 409 AlreadyExists, 404 NotFound (an object in
  a namespace that does not exist too; a list there is empty, as on a real server; GET of
  the namespace is 404), 422 for bad Secret data and changes to an immutable Secret, a
  JSON patch whose `test` fails (or whose path is missing) answered as kube-apiserver does
  (422 Invalid, "the server rejected our request due to an error in our request"), Secret
  `stringData` folded into `data`, `generation` bumped on spec changes,
  `managedFields[].time` on every change, 401 without the bearer token, `?dryRun=All`
  (checked, authorized, answered, never stored), and 403 Forbidden with the real message
  and details.
- Authorization: everything is allowed until `grant(verbs, resources, namespace=,
  names=)` (or `grant_role(role_manifest)`) switches to an RBAC table, where only what a
  rule allows is (`names` narrows like `resourceNames`: never list or create); `deny`
  refuses on top. `POST .../selfsubjectaccessreviews` answers from the same table (every
  review is kept in `reviews`).
- Optional HTTPS (`tls=(cert, key)`), for the client's in-cluster configuration.
- A tiny controller (`auto_rollout`, on by default): creating a workload or changing its
  pod template replaces its pods (Deployment -> ReplicaSet -> pods, StatefulSet
  `name-0..n`, DaemonSet one pod per fake node, Job one pod), with fresh start times and
  IPs, and fills `status` the way `kubectl rollout status` reads it. `stall(kind, name)`
  stops that for one workload (a rollout that never finishes); `pending(kind, name, n)`
  leaves its last n pods Pending (unschedulable: no IP, no container) until `schedule`.

Seeding and inspecting: `add(obj)`, `get(kind, name, namespace)`, `objects(kind)`,
`remove(...)`. Time is the server's own clock (`now`), which tests can set and advance
(`set_time`, `advance`) to make "started before the Secret changed" deterministic.

Fault injection:
- `deny(verb, resource, namespace=None)`: RBAC 403 for e.g. ("get", "secrets").
- `fail_next(method, resource, name=None, status=409, count=1)`: the next matching
  request(s) get that error without being applied.
- `before_next(method, resource, name, action)`: run `action(server)` just before the
  next matching request is handled (e.g. another writer changes the Secret, so the
  request's resourceVersion is stale and the server answers 409 on its own).
- `stall_requests("drip" | "silent", method=, path=, interval=)`: matching requests are
  answered one byte per interval (each read of the client succeeds) or never, until
  `unstall_requests()` or `stop()`.
- `clear_faults()` forgets the pending ones.
- `requests`: every request seen (method, path, query, json body), for assertions.

    with KubeApiServer() as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", namespace="chat")
        kube.add(deployment_dict)
        ... erlcookie k8s status --kubeconfig kubeconfig -l app=chat ...
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from erlcookie.k8s.selectors import parse_selector

# plural -> (kind, group)
RESOURCES: dict[str, tuple[str, str]] = {
    "secrets": ("Secret", ""),
    "configmaps": ("ConfigMap", ""),
    "pods": ("Pod", ""),
    "deployments": ("Deployment", "apps"),
    "statefulsets": ("StatefulSet", "apps"),
    "daemonsets": ("DaemonSet", "apps"),
    "replicasets": ("ReplicaSet", "apps"),
    "jobs": ("Job", "batch"),
    "cronjobs": ("CronJob", "batch"),
}
PLURAL = {kind: plural for plural, (kind, _) in RESOURCES.items()}
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>apps|batch)/v1)"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?/?$"
)
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


@dataclass
class Request:
    method: str
    path: str
    query: dict
    body: Any = field(repr=False)  # may hold test Secret data: kept out of repr
    content_type: str | None = None
    user_agent: str | None = None

    @property
    def manager(self) -> str:
        """metadata.managedFields[].manager: ?fieldManager=, else the user agent's name."""
        return self.query.get("fieldManager") or (self.user_agent or "unknown").split("/")[0]

    @property
    def verb(self) -> str:
        verb = VERBS.get(self.method, self.method.lower())
        m = _PATH.match(self.path)
        return "list" if verb == "get" and m and not m["name"] else verb


@dataclass
class _Fault:
    method: str
    resource: str
    name: str | None
    count: int
    status: int = 409
    reason: str | None = None
    message: str | None = None
    action: Callable | None = None


@dataclass(frozen=True)
class Rule:
    """One RBAC rule: verbs on resources (plural) in a namespace (None: all), optionally
    only for some object names (`resourceNames`)."""

    verbs: tuple[str, ...]
    resources: tuple[str, ...]
    namespace: str | None = None
    names: tuple[str, ...] | None = None

    def allows(self, verb: str, plural: str, ns: str | None, name: str | None) -> bool:
        if not ({verb, "*"} & set(self.verbs)) or not ({plural, "*"} & set(self.resources)):
            return False
        if self.namespace is not None and self.namespace != ns:
            return False
        return self.names is None or (name is not None and name in self.names)


@dataclass
class _Stall:
    mode: str
    method: str | None
    path: str | None
    interval: float

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path in path
        )


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_patch(target: Any, patch: Any, *, strategic: bool = False) -> Any:
    """RFC 7386; with `strategic`, lists of objects that all have a `name` merge by name
    (what strategic merge does for containers, env, volumes, ports)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif (
            strategic
            and isinstance(value, list)
            and isinstance(result.get(key), list)
            and all(isinstance(v, dict) and "name" in v for v in value + result[key])
        ):
            merged = {item["name"]: item for item in copy.deepcopy(result[key])}
            order = [item["name"] for item in result[key]]
            for item in value:
                if item.get("$patch") == "delete":
                    merged.pop(item["name"], None)
                    continue
                if item["name"] not in merged:
                    order.append(item["name"])
                merged[item["name"]] = merge_patch(
                    merged.get(item["name"], {}), item, strategic=True
                )
            result[key] = [merged[n] for n in order if n in merged]
        else:
            result[key] = merge_patch(result.get(key), value, strategic=strategic)
    return result


# What kube-apiserver answers when a JSON patch does not apply (a failed `test`, a missing
# path): patch.go wraps the json-patch library's error in
# NewGenericServerResponse(422, ...), which keeps only this generic message.
JSON_PATCH_REJECTED = "the server rejected our request due to an error in our request"


def json_patch(target: Any, ops: list) -> Any:
    """RFC 6902: add, remove, replace, test (move/copy are not needed here). A failed test
    or a missing path is the real server's 422 Invalid with its generic message."""
    doc = copy.deepcopy(target)

    def walk(path: str):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        return parent, parts[-1]

    for op in ops:
        try:
            parent, last = walk(op["path"])
            kind = op["op"]
            if kind not in ("add", "remove", "replace", "test"):
                raise ApiError(400, "BadRequest", f"Unexpected kind: {kind}")
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, op["value"])
                elif kind == "remove":
                    del parent[index]
                elif kind == "replace":
                    parent[index] = op["value"]
                elif parent[index] != op["value"]:
                    raise LookupError(op["path"])
            elif not isinstance(parent, dict):
                raise LookupError(op["path"])
            else:
                if kind in ("add", "replace"):
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = op["value"]
                elif kind == "remove":
                    del parent[last]
                elif last not in parent or parent[last] != op.get("value"):
                    raise LookupError(op["path"])
        except (LookupError, ValueError, TypeError):
            raise ApiError(422, "Invalid", JSON_PATCH_REJECTED) from None
    return doc


class KubeApiServer:
    """The fake API server. Thread-safe; use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        token: str = "erlcookie-test-token",
        auto_rollout: bool = True,
        user: str = "system:serviceaccount:default:erlcookie-test",
        nodes: int = 2,
        tls: tuple[Path, Path] | None = None,
    ):
        self.token = token
        self.tls = tls  # (certificate, key): serve HTTPS, as in-cluster clients require
        self.user = user
        self.auto_rollout = auto_rollout
        self.nodes = nodes
        self.namespaces: set[str] = {"default"}
        self.requests: list[Request] = []
        self.reviews: list[dict] = []  # resourceAttributes of every SelfSubjectAccessReview
        self._store: dict[tuple[str, str, str], dict] = {}
        self._denied: set[tuple[str, str, str | None]] = set()
        self._faults: list[_Fault] = []
        self._stalled: set[tuple[str, str, str]] = set()
        self._rules: list[Rule] | None = None  # None: everything allowed (but `deny`)
        self._pending: dict[tuple[str, str, str], tuple[int, str, str]] = {}
        self._stall_requests: _Stall | None = None
        self._stopping = threading.Event()
        self._lock = threading.RLock()
        self._rv = itertools.count(1000)
        self._ips = itertools.count(10)
        self._now = datetime.now(UTC).replace(microsecond=0)
        self._frozen = False
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> KubeApiServer:
        server = self

        class Handler(_Handler):
            api = server

        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if self.tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            name="kube-api",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # stalled answers end
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def write_kubeconfig(
        self,
        path: str | Path,
        *,
        namespace: str | None = "default",
        context: str = "fake",
        token: str | None = None,
        extra_contexts: dict[str, str] | None = None,
    ) -> Path:
        """A real kubeconfig (mode 0600) pointing at this server. `extra_contexts` maps
        more context names to their namespaces (same server and user)."""
        context_entry: dict[str, Any] = {"cluster": "fake", "user": "fake-user"}
        if namespace:
            context_entry["namespace"] = namespace
        contexts = [{"name": context, "context": context_entry}]
        for name, ns in (extra_contexts or {}).items():
            contexts.append(
                {"name": name, "context": {"cluster": "fake", "user": "fake-user", "namespace": ns}}
            )
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake-user", "user": {"token": token or self.token}}],
            "contexts": contexts,
            "current-context": context,
        }
        path = Path(path)
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        path.chmod(0o600)
        return path

    # -- time ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        with self._lock:
            if not self._frozen:
                self._now = max(self._now, datetime.now(UTC).replace(microsecond=0))
            return self._now

    def set_time(self, when: str | datetime) -> None:
        """Freeze the clock at `when` (RFC 3339 text or datetime); `advance` moves it."""
        if isinstance(when, str):
            when = datetime.fromisoformat(when.replace("Z", "+00:00"))
        with self._lock:
            self._now, self._frozen = when, True

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            self._frozen = True

    # -- RBAC and faults --------------------------------------------------------------------
    def deny(self, verb: str, resource: str, namespace: str | None = None) -> None:
        """Answer 403 to `verb` ("get", "list", "create", "update", "patch", "delete", "*")
        on `resource` (plural, e.g. "secrets") in `namespace` (None: everywhere)."""
        with self._lock:
            self._denied.add((verb, resource, namespace))

    def allow_all(self) -> None:
        with self._lock:
            self._denied.clear()
            self._rules = None

    def grant(
        self,
        verbs: str | list[str],
        resources: str | list[str],
        *,
        namespace: str | None = None,
        names: list[str] | None = None,
    ) -> None:
        """Switch to an RBAC table: from the first grant on, only what some rule allows is
        allowed (403 otherwise), as with a Role bound to the caller. `names` narrows a
        rule as `resourceNames` does (so it never allows list or create)."""
        verbs = [verbs] if isinstance(verbs, str) else list(verbs)
        resources = [resources] if isinstance(resources, str) else list(resources)
        with self._lock:
            self._rules = (self._rules or []) + [
                Rule(tuple(verbs), tuple(resources), namespace, tuple(names) if names else None)
            ]

    def grant_role(self, role: dict) -> None:
        """Grant what a Role manifest's rules say, in its namespace."""
        ns = (role.get("metadata") or {}).get("namespace")
        for rule in role.get("rules") or []:
            self.grant(
                rule["verbs"], rule["resources"], namespace=ns, names=rule.get("resourceNames")
            )

    def allowed(self, verb: str, plural: str, ns: str | None, name: str | None = None) -> bool:
        """What the authorizer answers (requests and SelfSubjectAccessReviews alike)."""
        with self._lock:
            if any(
                (v in (verb, "*")) and r == plural and (n is None or n == ns)
                for v, r, n in self._denied
            ):
                return False
            if self._rules is None or plural == "selfsubjectaccessreviews":
                return True  # system:basic-user may always ask about itself
            return any(rule.allows(verb, plural, ns, name) for rule in self._rules)

    def pending(
        self,
        kind: str,
        name: str,
        count: int = 1,
        namespace: str = "default",
        *,
        reason: str = "Unschedulable",
        message: str = "0/3 nodes are available: 3 Insufficient cpu.",
    ) -> None:
        """The last `count` pods of this workload stay Pending (not scheduled: no IP, no
        container started), now and in every later rollout, until `schedule`."""
        with self._lock:
            self._pending[(kind, namespace, name)] = (count, reason, message)
            obj = self._store.get((kind, namespace, name))
            if obj is not None:
                self._reconcile(obj, force=True)

    def schedule(self, kind: str, name: str, namespace: str = "default") -> None:
        """Pending pods of this workload start running (in place: same names)."""
        with self._lock:
            self._pending.pop((kind, namespace, name), None)
            for key, pod in self._store.items():
                if (
                    key[0] == "Pod"
                    and key[1] == namespace
                    and (pod.get("status") or {}).get("phase") == "Pending"
                    and self._owned_by(pod, kind, namespace, name)
                ):
                    self._run_pod(pod)
                    self._stamp(pod, copy.deepcopy(pod), manager="kubelet")
            for key, obj in self._store.items():
                if (
                    key[1] != namespace
                    or key[0] not in WORKLOADS
                    or not (
                        key[0] == kind
                        and key[2] == name
                        or self._owned_by(obj, kind, namespace, name)
                    )
                ):
                    continue
                status = obj.setdefault("status", {})
                for field_name in ("readyReplicas", "availableReplicas"):
                    if field_name in status:
                        status[field_name] = (obj.get("spec") or {}).get("replicas", 1)
                for field_name in ("numberReady", "numberAvailable"):
                    if field_name in status:
                        status[field_name] = self.nodes

    def stall_requests(
        self,
        mode: str = "drip",
        *,
        method: str | None = None,
        path: str | None = None,
        interval: float = 1.0,
    ) -> None:
        """Requests (matching `method` and a `path` substring) are read and then answered
        one byte every `interval` seconds ("drip": every read of the client succeeds, so
        only a deadline for the whole request ends it) or never ("silent"). Until
        `unstall_requests` or `stop`."""
        if mode not in ("drip", "silent"):
            raise ValueError(mode)
        with self._lock:
            self._stall_requests = _Stall(mode, method, path, interval)

    def unstall_requests(self) -> None:
        with self._lock:
            self._stall_requests = None

    def fail_next(
        self,
        method: str,
        resource: str,
        name: str | None = None,
        *,
        status: int = 409,
        count: int = 1,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        with self._lock:
            self._faults.append(
                _Fault(method.upper(), resource, name, count, status, reason, message)
            )

    def clear_faults(self) -> None:
        """Forget every pending `fail_next` and `before_next`."""
        with self._lock:
            self._faults.clear()

    def before_next(
        self,
        method: str,
        resource: str,
        name: str | None,
        action: Callable[[KubeApiServer], None],
        *,
        count: int = 1,
    ) -> None:
        with self._lock:
            self._faults.append(_Fault(method.upper(), resource, name, count, action=action))

    def stall(self, kind: str, name: str, namespace: str = "default") -> None:
        """Rollouts of this workload no longer progress (its pods stay as they are)."""
        with self._lock:
            self._stalled.add((kind, namespace, name))

    def unstall(self, kind: str, name: str, namespace: str = "default") -> None:
        with self._lock:
            self._stalled.discard((kind, namespace, name))
            obj = self._store.get((kind, namespace, name))
            if obj is not None:
                self._reconcile(obj, force=True)

    # -- the store --------------------------------------------------------------------------
    def add(self, obj: dict, namespace: str | None = None) -> dict:
        """Create an object as a POST would (and run the controller)."""
        obj = copy.deepcopy(obj)
        ns = namespace or (obj.get("metadata") or {}).get("namespace") or "default"
        with self._lock:
            self.namespaces.add(ns)
            return copy.deepcopy(self._create(PLURAL[obj["kind"]], ns, obj))

    def get(self, kind: str, name: str, namespace: str = "default") -> dict | None:
        with self._lock:
            obj = self._store.get((kind, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def objects(self, kind: str, namespace: str | None = "default") -> list[dict]:
        with self._lock:
            return [
                copy.deepcopy(o)
                for (k, ns, _), o in sorted(self._store.items())
                if k == kind and (namespace is None or ns == namespace)
            ]

    def update(
        self,
        kind: str,
        name: str,
        change: Callable[[dict], None],
        namespace: str = "default",
        manager: str = "kubectl-edit",
    ) -> dict:
        """Change a stored object as another client's PUT would (new resourceVersion,
        a managedFields entry for `manager` at the server's time)."""
        with self._lock:
            obj = copy.deepcopy(self._store[(kind, namespace, name)])
            change(obj)
            obj["metadata"].pop("resourceVersion", None)
            return copy.deepcopy(self._replace(PLURAL[kind], namespace, name, obj, manager))

    def remove(self, kind: str, name: str, namespace: str = "default") -> None:
        with self._lock:
            self._store.pop((kind, namespace, name), None)

    # -- request handling -------------------------------------------------------------------
    def handle(self, req: Request, auth: str | None) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(req)
        try:
            scheme, _, presented = (auth or "").partition(" ")
            if self.token and (scheme.lower() != "bearer" or presented.strip() != self.token):
                # the scheme is case-insensitive (the in-cluster client sends "bearer")
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if req.path in ("/version", "/version/"):
                return 200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0-erlcookie-fake"}
            if req.path.rstrip("/") == SSAR_PATH:
                return self._access_review(req)
            dry_run = req.query.get("dryRun")
            if dry_run is not None and dry_run != "All":
                raise ApiError(400, "BadRequest", f'Invalid dry run value "{dry_run}"')
            m = _PATH.match(req.path)
            if m and m["plural"] == "namespaces" and not m["ns"] and not m["group"]:
                self._authorize(req.verb, "namespaces", None, m["name"])
                return self._namespace(req, m["name"])
            if (
                not m
                or m["plural"] not in RESOURCES
                or RESOURCES[m["plural"]][1] != (m["group"] or "")
            ):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            plural, ns, name = m["plural"], m["ns"], m["name"]
            if req.query.get("watch") in ("true", "1"):
                raise ApiError(400, "BadRequest", "watch is not implemented by the test server")
            if ns is None and not (req.method == "GET" and name is None):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            self._authorize(req.verb, plural, ns, name)
            with self._lock:
                self._run_faults(req.method, plural, name or _body_name(req.body))
                if dry_run is None or req.method == "GET":
                    return self._dispatch(req, plural, ns, name)
                saved = copy.deepcopy(self._store)  # validated and admitted, never stored
                try:
                    return self._dispatch(req, plural, ns, name)
                finally:
                    self._store = saved
        except ApiError as exc:
            return exc.code, exc.status()

    def _namespace(self, req: Request, name: str | None) -> tuple[int, dict]:
        """Namespaces, just enough to create and delete test namespaces (no finalizers)."""

        def obj(ns: str) -> dict:
            return {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns},
                "status": {"phase": "Active"},
            }

        with self._lock:
            if req.method == "GET" and name is None:
                return 200, {
                    "kind": "NamespaceList",
                    "apiVersion": "v1",
                    "metadata": {},
                    "items": [obj(n) for n in sorted(self.namespaces)],
                }
            if req.method == "POST" and name is None:
                new = ((req.body or {}).get("metadata") or {}).get("name")
                if not new:
                    raise ApiError(
                        422, "Invalid", "Namespace is invalid: metadata.name: Required value"
                    )
                if new in self.namespaces:
                    raise ApiError(409, "AlreadyExists", f'namespaces "{new}" already exists')
                self.namespaces.add(new)
                return 201, obj(new)
            if name not in self.namespaces:
                raise ApiError(
                    404,
                    "NotFound",
                    f'namespaces "{name}" not found',
                    {"name": name, "kind": "namespaces"},
                )
            if req.method == "GET":
                return 200, obj(name)
            if req.method == "DELETE":
                self.namespaces.discard(name)
                for key in [k for k in self._store if k[1] == name]:
                    del self._store[key]
                return 200, obj(name)
        raise ApiError(405, "MethodNotAllowed", f"{req.method} on namespaces is not supported")

    def _authorize(self, verb: str, plural: str, ns: str | None, name: str | None) -> None:
        if not self.allowed(verb, plural, ns, name):
            group = RESOURCES[plural][1] if plural in RESOURCES else ""
            raise _forbidden(self.user, verb, plural, group, ns, name)

    def _access_review(self, req: Request) -> tuple[int, dict]:
        """POST selfsubjectaccessreviews: the authorizer's answer for the caller."""
        if req.method != "POST":
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        self._authorize("create", "selfsubjectaccessreviews", None, None)
        body = req.body if isinstance(req.body, dict) else {}
        attrs = (body.get("spec") or {}).get("resourceAttributes")
        if not isinstance(attrs, dict):
            raise ApiError(
                422,
                "Invalid",
                'SelfSubjectAccessReview.authorization.k8s.io "" is '
                'invalid: spec.resourceAttributes: Invalid value: "null": exactly one '
                "of nonResourceAttributes or resourceAttributes must be specified",
            )
        with self._lock:
            self.reviews.append(dict(attrs))
        plural = attrs.get("resource") or ""
        known_group = RESOURCES[plural][1] if plural in RESOURCES else None
        allowed = known_group == (attrs.get("group") or "") and self.allowed(
            attrs.get("verb") or "",
            plural,
            attrs.get("namespace") or None,
            attrs.get("name") or None,
        )
        status = {"allowed": allowed}
        if allowed:
            status["reason"] = (
                f'RBAC: allowed by RoleBinding "erlcookie/{attrs.get("namespace")}" '
                f'of Role "erlcookie" to User "{self.user}"'
            )
        return 201, {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": {"resourceAttributes": attrs},
            "status": status,
        }

    def _run_faults(self, method: str, plural: str, name: str | None) -> None:
        for fault in list(self._faults):
            if fault.method == method and fault.resource == plural and fault.name in (None, name):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                if fault.action is not None:
                    fault.action(self)
                    continue
                kind = RESOURCES[plural][0]
                reason = fault.reason or {
                    409: "Conflict",
                    404: "NotFound",
                    403: "Forbidden",
                    500: "InternalError",
                    422: "Invalid",
                }.get(fault.status, "Unknown")
                message = fault.message or (
                    f'Operation cannot be fulfilled on {plural} "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again"
                    if fault.status == 409
                    else f"injected {fault.status} for {kind} {name}"
                )
                raise ApiError(fault.status, reason, message, {"name": name or "", "kind": plural})

    def _dispatch(
        self, req: Request, plural: str, ns: str | None, name: str | None
    ) -> tuple[int, dict]:
        kind = RESOURCES[plural][0]
        if req.method == "GET" and name is None:
            return 200, self._list(plural, ns, req.query)
        if ns not in self.namespaces and req.method == "POST":
            raise ApiError(
                404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"}
            )
        if req.method == "POST":
            if name is not None:
                raise ApiError(405, "MethodNotAllowed", "POST to an object path")
            return 201, copy.deepcopy(
                self._create(plural, ns, _require_object(req.body, kind), req.manager)
            )
        current = self._store.get((kind, ns, name))
        if current is None:
            raise ApiError(
                404,
                "NotFound",
                f'{_qualified(plural)} "{name}" not found',
                {"name": name, "kind": plural},
            )
        if req.method == "GET":
            return 200, copy.deepcopy(current)
        if req.method == "DELETE":
            del self._store[(kind, ns, name)]
            if kind in WORKLOADS:
                self._delete_owned(kind, ns, name)
            return 200, {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "kind": plural, "uid": current["metadata"]["uid"]},
            }
        if req.method == "PUT":
            body = _require_object(req.body, kind)
            if (body.get("metadata") or {}).get("name") != name:
                raise ApiError(
                    400, "BadRequest", "the name of the object does not match the name on the URL"
                )
            return 200, copy.deepcopy(self._replace(plural, ns, name, body, req.manager))
        if req.method == "PATCH":
            ctype = (req.content_type or "").split(";")[0].strip()
            if ctype == "application/json-patch+json":
                if not isinstance(req.body, list):
                    raise ApiError(400, "BadRequest", "a JSON patch is a list of operations")
                patched = json_patch(current, req.body)
            elif ctype in (
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
            ):
                if not isinstance(req.body, dict):
                    raise ApiError(400, "BadRequest", "a merge patch is an object")
                patched = merge_patch(
                    current, req.body, strategic=ctype.startswith("application/strategic")
                )
            else:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format: {ctype}",
                )
            wanted_rv = (
                (req.body.get("metadata") or {}).get("resourceVersion")
                if isinstance(req.body, dict)
                else None
            )
            if not wanted_rv:
                patched["metadata"].pop("resourceVersion", None)
            return 200, copy.deepcopy(self._replace(plural, ns, name, patched, req.manager))
        raise ApiError(405, "MethodNotAllowed", f"{req.method} is not supported")

    def _list(self, plural: str, ns: str | None, query: dict) -> dict:
        kind, group = RESOURCES[plural]
        selector = parse_selector(query.get("labelSelector", ""))
        items = [
            o
            for (k, n, _), o in sorted(self._store.items())
            if k == kind
            and (ns is None or n == ns)
            and selector.matches((o.get("metadata") or {}).get("labels") or {})
        ]
        start = int(query.get("continue") or 0)
        limit = int(query.get("limit") or 0) or len(items)
        page = items[start : start + limit]
        meta: dict[str, Any] = {"resourceVersion": str(next(self._rv))}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        out_items = []
        for o in page:
            item = copy.deepcopy(o)
            item.pop("kind", None)  # list items come without kind/apiVersion, as from a real server
            item.pop("apiVersion", None)
            out_items.append(item)
        return {
            "kind": f"{kind}List",
            "apiVersion": f"{group}/v1" if group else "v1",
            "metadata": meta,
            "items": out_items,
        }

    # -- semantics ---------------------------------------------------------------------------
    def _validate(self, kind: str, obj: dict, old: dict | None) -> None:
        name = obj["metadata"].get("name")
        if not name or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) or len(name) > 253:
            raise ApiError(
                422,
                "Invalid",
                f'{kind} "{name}" is invalid: metadata.name: Invalid value: "{name}"',
            )
        if kind != "Secret":
            return
        string_data = obj.pop("stringData", None) or {}
        data = dict(obj.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        for key, value in data.items():
            if not _SECRET_KEY.match(key):
                raise ApiError(
                    422,
                    "Invalid",
                    f'Secret "{name}" is invalid: data[{key}]: Invalid value: "{key}": '
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                )
            try:
                base64.b64decode(value or "", validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(
                    400,
                    "BadRequest",
                    f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at key {key}',
                ) from None
        obj["data"] = data
        obj.setdefault("type", "Opaque")
        if (
            old is not None
            and old.get("immutable")
            and (old.get("data") != obj.get("data") or not obj.get("immutable"))
        ):
            raise ApiError(
                422,
                "Invalid",
                f'Secret "{name}" is invalid: data: Forbidden: field is immutable when `immutable` is set',
            )

    def _stamp(self, obj: dict, old: dict | None, manager: str = "test-seed") -> dict:
        meta = obj.setdefault("metadata", {})
        now = _ts(self.now())
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now
            meta["generation"] = 1
            meta["managedFields"] = [
                {
                    "manager": manager,
                    "operation": "Update",
                    "apiVersion": obj.get("apiVersion", "v1"),
                    "time": now,
                }
            ]
        else:
            old_meta = old["metadata"]
            meta["uid"] = old_meta["uid"]
            meta["creationTimestamp"] = old_meta["creationTimestamp"]
            meta["generation"] = old_meta.get("generation", 1) + (
                obj.get("spec") != old.get("spec")
            )
            changed = {k: v for k, v in obj.items() if k not in ("metadata", "status")} != {
                k: v for k, v in old.items() if k not in ("metadata", "status")
            } or _user_meta(meta) != _user_meta(old_meta)
            meta["managedFields"] = copy.deepcopy(old_meta.get("managedFields") or [])
            if changed:
                meta["managedFields"] = [
                    m for m in meta["managedFields"] if m.get("manager") != manager
                ]
                meta["managedFields"].append(
                    {
                        "manager": manager,
                        "operation": "Update",
                        "apiVersion": obj.get("apiVersion", "v1"),
                        "time": now,
                    }
                )
        meta["resourceVersion"] = str(next(self._rv))
        return obj

    def _create(self, plural: str, ns: str, obj: dict, manager: str = "test-seed") -> dict:
        kind, group = RESOURCES[plural]
        obj = copy.deepcopy(obj)
        obj["kind"], obj["apiVersion"] = kind, f"{group}/v1" if group else "v1"
        obj.setdefault("metadata", {})["namespace"] = ns
        self._validate(kind, obj, None)
        name = obj["metadata"]["name"]
        if (kind, ns, name) in self._store:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{_qualified(plural)} "{name}" already exists',
                {"name": name, "kind": plural},
            )
        for key in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
            obj["metadata"].pop(key, None)
        self._store[(kind, ns, name)] = self._stamp(obj, None, manager)
        if kind in WORKLOADS:
            self._reconcile(self._store[(kind, ns, name)], force=True)
        return self._store[(kind, ns, name)]

    def _replace(
        self, plural: str, ns: str, name: str, obj: dict, manager: str = "test-edit"
    ) -> dict:
        kind, group = RESOURCES[plural]
        old = self._store[(kind, ns, name)]
        obj = copy.deepcopy(obj)
        obj["kind"], obj["apiVersion"] = kind, f"{group}/v1" if group else "v1"
        obj["metadata"]["namespace"] = ns
        wanted = obj["metadata"].get("resourceVersion")
        if wanted and wanted != old["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {_qualified(plural)} "{name}": the object '
                "has been modified; please apply your changes to the latest version and try again",
                {"name": name, "kind": plural},
            )
        self._validate(kind, obj, old)
        if "status" in old and kind != "Secret":
            obj["status"] = copy.deepcopy(old.get("status"))  # status is a subresource
        template_changed = _template(obj) != _template(old)
        self._store[(kind, ns, name)] = self._stamp(obj, old, manager)
        if kind in WORKLOADS and template_changed:
            self._reconcile(self._store[(kind, ns, name)], force=True)
        return self._store[(kind, ns, name)]

    # -- the controller ------------------------------------------------------------------------
    def _delete_owned(self, kind: str, ns: str, name: str) -> None:
        for key, obj in list(self._store.items()):
            for ref in obj["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == kind and ref.get("name") == name and key[1] == ns:
                    del self._store[key]
                    if key[0] in WORKLOADS:
                        self._delete_owned(key[0], ns, key[2])

    def _owned_pods(self, owner_kind: str, ns: str, owner: str) -> list[tuple]:
        return [
            key
            for key, o in self._store.items()
            if key[0] == "Pod"
            and key[1] == ns
            and any(
                r.get("kind") == owner_kind and r.get("name") == owner
                for r in o["metadata"].get("ownerReferences") or []
            )
        ]

    def _new_pod(
        self,
        owner: dict,
        name: str,
        template: dict,
        extra_labels: dict,
        pending: tuple[str, str] | None = None,
    ) -> None:
        ns = owner["metadata"]["namespace"]
        labels = {**((template.get("metadata") or {}).get("labels") or {}), **extra_labels}
        spec = copy.deepcopy(template.get("spec") or {})
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels,
                "annotations": copy.deepcopy(
                    (template.get("metadata") or {}).get("annotations") or {}
                ),
                "ownerReferences": [
                    {
                        "apiVersion": owner["apiVersion"],
                        "kind": owner["kind"],
                        "name": owner["metadata"]["name"],
                        "uid": owner["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": spec,
        }
        if not pod["metadata"]["annotations"]:
            del pod["metadata"]["annotations"]
        if pending is None:
            self._run_pod(pod)
        else:  # what the scheduler leaves on a pod it cannot place
            reason, message = pending
            pod["status"] = {
                "phase": "Pending",
                "qosClass": "BestEffort",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": reason,
                        "message": message,
                        "lastTransitionTime": _ts(self.now()),
                    }
                ],
            }
        self._store[("Pod", ns, name)] = self._stamp(pod, None, manager="kubelet")

    def _run_pod(self, pod: dict) -> None:
        """The kubelet started the pod: an IP, running containers, Ready."""
        now = _ts(self.now())
        number = next(self._ips)
        ip = f"10.244.{number // 250}.{number % 250 + 2}"
        pod["status"] = {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": now,
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": c.get("name"),
                    "ready": True,
                    "restartCount": 0,
                    "image": c.get("image"),
                    "started": True,
                    "state": {"running": {"startedAt": now}},
                }
                for c in (pod.get("spec") or {}).get("containers") or []
            ],
        }

    def _owned_by(self, obj: dict, kind: str, ns: str, name: str) -> bool:
        """Whether a workload (directly, or through its ReplicaSet) controls `obj`."""
        for ref in obj["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == kind and ref.get("name") == name:
                return True
            owner = self._store.get((ref.get("kind"), ns, ref.get("name")))
            if (
                ref.get("kind") == "ReplicaSet"
                and owner is not None
                and self._owned_by(owner, kind, ns, name)
            ):
                return True
        return False

    def _reconcile(self, obj: dict, force: bool = False) -> None:
        if not self.auto_rollout:
            return
        kind, ns, name = obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]
        meta, spec = obj["metadata"], obj.get("spec") or {}
        template = spec.get("template") or {}
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        replicas = spec.get("replicas", 1)
        waiting, reason, message = self._pending.get((kind, ns, name), (0, "", ""))
        waiting = min(waiting, replicas if kind != "DaemonSet" else self.nodes)
        pending = (waiting, (reason, message))
        ready = replicas - waiting
        if (kind, ns, name) in self._stalled:
            status = obj.setdefault("status", {})
            status["observedGeneration"] = meta["generation"]
            status["updatedReplicas"] = 0  # the new revision exists, no pod runs it
            if kind == "StatefulSet":
                status["updateRevision"] = f"{name}-{digest}"
            elif kind == "DaemonSet":
                status["updatedNumberScheduled"] = 0
            return
        if kind == "Deployment":
            rs_name = f"{name}-{digest}"
            for key, rs in list(self._store.items()):  # older ReplicaSets scale to zero
                if (
                    key[0] == "ReplicaSet"
                    and key[1] == ns
                    and key[2] != rs_name
                    and any(
                        r.get("name") == name and r.get("kind") == "Deployment"
                        for r in rs["metadata"].get("ownerReferences") or []
                    )
                ):
                    rs["spec"]["replicas"] = 0
                    rs.setdefault("status", {})["replicas"] = 0
                    for pod_key in self._owned_pods("ReplicaSet", ns, key[2]):
                        del self._store[pod_key]
            if ("ReplicaSet", ns, rs_name) not in self._store:
                rs_template = copy.deepcopy(template)
                rs_template.setdefault("metadata", {}).setdefault("labels", {})[
                    "pod-template-hash"
                ] = digest
                selector = copy.deepcopy(spec.get("selector") or {})
                selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
                rs = {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": rs_name,
                        "namespace": ns,
                        "labels": copy.deepcopy(rs_template["metadata"]["labels"]),
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "Deployment",
                                "name": name,
                                "uid": meta["uid"],
                                "controller": True,
                            }
                        ],
                    },
                    "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
                }
                self._store[("ReplicaSet", ns, rs_name)] = self._stamp(
                    rs, None, manager="kube-controller-manager"
                )
            rs = self._store[("ReplicaSet", ns, rs_name)]
            rs["spec"]["replicas"] = replicas
            self._replace_pods(
                rs,
                [f"{rs_name}-{_suffix(rs_name, i, digest)}" for i in range(replicas)],
                rs["spec"]["template"],
                {},
                pending=pending,
            )
            rs["status"] = {
                "replicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "observedGeneration": rs["metadata"]["generation"],
            }
            obj["status"] = {
                "observedGeneration": meta["generation"],
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "conditions": [
                    {"type": "Available", "status": "True"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                ],
            }
        elif kind == "StatefulSet":
            revision = f"{name}-{digest}"
            names = [f"{name}-{i}" for i in range(replicas)]
            self._replace_pods(
                obj,
                names,
                template,
                {"controller-revision-hash": revision},
                per_pod_label=True,
                pending=pending,
            )
            obj["status"] = {
                "observedGeneration": meta["generation"],
                "replicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "currentReplicas": replicas,
                "updatedReplicas": replicas,
                "currentRevision": revision,
                "updateRevision": revision,
            }
        elif kind == "DaemonSet":
            names = [f"{name}-{_suffix(name, i, digest)}" for i in range(self.nodes)]
            self._replace_pods(
                obj, names, template, {"controller-revision-hash": digest}, pending=pending
            )
            obj["status"] = {
                "observedGeneration": meta["generation"],
                "desiredNumberScheduled": self.nodes,
                "currentNumberScheduled": self.nodes,
                "updatedNumberScheduled": self.nodes,
                "numberReady": self.nodes - waiting,
                "numberAvailable": self.nodes - waiting,
            }
        elif kind == "ReplicaSet":
            if meta.get("ownerReferences"):
                return  # run by a Deployment, reconciled there
            names = [f"{name}-{_suffix(name, i, digest)}" for i in range(replicas)]
            self._replace_pods(obj, names, template, {}, pending=pending)
            obj["status"] = {
                "replicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "observedGeneration": meta["generation"],
            }
        elif kind == "Job":
            self._replace_pods(
                obj, [f"{name}-{_suffix(name, 0, digest)}"], template, {}, pending=pending
            )
            obj["status"] = {"active": 1, "startTime": _ts(self.now())}

    def _replace_pods(
        self,
        owner: dict,
        names: list[str],
        template: dict,
        extra: dict,
        per_pod_label: bool = False,
        pending: tuple[int, tuple[str, str]] = (0, ("", "")),
    ) -> None:
        ns = owner["metadata"]["namespace"]
        for key in self._owned_pods(owner["kind"], ns, owner["metadata"]["name"]):
            del self._store[key]
        waiting, why = pending
        for index, pod_name in enumerate(names):
            labels = dict(extra)
            if per_pod_label:
                labels["statefulset.kubernetes.io/pod-name"] = pod_name
            self._new_pod(
                owner,
                pod_name,
                template,
                labels,
                pending=why if index >= len(names) - waiting else None,
            )


SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def _forbidden(
    user: str, verb: str, plural: str, group: str, ns: str | None, name: str | None
) -> ApiError:
    """The authorizer's 403, with the real server's message and details."""
    qualified = f"{plural}.{group}" if group else plural
    subject = f'{qualified} "{name}"' if name else qualified
    where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
    details = {"name": name or "", "kind": plural}
    if group:
        details["group"] = group
    return ApiError(
        403,
        "Forbidden",
        f'{subject} is forbidden: User "{user}" cannot {verb} '
        f'resource "{plural}" in API group "{group}"{where}',
        details,
    )


def _suffix(base: str, index: int, digest: str) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    raw = int(hashlib.sha256(f"{base}/{index}/{digest}".encode()).hexdigest(), 16)
    return "".join(alphabet[(raw >> (5 * i)) % len(alphabet)] for i in range(5))


def _template(obj: dict) -> Any:
    spec = obj.get("spec") or {}
    return spec.get("template") if "template" in spec else (spec.get("jobTemplate") or None)


def _user_meta(meta: dict) -> dict:
    return {k: meta.get(k) for k in ("labels", "annotations", "ownerReferences", "finalizers")}


def _qualified(plural: str) -> str:
    group = RESOURCES[plural][1]
    return f"{plural}.{group}" if group else plural


def _body_name(body: Any) -> str | None:
    return (body.get("metadata") or {}).get("name") if isinstance(body, dict) else None


def _require_object(body: Any, kind: str) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise ApiError(400, "BadRequest", f"the body is not a {kind} object")
    if body.get("kind") not in (None, kind):
        raise ApiError(400, "BadRequest", f"the body's kind {body.get('kind')!r} is not {kind}")
    return body


class _Handler(BaseHTTPRequestHandler):
    api: KubeApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            status, payload = 400, ApiError(400, "BadRequest", "the body is not JSON").status()
        else:
            status, payload = self.api.handle(
                Request(
                    self.command,
                    parts.path,
                    query,
                    body,
                    self.headers.get("Content-Type"),
                    self.headers.get("User-Agent"),
                ),
                self.headers.get("Authorization"),
            )
        data = json.dumps(payload).encode()
        stall = self.api._stall_requests
        if stall is not None and stall.matches(self.command, parts.path):
            self._stall(stall, status, data)
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stall(self, stall: _Stall, status: int, data: bytes) -> None:
        """Answer one byte per interval (headers included), or not at all; bounded by the
        server's life and five minutes."""
        stopping = self.api._stopping
        self.close_connection = True
        if stall.mode == "silent":
            stopping.wait(300)
            return
        head = (
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        ).encode()
        for index, byte in enumerate(head + data):
            if index and stopping.wait(stall.interval) or index * stall.interval > 300:
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                return  # the client gave up

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
