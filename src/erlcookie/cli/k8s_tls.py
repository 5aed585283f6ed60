"""`erlcookie k8s tls`: TLS distribution manifests for a StatefulSet (own module, so the
k8s group only gains one registration line)."""

from __future__ import annotations

from pathlib import Path

import click

from erlcookie.cli.common import handle_errors
from erlcookie.errors import UsageError


@click.command("tls")
@click.argument("statefulset")
@click.option(
    "--service",
    required=True,
    metavar="NAME",
    help="The headless Service that names the pods (spec.serviceName).",
)
@click.option("-n", "--namespace", default="default", show_default=True, metavar="NS")
@click.option(
    "--replicas",
    type=click.IntRange(0, 1000),
    default=0,
    metavar="N",
    help="Name pods STATEFULSET-0..N-1 in the certificate (OTP checks these names; "
    "re-issue when scaling beyond N).",
)
@click.option("--cluster-domain", default="cluster.local", show_default=True)
@click.option("--san", "sans", multiple=True, metavar="HOST", help="Another name (repeatable).")
@click.option(
    "--ca-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The CA from `erlcookie tls init DIR`: sign the node certificate here and "
    "emit it as a Secret.",
)
@click.option(
    "--cert-manager",
    is_flag=True,
    help="Emit cert-manager Issuer/Certificate resources instead (a private CA made "
    "in the cluster; no key leaves it).",
)
@click.option("--secret-name", metavar="NAME", help="Secret name (default STATEFULSET-dist-tls).")
@click.option(
    "--mount-dir",
    default="/etc/erlang/tls",
    show_default=True,
    metavar="PATH",
    help="Where the pods see tls.crt, tls.key, ca.crt and ssl_dist.conf.",
)
@click.option(
    "--no-hostname-check",
    is_flag=True,
    help="Nodes accept any certificate of the CA, whatever host it names (pods named "
    "by IP, Deployments).",
)
@click.option(
    "--days",
    type=click.IntRange(2, 3650),
    default=90,
    show_default=True,
    help="Validity of the node certificate.",
)
@click.option(
    "--renew-days",
    type=click.IntRange(1, 3649),
    default=30,
    show_default=True,
    help="With --cert-manager: renew this long before expiry.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@click.option(
    "--write",
    "write_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Write to PATH (0600, atomically) instead of stdout.",
)
@click.option("--force", is_flag=True, help="With --write: replace an existing file.")
@handle_errors
def k8s_tls_cmd(
    statefulset,
    service,
    namespace,
    replicas,
    cluster_domain,
    sans,
    ca_dir,
    cert_manager,
    secret_name,
    mount_dir,
    no_hostname_check,
    days,
    renew_days,
    fmt,
    write_path,
    force,
):
    """Manifests for mutual TLS distribution of a StatefulSet's pods.

    Either a kubernetes.io/tls Secret signed by your CA (--ca-dir, from `erlcookie tls
    init`) or cert-manager resources (--cert-manager), plus a ConfigMap with the
    -ssl_dist_optfile. The Secret manifest holds a private key: keep it out of git unless
    encrypted. How to mount it all (`k8s inject`) is printed to stderr.

    \b
    Example:
      erlcookie k8s tls app --service app-headless -n prod --replicas 3 --ca-dir ./tls
    """
    from erlcookie.k8s import tls as k8s_tls
    from erlcookie.k8s.manifests import render

    if bool(ca_dir) == bool(cert_manager):
        raise UsageError("give either --ca-dir DIR (sign here) or --cert-manager")
    plan = k8s_tls.TlsPlan(
        statefulset=statefulset,
        service=service,
        namespace=namespace,
        replicas=replicas,
        cluster_domain=cluster_domain,
        secret_name=secret_name,
        mount_dir=mount_dir,
        hostname_check=not no_hostname_check,
        extra_sans=tuple(sans),
    )
    if cert_manager:
        objects = k8s_tls.cert_manager_resources(plan, node_days=days, renew_days=renew_days)
    else:
        from erlcookie.tls import pki, store

        ca_key, ca_cert = store.load_ca(ca_dir)
        key, cert = pki.issue(
            ca_key, ca_cert, statefulset, pki.general_names(plan.sans()), days=days
        )
        objects = [
            k8s_tls.tls_secret(plan, pki.cert_pem(cert), pki.key_pem(key), pki.cert_pem(ca_cert))
        ]
    objects.append(k8s_tls.optfile_configmap(plan))
    if fmt == "yaml":  # the optfile as a block, readable in the manifest
        from ruamel.yaml.scalarstring import LiteralScalarString

        data = objects[-1]["data"]
        data[k8s_tls.OPTFILE_KEY] = LiteralScalarString(data[k8s_tls.OPTFILE_KEY])
    text = render(objects, fmt)
    if write_path:
        from erlcookie.cookie.files import atomic_write

        written = atomic_write(write_path, text, mode=0o600, overwrite=force)
        click.echo(f"wrote {written} (mode 0600)", err=True)
    else:
        click.echo(text, nl=False)
    click.echo(k8s_tls.wiring_hint(plan), err=True)
