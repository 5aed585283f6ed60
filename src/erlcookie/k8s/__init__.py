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
