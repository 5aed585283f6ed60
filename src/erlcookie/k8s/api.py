"""A small adapter over the official `kubernetes` client: the only module that imports it.

The client loads the kubeconfig (contexts, exec plugins, token refresh, TLS) and sends
the requests (`ApiClient.param_serialize` + `call_api`, which is what its generated
methods do); we name the REST paths ourselves instead of going through the generated
`CoreV1Api`/`AppsV1Api` classes, whose import builds some 250 pydantic models and costs
about a second of CPU per command. Bodies go out and come back as plain dicts shaped
exactly like the API's JSON (camelCase, as `kubectl get -o json` shows), so the analysis
code never depends on model classes and unknown fields survive a read-modify-write. Errors come out as `KubeError`s (exit 3)
whose messages name what failed; a 403 names the missing permission (verb, resource,
namespace) and the `kubectl create role` line that grants it. No message carries a
Secret's data.

Used by `k8s secret --apply`, `k8s status` and the rotation command:

    api = KubeApi.connect(context="prod", namespace="chat")
    secret = api.get_secret("erlang-cookie")            # dict or None
    api.update_secret("erlang-cookie", mutate)          # read-modify-write, retried on 409
    api.rollout_restart("StatefulSet", "chat")
    api.wait_rollout("StatefulSet", "chat", timeout=600)
    pods = api.list_pods("app=chat")                    # with env, IPs, container status
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from erlcookie.errors import OperationalError, UsageError
from erlcookie.k8s.manifests import FIELD_MANAGER

DEFAULT_TIMEOUT = 15.0  # seconds for one request
LIST_PAGE = 500
INCLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
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


RESOURCES: dict[str, Resource] = {r.kind: r for r in (
    Resource("Secret", "secrets", ""),
    Resource("ConfigMap", "configmaps", ""),
    Resource("Pod", "pods", ""),
    Resource("Deployment", "deployments", "apps"),
    Resource("StatefulSet", "statefulsets", "apps"),
    Resource("DaemonSet", "daemonsets", "apps"),
    Resource("ReplicaSet", "replicasets", "apps"),
    Resource("Job", "jobs", "batch"),
    Resource("CronJob", "cronjobs", "batch"),
)}
LIVE_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
ROLLOUT_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


class KubeError(OperationalError):
    """The API refused or could not be reached (exit 3)."""


class PermissionDenied(KubeError):
    def __init__(self, verb: str, resource: Resource, namespace: str, name: str | None,
                 server_message: str | None):
        self.verb, self.resource, self.namespace, self.name = verb, resource, namespace, name
        group = f'"{resource.group}"' if resource.group else '"" (core)'
        what = f"{resource.plural}" + (f" {name!r}" if name else "")
        grant = (f"kubectl create role erlcookie --verb={verb} --resource={resource.plural}"
                 f"{'.' + resource.group if resource.group else ''} -n {namespace}")
        text = (f"permission denied (HTTP 403): cannot {verb} {what} in namespace {namespace!r} "
                f"(API group {group}). The identity needs the '{verb}' verb on '{resource.plural}' "
                f"in that namespace, e.g.: {grant}")
        if server_message:
            text += f". The server said: {server_message}"
        super().__init__(text)


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    """409: `reason` is "AlreadyExists" (create) or "Conflict" (stale resourceVersion)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class Invalid(KubeError):
    pass


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
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kubeconfig_paths(explicit: str | None) -> list[str]:
    if explicit:
        return [os.path.expanduser(explicit)]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


