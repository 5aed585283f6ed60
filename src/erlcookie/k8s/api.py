"""A small adapter over the official `kubernetes` client: the only module that imports it.

The client loads the kubeconfig (contexts, exec plugins, token refresh, TLS) and sends
the requests (`ApiClient.param_serialize` + `call_api`, which is what its generated
methods do); we name the REST paths ourselves instead of going through the generated
`CoreV1Api`/`AppsV1Api` classes, whose import builds some 250 pydantic models and costs
about a second of CPU per command. Bodies go out and come back as plain dicts shaped
exactly like the API's JSON (camelCase, as `kubectl get -o json` shows), so the analysis
code never depends on model classes and unknown fields survive a read-modify-write. Errors
come out as `KubeError`s (exit 3) whose messages name what failed; a 403 names the missing
permission (verb, resource, namespace) and the `kubectl create role` line that grants it.
No message carries a Secret's data.

`timeout` is a deadline for each request as a whole (connecting, the client's retry,
reading the answer): a server that sends one byte a second cannot stretch it, since each
request runs in a worker thread that is abandoned when the deadline passes.

Used by `k8s secret --apply`, `k8s status` and the rotation command:

    api = KubeApi.connect(context="prod", namespace="chat")
    secret = api.get_secret("erlang-cookie")            # dict or None
    api.edit_secret("erlang-cookie", decide)            # JSON patch testing what was read
    api.missing_permissions([("patch", "Secret", "erlang-cookie")])  # SelfSubjectAccessReview
    api.rollout_restart("StatefulSet", "chat")
    api.wait_rollout("StatefulSet", "chat", timeout=600)
    pods = api.list_pods("app=chat")                    # with env, IPs, container status
"""

from __future__ import annotations

import copy
import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from erlcookie.errors import OperationalError, UsageError
from erlcookie.k8s.manifests import FIELD_MANAGER

DEFAULT_TIMEOUT = 15.0  # seconds for one request, retries included
LIST_PAGE = 500
# Where Kubernetes mounts a pod's service-account token, CA and namespace; the variable
# points elsewhere (a projected volume at another path, tests).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SERVICE_ACCOUNT_DIR_ENV = "ERLCOOKIE_SERVICE_ACCOUNT_DIR"
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


@dataclass(frozen=True)
class Resource:
    kind: str
    plural: str
    group: str  # "" for the core group

    @property
    def api_version(self) -> str:
        return f"{self.group}/v1" if self.group else "v1"

    def path(self, namespace: str, name: str | None = None) -> str:
        from urllib.parse import quote

        base = f"/apis/{self.group}/v1" if self.group else "/api/v1"
        path = f"{base}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{path}/{quote(name, safe='')}" if name is not None else path


RESOURCES: dict[str, Resource] = {
    r.kind: r
    for r in (
        Resource("Secret", "secrets", ""),
        Resource("ConfigMap", "configmaps", ""),
        Resource("Pod", "pods", ""),
        Resource("Deployment", "deployments", "apps"),
        Resource("StatefulSet", "statefulsets", "apps"),
        Resource("DaemonSet", "daemonsets", "apps"),
        Resource("ReplicaSet", "replicasets", "apps"),
        Resource("Job", "jobs", "batch"),
        Resource("CronJob", "cronjobs", "batch"),
    )
}
LIVE_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
ROLLOUT_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


class KubeError(OperationalError):
    """The API refused or could not be reached (exit 3)."""


class PermissionDenied(KubeError):
    def __init__(
        self,
        verb: str,
        resource: Resource,
        namespace: str,
        name: str | None,
        server_message: str | None,
    ):
        self.verb, self.resource, self.namespace, self.name = verb, resource, namespace, name
        group = f'"{resource.group}"' if resource.group else '"" (core)'
        what = f"{resource.plural}" + (f" {name!r}" if name else "")
        grant = (
            f"kubectl create role erlcookie --verb={verb} --resource={resource.plural}"
            f"{'.' + resource.group if resource.group else ''} -n {namespace}"
        )
        text = (
            f"permission denied (HTTP 403): cannot {verb} {what} in namespace {namespace!r} "
            f"(API group {group}). The identity needs the '{verb}' verb on '{resource.plural}' "
            f"in that namespace, e.g.: {grant}"
        )
        if server_message:
            text += f". The server said: {server_message}"
        super().__init__(text)


