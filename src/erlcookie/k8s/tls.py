"""Manifests for mutual TLS distribution: the certificate Secret (or cert-manager resources)
and the optfile ConfigMap.

Every pod of a StatefulSet shares one certificate whose SANs name each pod
(`NAME-i.SERVICE.NS.svc.DOMAIN` for long names, `NAME-i` for short ones) and the headless
Service's wildcard. OTP's host name check ignores wildcards (see erlcookie.tls.pki), so
the explicit names are what OTP checks; erlcookie's own client matches the wildcard too.
The Secret has type kubernetes.io/tls with `tls.crt`, `tls.key` and `ca.crt`, the layout
cert-manager writes, so the ConfigMap's optfile reads the same files either way.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from erlcookie.errors import UsageError
from erlcookie.k8s.manifests import MANAGED_BY, check_dns_label, check_namespace, check_object_name
from erlcookie.tls.optfile import OptfilePaths
from erlcookie.tls.optfile import render as render_optfile

DEFAULT_MOUNT_DIR = "/etc/erlang/tls"
OPTFILE_KEY = "ssl_dist.conf"
COMPONENT = "erlang-distribution-tls"
CERT_MANAGER_API = "cert-manager.io/v1"
# cert-manager durations are Go durations: hours are the largest unit.
CA_DURATION_HOURS = 5 * 365 * 24


@dataclass(frozen=True)
class TlsPlan:
    """What the manifests describe: which pods, which names, where the files go."""

    statefulset: str
    service: str
    namespace: str
    replicas: int
    cluster_domain: str = "cluster.local"
    secret_name: str | None = None
    mount_dir: str = DEFAULT_MOUNT_DIR
    hostname_check: bool = True
    extra_sans: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        check_dns_label(self.statefulset, "StatefulSet name")
        check_dns_label(self.service, "Service name")
        check_namespace(self.namespace)
        check_object_name(self.secret, "Secret name")
        if self.replicas < 0:
            raise UsageError("--replicas must be 0 or more")
        if self.hostname_check and self.replicas == 0 and not self.extra_sans:
            raise UsageError(
                "OTP checks a dialed node's certificate against its host name and "
                "does not match wildcards: give --replicas N (to name each pod) or "
                "--no-hostname-check"
            )
        if not self.mount_dir.startswith("/"):
            raise UsageError(f"--mount-dir {self.mount_dir!r}: an absolute path is needed")

    @property
    def secret(self) -> str:
        return self.secret_name or f"{self.statefulset}-dist-tls"

    @property
    def configmap(self) -> str:
        return f"{self.statefulset}-dist-tls-optfile"

    @property
    def domain(self) -> str:
        return f"{self.service}.{self.namespace}.svc.{self.cluster_domain}"

    def sans(self) -> list[str]:
        """Pod FQDNs and short names (OTP checks these), then the Service's names."""
        pods = [f"{self.statefulset}-{i}" for i in range(self.replicas)]
        names = [f"{pod}.{self.domain}" for pod in pods] + pods
        names += [f"*.{self.domain}", self.domain, *self.extra_sans]
        return list(dict.fromkeys(names))

    def optfile_paths(self) -> OptfilePaths:
        base = self.mount_dir.rstrip("/")
        return OptfilePaths(f"{base}/tls.crt", f"{base}/tls.key", f"{base}/ca.crt")

    @property
    def optfile_path(self) -> str:
        return f"{self.mount_dir.rstrip('/')}/{OPTFILE_KEY}"

    def metadata(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": {
                "app.kubernetes.io/component": COMPONENT,
                "app.kubernetes.io/managed-by": MANAGED_BY,
                "app.kubernetes.io/part-of": self.statefulset,
                **self.labels,
            },
        }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def tls_secret(plan: TlsPlan, cert_pem: bytes, key_pem: bytes, ca_pem: bytes) -> dict:
    """The node certificate as a kubernetes.io/tls Secret (plus ca.crt, as cert-manager does)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": plan.metadata(plan.secret),
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": _b64(cert_pem), "tls.key": _b64(key_pem), "ca.crt": _b64(ca_pem)},
    }


def optfile_configmap(plan: TlsPlan) -> dict:
    """The -ssl_dist_optfile as a ConfigMap: it names files, it holds no secret."""
    text = render_optfile(
        plan.optfile_paths(),
        node=f"StatefulSet {plan.statefulset}",
        hostname_check=plan.hostname_check,
        location=plan.optfile_path,
    )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": plan.metadata(plan.configmap),
        "data": {OPTFILE_KEY: text},
    }


def cert_manager_resources(
    plan: TlsPlan, *, node_days: int = 90, renew_days: int = 30
) -> list[dict]:
    """A private CA inside the cluster and the node Certificate it signs.

    The usual cert-manager bootstrap: a selfSigned Issuer signs the CA Certificate, a CA
    Issuer uses that CA's Secret, and the node Certificate (server and client auth) lands in
    `plan.secret` with tls.crt, tls.key and ca.crt. No key ever leaves the cluster.
    """
    if renew_days >= node_days:
        raise UsageError("--renew-days must be less than --days")
    base = f"{plan.statefulset}-dist"
    ecdsa = {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    return [
        {
            "apiVersion": CERT_MANAGER_API,
            "kind": "Issuer",
            "metadata": plan.metadata(f"{base}-selfsigned"),
            "spec": {"selfSigned": {}},
        },
        {
            "apiVersion": CERT_MANAGER_API,
            "kind": "Certificate",
            "metadata": plan.metadata(f"{base}-ca"),
            "spec": {
                "isCA": True,
                "commonName": f"{plan.statefulset} distribution CA",
                "secretName": f"{base}-ca",
                "duration": f"{CA_DURATION_HOURS}h",
                "privateKey": dict(ecdsa),
                "issuerRef": {
                    "name": f"{base}-selfsigned",
                    "kind": "Issuer",
                    "group": "cert-manager.io",
                },
            },
        },
        {
            "apiVersion": CERT_MANAGER_API,
            "kind": "Issuer",
            "metadata": plan.metadata(f"{base}-ca"),
            "spec": {"ca": {"secretName": f"{base}-ca"}},
        },
        {
            "apiVersion": CERT_MANAGER_API,
            "kind": "Certificate",
            "metadata": plan.metadata(plan.secret),
            "spec": {
                "secretName": plan.secret,
                "commonName": plan.statefulset,
                "dnsNames": plan.sans(),
                "duration": f"{node_days * 24}h",
                "renewBefore": f"{renew_days * 24}h",
                "privateKey": dict(ecdsa),
                "usages": ["digital signature", "server auth", "client auth"],
                "issuerRef": {"name": f"{base}-ca", "kind": "Issuer", "group": "cert-manager.io"},
            },
        },
    ]


def wiring_hint(plan: TlsPlan, workload_file: str = "statefulset.yaml") -> str:
    """How to mount the files and switch the nodes over (printed to stderr by the CLI)."""
    d = plan.mount_dir.rstrip("/")
    lines = ["# mount the certificate and key into the app container (mode 0400):"]
    for key in ("tls.crt", "tls.key", "ca.crt"):
        lines.append(
            f"erlcookie k8s inject {workload_file} --in-place --secret {plan.secret} "
            f"--key {key} --mount {d}/{key} --volume-name dist-tls"
        )
    lines += [
        f"# mount ConfigMap {plan.configmap} key {OPTFILE_KEY} at {plan.optfile_path} "
        "(volumes: configMap; volumeMounts: subPath), and set in the container:",
        f'#   ERL_FLAGS="-proto_dist inet_tls -ssl_dist_optfile {plan.optfile_path}"',
        "# (ERL_FLAGS also reaches `kubectl exec ... bin/app remote`: the remote console "
        "needs TLS too)",
    ]
    return "\n".join(lines)