class KubeApi:
    """One namespace of one cluster, reached through the official client."""

    def __init__(self, api_client: Any, namespace: str, *, timeout: float = DEFAULT_TIMEOUT,
                 origin: str = ""):
        self.api_client = api_client
        self.namespace = namespace
        self.timeout = timeout
        self.origin = origin  # "context prod at https://..." for messages

    # -- connecting -----------------------------------------------------------------------
    @classmethod
    def connect(cls, *, kubeconfig: str | None = None, context: str | None = None,
                namespace: str | None = None, in_cluster: bool | None = None,
                timeout: float = DEFAULT_TIMEOUT) -> "KubeApi":
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
            in_cluster = not have_kubeconfig and not context and \
                bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        if in_cluster:
            if kubeconfig or context:
                raise UsageError("--in-cluster does not take --kubeconfig or --context")
            try:
                config.load_incluster_config(client_configuration=cfg)
            except ConfigException as exc:
                raise KubeError(f"in-cluster configuration unavailable: {exc}") from None
            if namespace is None:
                try:
                    with open(INCLUSTER_NAMESPACE_FILE, encoding="utf-8") as handle:
                        namespace = handle.read().strip() or None
                except OSError:
                    namespace = None
            origin = f"in-cluster service account at {cfg.host}"
        else:
            if not have_kubeconfig:
                raise KubeError("no kubeconfig found (looked at "
                                f"{', '.join(paths)}) and not running in a cluster; give "
                                "--kubeconfig, set KUBECONFIG, or use --in-cluster in a pod")
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
                raise UsageError(f"--context {context!r} is not in the kubeconfig "
                                 f"(it has: {', '.join(map(str, names)) or 'none'})")
            chosen_name = context or (active or {}).get("name")
            chosen = next((c for c in contexts if c.get("name") == chosen_name), None)
            try:
                config.load_kube_config(config_file=file_arg, context=context,
                                        client_configuration=cfg, persist_config=False)
            except ConfigException as exc:
                raise KubeError(f"kubeconfig context {chosen_name!r}: {exc}") from None
            if namespace is None and chosen:
                namespace = (chosen.get("context") or {}).get("namespace")
            origin = f"context {chosen_name!r} at {cfg.host}"
        cfg.retries = 1
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
    def _request(self, verb: str, kind: str, name: str | None, method: str, *,
                 query: dict | None = None, body: Any = None,
                 content_type: str = "application/json") -> Any:
        """One request on `kind` (and object `name`); the response's JSON; every failure
        translated. `verb` is the RBAC verb, for messages."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        resource = RESOURCES[kind]
        path = resource.path(self.namespace, name if verb not in ("create", "list") else None)
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        try:
            request = self.api_client.param_serialize(
                method=method, resource_path=path, query_params=params, header_params=headers,
                body=body, auth_settings=["BearerToken"])
            response = self.api_client.call_api(*request, _request_timeout=self.timeout)
            raw = response.read()
            if not 200 <= response.status <= 299:
                raise ApiException.from_response(http_resp=response, body=None, data=None)
        except ApiException as exc:
            raise self._translate(exc, verb, resource, name) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeError(f"cannot reach the Kubernetes API ({self.origin}): "
                            f"{type(exc).__name__}: {_short(exc)}") from None
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise KubeError(f"{verb} {resource.plural}: the API answered something that is not "
                            "JSON") from None

    def _translate(self, exc, verb: str, resource: Resource, name: str | None) -> KubeError:
        message, reason = _status_message(exc)
        what = f"{resource.kind} {name!r}" if name else resource.plural
        if exc.status == 403:
            return PermissionDenied(verb, resource, self.namespace, name, message)
        if exc.status == 401:
            return KubeError(f"the API server rejected the credentials (HTTP 401) of {self.origin}: "
                             "log in again or check the kubeconfig user")
        if exc.status == 404:
            return NotFound(message or f"{what} not found in namespace {self.namespace!r}")
        if exc.status == 409:
            return Conflict(message or f"conflict on {what}", reason or "Conflict")
        if exc.status == 422:
            return Invalid(f"the API server refused {what}: {message or 'invalid'}")
        if not exc.status:
            return KubeError(f"cannot reach the Kubernetes API ({self.origin}): {exc.reason}")
        return KubeError(f"cannot {verb} {what} in namespace {self.namespace!r}: HTTP "
                         f"{exc.status} {message or exc.reason or ''}".rstrip())

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
            page = self._request("list", kind, None, "GET", query={
                "labelSelector": selector or None, "limit": LIST_PAGE, "continue": token})
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
        return self._request("create", "Secret", body["metadata"].get("name"), "POST",
                             query={"fieldManager": FIELD_MANAGER}, body=body)

    def replace_secret(self, body: dict) -> dict:
        """PUT; with `metadata.resourceVersion` set, a concurrent change makes it a Conflict."""
        name = body["metadata"]["name"]
        body = {**body, "metadata": {**body["metadata"], "namespace": self.namespace}}
        return self._request("update", "Secret", name, "PUT",
                             query={"fieldManager": FIELD_MANAGER}, body=body)

    def patch_secret(self, name: str, patch: dict) -> dict:
        """JSON merge patch (RFC 7386)."""
        return self._request("patch", "Secret", name, "PATCH", query={"fieldManager": FIELD_MANAGER},
                             body=patch, content_type="application/merge-patch+json")

    def delete_secret(self, name: str) -> bool:
        try:
            self._request("delete", "Secret", name, "DELETE")
        except NotFound:
            return False
        return True

    def update_secret(self, name: str, mutate: Callable[[dict], dict | None], *,
                      attempts: int = 5, backoff: float = 0.05) -> tuple[dict | None, int]:
        """Optimistic read-modify-write: `mutate(copy_of_live)` returns the new object (or
        None for "no change"); a 409 from a concurrent writer re-reads and calls it again.
        Returns (result, conflicts seen). NotFound if the Secret does not exist."""
        conflicts = 0
        for attempt in range(attempts):
            live = self.get_secret(name)
            if live is None:
                raise NotFound(f"Secret {name!r} not found in namespace {self.namespace!r}")
            wanted = mutate(copy.deepcopy(live))
            if wanted is None:
                return live, conflicts
            wanted.setdefault("metadata", {})["resourceVersion"] = \
                live["metadata"].get("resourceVersion")
            try:
                return self.replace_secret(wanted), conflicts
            except Conflict:
                conflicts += 1
                time.sleep(backoff * (2 ** attempt))
        raise KubeError(f"Secret {name!r} kept changing under us: gave up after {attempts} "
                        "conflicting updates (HTTP 409)")

    def get_configmap(self, name: str) -> dict | None:
        return self.get("ConfigMap", name)

    # -- workloads and pods -----------------------------------------------------------------
    def list_pods(self, selector: str | None = None) -> list[dict]:
        return self.list("Pod", selector)

    def list_workloads(self, selector: str | None = None,
                       kinds: tuple[str, ...] = LIVE_WORKLOAD_KINDS) -> list[dict]:
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
        return _typed(self._request("patch", kind, name, "PATCH", query={"fieldManager": FIELD_MANAGER},
                                    body=patch, content_type="application/strategic-merge-patch+json"),
                      kind)

    def rollout_restart(self, kind: str, name: str, at: str | None = None) -> dict:
        """What `kubectl rollout restart` does: stamp the pod template so every pod is
        replaced by the workload's own update strategy."""
        _check_kind(kind, ROLLOUT_KINDS)
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at or now_rfc3339()}}}}}
        return self.patch_workload(kind, name, patch)

    def wait_rollout(self, kind: str, name: str, *, timeout: float = 600.0, poll: float = 1.0,
                     progress: Callable[[str], None] | None = None,
                     sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], float] = time.monotonic) -> dict:
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
                raise KubeError(f"{kind} {name!r}: rollout not complete after {timeout:g}s: "
                                f"{state.message}")
            sleep(poll)


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