class NotFound(KubeError):
    pass


class MissingPermissions(KubeError):
    """Found before acting (access reviews): what the identity may not do, and why we ask."""

    def __init__(self, missing: list[str], namespace: str, purpose: str):
        self.missing = missing
        super().__init__(
            f"missing permission in namespace {namespace!r} {purpose}: "
            f"{'; '.join(missing)}. Nothing was changed. `erlcookie k8s rbac` "
            "prints a Role that grants what each command needs"
        )


class Conflict(KubeError):
    """409: `reason` is "AlreadyExists" (create) or "Conflict" (stale resourceVersion)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class Invalid(KubeError):
    pass


class Timeout(KubeError):
    """No complete answer within the request's deadline."""


class SecretChanged(Conflict):
    """A value a JSON patch tested was changed by someone else (the server's 422)."""

    def __init__(self, message: str):
        super().__init__(message, "Changed")


@dataclass
class SecretEdit:
    """What to change in a Secret, decided on the copy that was read: `data` keys to set
    (base64) or to remove (None), annotations to set. Written as a JSON patch that first
    tests every key it touches against the value read, so writes to anything else (labels,
    other keys) never conflict with it, and a change to those keys is never overwritten."""

    data: dict[str, str | None]
    annotations: dict[str, str] = field(default_factory=dict)

    def patch(self, live: dict) -> list[dict]:
        ops: list[dict] = []
        data = live.get("data")
        if data is None:
            data = {}
            if any(v is not None for v in self.data.values()):
                ops.append({"op": "add", "path": "/data", "value": {}})
        for key, value in self.data.items():
            path = "/data/" + _pointer(key)
            if key in data:
                ops.append({"op": "test", "path": path, "value": data[key]})
                if data[key] != value:
                    ops.append(
                        {"op": "remove", "path": path}
                        if value is None
                        else {"op": "replace", "path": path, "value": value}
                    )
            elif value is not None:
                ops.append({"op": "add", "path": path, "value": value})
        annotations = (live.get("metadata") or {}).get("annotations")
        if self.annotations and annotations is None:
            ops.append(
                {"op": "add", "path": "/metadata/annotations", "value": dict(self.annotations)}
            )
        else:
            for key, value in self.annotations.items():
                if (annotations or {}).get(key) != value:
                    ops.append(
                        {
                            "op": "add",
                            "path": "/metadata/annotations/" + _pointer(key),
                            "value": value,
                        }
                    )
        return ops if any(op["op"] != "test" for op in ops) else []


