"""Running erlcookie where the pods are: least-privilege RBAC for each live command, and a
Job that rotates the cookie from inside the cluster.

Pod IPs are reachable only from inside the cluster, so the natural way to rotate is from a
pod: `rbac_manifests("rotate", ...)` gives the ServiceAccount, Role and RoleBinding that
`erlcookie rotate` needs and no more (the Secret narrowed by `resourceNames`), and
`rotate_job(...)` a Job that runs `erlcookie rotate --in-cluster` under that account.

What each command does against the API (and so needs), in the namespace:
- `k8s status`: get the Secret; list pods; list the workload kinds; get ConfigMaps that
  containers read the cookie from (optional: without it status says so and goes on).
- `k8s secret --apply`: get and create Secrets (create cannot be narrowed to a name), and
  patch the Secret for `--replace`.
- `rotate --secret`: get and patch the Secret (JSON patches), list pods; with `--restart`:
  get and patch the workloads (narrowed to `--restart-target`s when given), get
  ReplicaSets (a Deployment's pods name their ReplicaSet). Preflight's access reviews
  (SelfSubjectAccessReview) are open to every authenticated identity.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from erlcookie.errors import UsageError
from erlcookie.k8s.manifests import MANAGED_BY, check_dns_label, check_object_name

COMMANDS = ("status", "apply", "rotate")
DEFAULT_ACCOUNT = "erlcookie"
JOURNAL_DIR = "/var/lib/erlcookie"
JOURNAL_PATH = f"{JOURNAL_DIR}/state/rotate.journal.json"
PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}


@dataclass(frozen=True)
class Access:
    """One Role rule: verbs on resources of an API group, optionally only named objects."""

    group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    names: tuple[str, ...] = ()

    def rule(self) -> dict:
        rule = {
            "apiGroups": [self.group],
            "resources": list(self.resources),
            "verbs": list(self.verbs),
        }
        if self.names:
            rule["resourceNames"] = list(self.names)
        return rule


def needed_access(
    command: str,
    *,
    secret: str,
    restart: bool = False,
    restart_targets: Sequence[tuple[str, str]] = (),
    replace: bool = False,
    configmaps: bool = True,
) -> list[Access]:
    """The rules `command` needs (see the module docstring)."""
    if command == "status":
        rules = [
            Access("", ("secrets",), ("get",), (secret,)),
            Access("", ("pods",), ("list",)),
            Access("apps", ("deployments", "statefulsets", "daemonsets", "replicasets"), ("list",)),
            Access("batch", ("jobs", "cronjobs"), ("list",)),
        ]
        if configmaps:
            rules.append(Access("", ("configmaps",), ("get",)))
        return rules
    if command == "apply":
        rules = [Access("", ("secrets",), ("get", "create"))]
        if replace:
            rules.append(Access("", ("secrets",), ("patch",), (secret,)))
        return rules
    if command == "rotate":
        rules = [
            Access("", ("secrets",), ("get", "patch"), (secret,)),
            Access("", ("pods",), ("list",)),
        ]
        if restart:
            if restart_targets:
                for kind in sorted({k for k, _ in restart_targets}):
                    names = tuple(sorted(n for k, n in restart_targets if k == kind))
                    rules.append(Access("apps", (PLURALS[kind],), ("get", "patch"), names))
            else:
                rules.append(
                    Access("apps", ("deployments", "statefulsets", "daemonsets"), ("get", "patch"))
                )
            rules.append(Access("apps", ("replicasets",), ("get",)))
        return rules
    raise UsageError(f"unknown command {command!r}: one of {', '.join(COMMANDS)}")


def _labels(component: str) -> dict:
    return {"app.kubernetes.io/managed-by": MANAGED_BY, "app.kubernetes.io/component": component}


def rbac_manifests(
    command: str,
    *,
    namespace: str,
    secret: str,
    account: str = DEFAULT_ACCOUNT,
    role: str | None = None,
    **needs,
) -> list[dict]:
    """ServiceAccount, Role and RoleBinding for one command in one namespace."""
    check_dns_label(namespace, "namespace")
    check_object_name(account, "service account name")
    check_object_name(secret, "Secret name")
    role = role or f"{account}-{command}"
    check_object_name(role, "role name")

    def meta(name: str) -> dict:  # fresh dicts: shared ones would come out as YAML anchors
        return {"name": name, "namespace": namespace, "labels": _labels(f"{command}-access")}

    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(account)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(role),
            "rules": [a.rule() for a in needed_access(command, secret=secret, **needs)],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(role),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    ]


def rotate_job(
    rotate_args: Sequence[str],
    *,
    namespace: str,
    image: str,
    command: Sequence[str] = ("erlcookie",),
    name: str = "erlcookie-rotate",
    account: str = DEFAULT_ACCOUNT,
    journal_claim: str | None = None,
    deadline: int | None = 3600,
) -> dict:
    """A Job running `COMMAND rotate --in-cluster ARGS --journal ...` as `account`: no
    retries (a failed rotation is resumed on purpose, not re-run), unprivileged, read-only
    root filesystem; the journal on `journal_claim` (a PersistentVolumeClaim, so that a
    later `--resume` Job can finish it) or on an emptyDir (lost with the pod)."""
    check_dns_label(namespace, "namespace")
    check_object_name(name, "Job name")
    check_object_name(account, "service account name")
    if not image.strip():
        raise UsageError("--image is empty")
    if not command or not all(part.strip() for part in command):
        raise UsageError("--command is empty")
    # a directory erlcookie creates itself (0700), inside the mounted volume
    args = ["rotate", "--in-cluster", *rotate_args, "--journal", JOURNAL_PATH]
    volume = {"name": "journal"}
    if journal_claim:
        check_object_name(journal_claim, "PersistentVolumeClaim name")
        volume["persistentVolumeClaim"] = {"claimName": journal_claim}
    else:
        volume["emptyDir"] = {}
    spec: dict = {
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": 86400,
        "template": {
            "metadata": {"labels": _labels("cookie-rotation")},
            "spec": {
                "serviceAccountName": account,
                "restartPolicy": "Never",
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 65532,
                    "runAsGroup": 65532,
                    "fsGroup": 65532,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": "rotate",
                        "image": image,
                        "command": list(command),
                        "args": args,
                        "env": [{"name": "HOME", "value": "/tmp"}],
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "volumeMounts": [
                            {"name": "journal", "mountPath": JOURNAL_DIR},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }
                ],
                "volumes": [volume, {"name": "tmp", "emptyDir": {"medium": "Memory"}}],
            },
        },
    }
    if deadline:
        spec["activeDeadlineSeconds"] = deadline
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels("cookie-rotation")},
        "spec": spec,
    }


def split_command(text: str) -> list[str]:
    """`--command 'python3 -m erlcookie'` into argv."""
    try:
        parts = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"--command {text!r}: {exc}") from None
    if not parts:
        raise UsageError("--command is empty")
    return parts
