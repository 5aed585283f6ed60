"""Kubernetes: the cookie Secret, wiring workloads to it, NetworkPolicy, and live status.

Layout (the CLI in `erlcookie.cli.k8s` only parses and renders):

- `selectors`: label selectors, parsed and matched the way the API server does.
- `manifests`: builders for the Secret and NetworkPolicy, YAML/JSON rendering, name checks.
- `workloads`: where each workload kind keeps its pod spec, and how a container gets its
  cookie (env, mount, literal, ConfigMap); shared by offline `inject` and live `status`.
- `yamlstream`: splitting a YAML stream on document boundaries so untouched documents are
  copied byte for byte, and round-tripping only the documents that change; every document
  is read with bounds (depth, alias expansion) so hostile YAML is refused in bounded time.
- `inject`: the offline editor: `inject.model` (options, changes, findings, results),
  `inject.editor` (the round-trip edits of one document), `inject.files` (which files,
  reading, the output stream, the redacted diff, writing in place).
- `api`: the small adapter over the official `kubernetes` client (the only module that
  imports it); `apply`: create-or-keep-or-replace of the Secret on top of the adapter.
- `status`: pure analysis of objects fetched from a cluster; `rollout`: whether a
  workload finished rolling out (`kubectl rollout status` rules).
- `rbac`: least-privilege ServiceAccount/Role/RoleBinding per live command, and the Job
  that rotates the cookie from inside the cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erlcookie._exports import lazy_exports

if TYPE_CHECKING:
    from erlcookie.k8s.api import KubeApi
    from erlcookie.k8s.apply import apply_secret
    from erlcookie.k8s.inject import inject_paths
    from erlcookie.k8s.inject.model import InjectOptions
    from erlcookie.k8s.manifests import netpol_manifest, secret_manifest
    from erlcookie.k8s.status import StatusOptions, analyze

_HOMES: dict[str, str | tuple[str, str]] = {
    "KubeApi": "api",
    "apply_secret": "apply",
    "inject_paths": "inject",
    "InjectOptions": ("inject.model", "InjectOptions"),
    "netpol_manifest": "manifests",
    "secret_manifest": "manifests",
    "StatusOptions": "status",
    "analyze": "status",
}
__all__ = sorted(_HOMES)
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