def _pointer(key: str) -> str:
    """A JSON Pointer reference token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _status_message(exc) -> tuple[str | None, str | None]:
    """(message, reason) from a metav1.Status body, if the server sent one."""
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return None, None
    if not isinstance(body, dict):
        return None, None
    return body.get("message"), body.get("reason")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kubeconfig_paths(explicit: str | None) -> list[str]:
    if explicit:
        return [os.path.expanduser(explicit)]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


class KubeApi:
    """One namespace of one cluster, reached through the official client."""

    def __init__(
        self, api_client: Any, namespace: str, *, timeout: float = DEFAULT_TIMEOUT, origin: str = ""
    ):
        self.api_client = api_client
        self.namespace = namespace
        self.timeout = timeout
        self.origin = origin  # "context prod at https://..." for messages

    # -- connecting -----------------------------------------------------------------------
    @classmethod
    def connect(
        cls,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        namespace: str | None = None,
        in_cluster: bool | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> KubeApi:
        """Kubeconfig (`--kubeconfig`, $KUBECONFIG, ~/.kube/config) with `--context`, or the
        pod's service account when in a cluster. Namespace: `-n`, else the context's, else
        the service account's, else "default"."""
        from kubernetes import config
        from kubernetes.client.api_client import ApiClient
        from kubernetes.client.configuration import Configuration
        from kubernetes.config.config_exception import ConfigException

        cfg = Configuration()
        paths = _kubeconfig_paths(kubeconfig)
        if kubeconfig and not os.path.isfile(paths[0]):
            raise UsageError(f"--kubeconfig {kubeconfig}: no such file")
        have_kubeconfig = any(os.path.isfile(p) for p in paths)
        if in_cluster is None:
            in_cluster = (
                not have_kubeconfig
                and not context
                and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
            )
        if in_cluster:
            if kubeconfig or context:
                raise UsageError("--in-cluster does not take --kubeconfig or --context")
            from kubernetes.config.incluster_config import InClusterConfigLoader

            account = os.environ.get(SERVICE_ACCOUNT_DIR_ENV) or SERVICE_ACCOUNT_DIR
            try:
                InClusterConfigLoader(
                    token_filename=os.path.join(account, "token"),
                    cert_filename=os.path.join(account, "ca.crt"),
                    try_refresh_token=True,
                ).load_and_set(cfg)
            except ConfigException as exc:
                raise KubeError(f"in-cluster configuration unavailable: {exc}") from None
            except OSError as exc:
                raise KubeError(
                    f"in-cluster configuration unavailable: cannot read "
                    f"{exc.filename}: {exc.strerror}"
                ) from None
            if namespace is None:
                try:
                    with open(os.path.join(account, "namespace"), encoding="utf-8") as handle:
                        namespace = handle.read().strip() or None
                except OSError:
                    namespace = None
            origin = f"in-cluster service account at {cfg.host}"
        else:
            if not have_kubeconfig:
                raise KubeError(
                    "no kubeconfig found (looked at "
                    f"{', '.join(paths)}) and not running in a cluster; give "
                    "--kubeconfig, set KUBECONFIG, or use --in-cluster in a pod"
                )
            # always explicit: the client reads $KUBECONFIG once, when it is first imported
            file_arg = os.pathsep.join(p for p in paths if os.path.isfile(p))
            try:
                contexts, active = config.list_kube_config_contexts(config_file=file_arg)
            except ConfigException as exc:
                raise KubeError(f"cannot read the kubeconfig: {exc}") from None
            except Exception as exc:  # a YAML error in the file
                raise KubeError(f"cannot read the kubeconfig: {type(exc).__name__}") from None
            names = [c.get("name") for c in contexts or []]
            if context is not None and context not in names:
                raise UsageError(
                    f"--context {context!r} is not in the kubeconfig "
                    f"(it has: {', '.join(map(str, names)) or 'none'})"
                )
            chosen_name = context or (active or {}).get("name")
            chosen = next((c for c in contexts if c.get("name") == chosen_name), None)
            try:
                config.load_kube_config(
                    config_file=file_arg,
                    context=context,
                    client_configuration=cfg,
                    persist_config=False,
                )
            except ConfigException as exc:
                raise KubeError(f"kubeconfig context {chosen_name!r}: {exc}") from None
            if namespace is None and chosen:
                namespace = (chosen.get("context") or {}).get("namespace")
            origin = f"context {chosen_name!r} at {cfg.host}"
        cfg.retries = 1  # within the request's deadline
        _check_readable(cfg)
        from erlcookie.k8s.manifests import check_namespace

        namespace = check_namespace(namespace or "default")
        api_client = ApiClient(cfg)
        from erlcookie import __version__

        api_client.user_agent = f"erlcookie/{__version__}"
        return cls(api_client, namespace, timeout=timeout, origin=origin)

    def close(self) -> None:
        self.api_client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _request(
        self,
        verb: str,
        kind: str,
        name: str | None,
        method: str,
        *,
        query: dict | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request on `kind` (and object `name`); the response's JSON; every failure
        translated. `verb` is the RBAC verb, for messages."""
        resource = RESOURCES[kind]
        path = resource.path(self.namespace, name if verb not in ("create", "list") else None)
        return self._call(
            verb, resource, name, method, path, query=query, body=body, content_type=content_type
        )

    def _call(
        self,
        verb: str,
        resource: Resource | None,
        name: str | None,
        method: str,
        path: str,
        *,
        query: dict | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send one request under the deadline: the work runs in a daemon thread that is
        left behind (and ends with the process) if the server does not answer in time."""
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["value"] = self._send(
                    verb,
                    resource,
                    name,
                    method,
                    path,
                    query=query,
                    body=body,
                    content_type=content_type,
                )
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=work, name="kube-request", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            what = resource.plural if resource else path
            raise Timeout(
                f"the Kubernetes API ({self.origin}) gave no complete answer to "
                f"{verb} {what} within {self.timeout:g}s (--request-timeout)"
            )
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _send(
        self,
        verb: str,
        resource: Resource | None,
        name: str | None,
        method: str,
        path: str,
        *,
        query: dict | None,
        body: Any,
        content_type: str,
    ) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        try:
            request = self.api_client.param_serialize(
                method=method,
                resource_path=path,
                query_params=params,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(*request, _request_timeout=self.timeout)
            raw = response.read()
            if not 200 <= response.status <= 299:
                raise ApiException.from_response(http_resp=response, body=None, data=None)
        except ApiException as exc:
            raise self._translate(exc, verb, resource, name) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeError(
                f"cannot reach the Kubernetes API ({self.origin}): "
                f"{type(exc).__name__}: {_short(exc)}"
            ) from None
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            what = resource.plural if resource else path
            raise KubeError(f"{verb} {what}: the API answered something that is not JSON") from None

    def _translate(self, exc, verb: str, resource: Resource | None, name: str | None) -> KubeError:
        message, reason = _status_message(exc)
        if resource is None:
            resource = Resource(
                "SelfSubjectAccessReview", "selfsubjectaccessreviews", "authorization.k8s.io"
            )
        what = f"{resource.kind} {name!r}" if name else resource.plural
        if exc.status == 403:
            return PermissionDenied(verb, resource, self.namespace, name, message)
        if exc.status == 401:
            return KubeError(
                f"the API server rejected the credentials (HTTP 401) of {self.origin}: "
                "log in again or check the kubeconfig user"
            )
        if exc.status == 404:
            return NotFound(message or f"{what} not found in namespace {self.namespace!r}")
        if exc.status == 409:
            return Conflict(message or f"conflict on {what}", reason or "Conflict")
        if exc.status == 422:
            return Invalid(f"the API server refused {what}: {message or 'invalid'}")
        if not exc.status:
            return KubeError(f"cannot reach the Kubernetes API ({self.origin}): {exc.reason}")
        return KubeError(
            f"cannot {verb} {what} in namespace {self.namespace!r}: HTTP "
            f"{exc.status} {message or exc.reason or ''}".rstrip()
        )

    # -- generic reads ----------------------------------------------------------------------
    def get(self, kind: str, name: str) -> dict | None:
        """The object, or None when it does not exist."""
        try:
            obj = self._request("get", kind, name, "GET")
        except NotFound:
            return None
        return _typed(obj, kind)

    def list(self, kind: str, selector: str | None = None) -> list[dict]:
        """All objects of `kind` in the namespace matching a label selector (paged)."""
        items: list[dict] = []
        token = None
        while True:
            page = self._request(
                "list",
                kind,
                None,
                "GET",
                query={"labelSelector": selector or None, "limit": LIST_PAGE, "continue": token},
            )
            items.extend(_typed(item, kind) for item in page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    # -- Secrets ----------------------------------------------------------------------------
    def get_secret(self, name: str) -> dict | None:
        return self.get("Secret", name)

    def create_secret(self, body: dict) -> dict:
        """POST; a Conflict with reason AlreadyExists means someone else created it first."""
        body = {**body, "metadata": {**body.get("metadata", {}), "namespace": self.namespace}}
        return self._request(
            "create",
            "Secret",
            body["metadata"].get("name"),
            "POST",
            query={"fieldManager": FIELD_MANAGER},
            body=body,
        )

    def replace_secret(self, body: dict) -> dict:
        """PUT; with `metadata.resourceVersion` set, a concurrent change makes it a Conflict."""
        name = body["metadata"]["name"]
        body = {**body, "metadata": {**body["metadata"], "namespace": self.namespace}}
        return self._request(
            "update", "Secret", name, "PUT", query={"fieldManager": FIELD_MANAGER}, body=body
        )

    def patch_secret(self, name: str, patch: dict) -> dict:
        """JSON merge patch (RFC 7386)."""
        return self._request(
            "patch",
            "Secret",
            name,
            "PATCH",
            query={"fieldManager": FIELD_MANAGER},
            body=patch,
            content_type="application/merge-patch+json",
        )

    def delete_secret(self, name: str) -> bool:
        try:
            self._request("delete", "Secret", name, "DELETE")
        except NotFound:
            return False
        return True

    def patch_secret_json(self, name: str, ops: list[dict], *, dry_run: bool = False) -> dict:
        """JSON patch (RFC 6902). A failed `test` is the server's 422: raised as
        SecretChanged when a tested value really differs now, else as Invalid."""
        query = {"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None}
        try:
            return self._request(
                "patch",
                "Secret",
                name,
                "PATCH",
                query=query,
                body=ops,
                content_type="application/json-patch+json",
            )
        except Invalid:
            tests = [op for op in ops if op["op"] == "test"]
            live = self.get_secret(name) if tests else None
            if live is not None and any(_at(live, op["path"]) != op["value"] for op in tests):
                raise SecretChanged(f"Secret {name!r} changed since it was read") from None
            raise

    def edit_secret(
        self,
        name: str,
        decide: Callable[[dict], SecretEdit | None],
        *,
        deadline: float | None = None,
        backoff: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> tuple[dict, int]:
        """Read, `decide(copy_of_live)` what to change (None: nothing), write it as a JSON
        patch that tests the keys it touches. When those keys changed meanwhile (or the
        server answers 409), read and decide again, with jittered exponential backoff, for
        at most `deadline` seconds (default: twice the request timeout, 30 s). Returns (the
        Secret after, conflicts seen); NotFound if it does not exist."""
        deadline = 2 * self.timeout if deadline is None else deadline
        conflicts = 0
        give_up = time.monotonic() + deadline
        while True:
            live = self.get_secret(name)
            if live is None:
                raise NotFound(f"Secret {name!r} not found in namespace {self.namespace!r}")
            edit = decide(copy.deepcopy(live))
            ops = edit.patch(live) if edit is not None else []
            if not ops:
                return live, conflicts
            try:
                return self.patch_secret_json(name, ops), conflicts
            except Conflict as exc:
                if exc.reason == "AlreadyExists":
                    raise
                conflicts += 1
            delay = min(backoff * 2 ** min(conflicts, 10), 2.0) * random.uniform(0.5, 1.0)
            if time.monotonic() + delay > give_up:
                raise KubeError(
                    f"Secret {name!r}: the keys erlcookie writes kept changing under "
                    f"it; gave up after {conflicts} conflicting writes in "
                    f"{deadline:g}s"
                )
            sleep(delay)

    def get_configmap(self, name: str) -> dict | None:
        return self.get("ConfigMap", name)

    # -- the namespace and permissions ----------------------------------------------------------
    def namespace_exists(self) -> bool | None:
        """True/False, or None when we may not ask (namespaces are cluster-scoped: a
        namespaced Role cannot grant `get` on them)."""
        from urllib.parse import quote

        try:
            self._call(
                "get",
                Resource("Namespace", "namespaces", ""),
                self.namespace,
                "GET",
                f"/api/v1/namespaces/{quote(self.namespace, safe='')}",
            )
        except NotFound:
            return False
        except PermissionDenied:
            return None
        return True

    def can(self, verb: str, kind: str, name: str | None = None) -> bool | None:
        """A SelfSubjectAccessReview: may we `verb` this (object)? None when the review
        itself is refused or not served."""
        resource = RESOURCES[kind]
        attrs = {
            "namespace": self.namespace,
            "verb": verb,
            "group": resource.group,
            "resource": resource.plural,
        }
        if name:
            attrs["name"] = name
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        }
        try:
            review = self._call("create", None, None, "POST", SSAR_PATH, body=body)
        except (PermissionDenied, NotFound):
            return None
        return bool((review.get("status") or {}).get("allowed"))

    def missing_permissions(self, needs: list[tuple[str, str, str | None]]) -> list[str]:
        """Which of (verb, kind, name) the identity may not do, as "verb resource 'name'"
        texts; asks SelfSubjectAccessReviews, else tries the reads and dry-runs the patches."""
        missing = []
        for verb, kind, name in needs:
            allowed = self.can(verb, kind, name)
            if allowed is None:
                allowed = self._probe(verb, kind, name)
            if not allowed:
                resource = RESOURCES[kind]
                plural = resource.plural + (f".{resource.group}" if resource.group else "")
                missing.append(f"{verb} {plural}" + (f" {name!r}" if name else ""))
        return missing

    def _probe(self, verb: str, kind: str, name: str | None) -> bool:
        """Without access reviews: do the read, or a dry run of a no-op patch."""
        try:
            if verb == "get" and name:
                self.get(kind, name)
            elif verb == "list":
                self._request("list", kind, None, "GET", query={"limit": 1})
            elif verb == "patch" and name:
                self._request(
                    "patch",
                    kind,
                    name,
                    "PATCH",
                    query={"dryRun": "All"},
                    body=[{"op": "test", "path": "/metadata/name", "value": name}],
                    content_type="application/json-patch+json",
                )
            else:
                return True  # no safe probe: the run will tell
        except PermissionDenied:
            return False
        except NotFound:
            return True  # allowed; the object's absence is checked elsewhere
        return True

    # -- workloads and pods -----------------------------------------------------------------
    def list_pods(self, selector: str | None = None) -> list[dict]:
        return self.list("Pod", selector)

    def list_workloads(
        self, selector: str | None = None, kinds: tuple[str, ...] = LIVE_WORKLOAD_KINDS
    ) -> list[dict]:
        out: list[dict] = []
        for kind in kinds:
            out.extend(self.list(kind, selector))
        return out

    def get_workload(self, kind: str, name: str) -> dict | None:
        _check_kind(kind, LIVE_WORKLOAD_KINDS)
        return self.get(kind, name)

    def patch_workload(self, kind: str, name: str, patch: dict) -> dict:
        """Strategic merge patch of a workload."""
        _check_kind(kind, LIVE_WORKLOAD_KINDS)
        return _typed(
            self._request(
                "patch",
                kind,
                name,
                "PATCH",
                query={"fieldManager": FIELD_MANAGER},
                body=patch,
                content_type="application/strategic-merge-patch+json",
            ),
            kind,
        )

    def rollout_restart(self, kind: str, name: str, at: str | None = None) -> dict:
        """What `kubectl rollout restart` does: stamp the pod template so every pod is
        replaced by the workload's own update strategy."""
        _check_kind(kind, ROLLOUT_KINDS)
        patch = {
            "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at or now_rfc3339()}}}}
        }
        return self.patch_workload(kind, name, patch)

    def restart_stamp(self, kind: str, name: str) -> str | None:
        """The restartedAt annotation of the workload's pod template (None: never stamped)."""
        obj = self.get_workload(kind, name) or {}
        template = (obj.get("spec") or {}).get("template") or {}
        return ((template.get("metadata") or {}).get("annotations") or {}).get(RESTARTED_AT)

    def wait_rollout(
        self,
        kind: str,
        name: str,
        *,
        timeout: float = 600.0,
        poll: float = 1.0,
        progress: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> dict:
        """Poll until the rollout is complete (`kubectl rollout status` rules); KubeError on
        timeout or when the controller reports that it cannot progress."""
        from erlcookie.k8s.rollout import rollout_state

        _check_kind(kind, ROLLOUT_KINDS)
        deadline = clock() + timeout
        last = None
        while True:
            obj = self.get(kind, name)
            if obj is None:
                raise NotFound(f"{kind} {name!r} disappeared from namespace {self.namespace!r}")
            state = rollout_state(obj)
            if state.message != last and progress is not None:
                progress(state.message)
            last = state.message
            if state.failed:
                raise KubeError(f"{kind} {name!r}: rollout failed: {state.message}")
            if state.done:
                return obj
            if clock() >= deadline:
                raise KubeError(
                    f"{kind} {name!r}: rollout not complete after {timeout:g}s: {state.message}"
                )
            sleep(poll)


def _at(obj: Any, pointer: str) -> Any:
    """The value at a JSON Pointer, or a marker when there is none."""
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(obj, dict) and token in obj:
            obj = obj[token]
        else:
            return _ABSENT
    return obj


_ABSENT = object()


def _check_readable(cfg: Any) -> None:
    """The CA, client certificate and key the configuration names must be readable: the
    client would only fail at the first request, as if the server were unreachable."""
    for label, path in (
        ("cluster CA file", cfg.ssl_ca_cert),
        ("client certificate", cfg.cert_file),
        ("client key", cfg.key_file),
    ):
        if not path:
            continue
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise KubeError(
                f"cannot read the {label} {path}: {exc.strerror or type(exc).__name__}"
            ) from None


def _check_kind(kind: str, allowed: tuple[str, ...]) -> None:
    if kind not in allowed:
        raise UsageError(f"kind {kind!r} is not supported here (use one of {', '.join(allowed)})")


def _typed(obj: dict, kind: str) -> dict:
    """List items come without kind/apiVersion; put them back so objects describe themselves."""
    if isinstance(obj, dict):
        obj.setdefault("kind", kind)
        obj.setdefault("apiVersion", RESOURCES[kind].api_version)
    return obj


def _short(exc: BaseException) -> str:
    text = str(exc)
    reason = getattr(exc, "reason", None)
    if reason is not None:
        text = str(reason)
    return text[:200]
