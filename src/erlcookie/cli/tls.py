"""`erlcookie tls`: a cluster CA, node certificates, the optfile, expiry status, and a
checker for optfiles written by hand."""

from __future__ import annotations

from pathlib import Path

import click

from erlcookie.cli.common import emit_json, handle_errors, json_option, render_table


@click.group()
def tls():
    """Mutual TLS for distribution: CA, node certificates, -ssl_dist_optfile, status.

    \b
    Steps:
      erlcookie tls init ./tls
      erlcookie tls issue ./tls app --san app1.example.net --san app2.example.net
      erlcookie tls issue ./tls ops            # client only: erlcookie ping --tls-cert
      erlcookie tls optfile ./tls app --cert-dir /etc/erlang/tls -o ./tls/app.conf
      erl -proto_dist inet_tls -ssl_dist_optfile /etc/erlang/tls/app.conf ...
      erlcookie tls status ./tls
      erlcookie tls check /etc/erlang/ssl_dist.conf      # judge a hand-written optfile
    """


def _validity(cert) -> str:
    return cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")


@tls.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--name",
    "common_name",
    default="erlcookie cluster CA",
    show_default=True,
    help="The CA's common name.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 36500),
    default=1825,
    show_default=True,
    help="Validity of the CA.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing CA (every certificate it signed "
    "stops being trusted once nodes get the new ca.pem).",
)
@json_option
@handle_errors
def init(directory, common_name, days, force, as_json):
    """Create the cluster CA in DIRECTORY: ca.pem and ca.key (0600, never printed).

    Keep ca.key off the nodes: they need ca.pem and their own certificate and key only.
    """
    from erlcookie.tls import pki, store

    issued = store.init_ca(directory, common_name, days=days, overwrite=force)
    sha = pki.fingerprint(issued.cert)
    if as_json:
        emit_json(
            {
                "ca_cert": str(issued.cert_path),
                "ca_key": str(issued.key_path),
                "key_mode": "0600",
                "not_after": issued.cert.not_valid_after_utc.isoformat(),
                "sha256": sha,
            }
        )
        return
    click.echo(
        f"wrote {issued.cert_path} and {issued.key_path} (mode 0600), "
        f"valid until {_validity(issued.cert)}, sha256 {sha[:16]}"
    )


@tls.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("name")
@click.option(
    "--san",
    "sans",
    multiple=True,
    metavar="HOST",
    help="A name the certificate is valid for (repeatable): DNS name, IP address, "
    "or a wildcard such as '*.app-headless.prod.svc.cluster.local'.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=90,
    show_default=True,
    help="Validity (capped at the CA's).",
)
@click.option("--force", is_flag=True, help="Replace an existing NAME.pem/NAME.key.")
@json_option
@handle_errors
def issue(directory, name, sans, days, force, as_json):
    """Issue NAME.pem and NAME.key (0600), signed by DIRECTORY's CA, for server and client use.

    The SANs must name the host part of the nodes' names (`app@HOST`) for dialing nodes'
    host name check; a certificate without --san serves as a client certificate only
    (for `erlcookie ping --tls-cert`, or with `tls optfile --no-hostname-check`).
    """
    from erlcookie.tls import pki, store

    issued = store.issue_node(directory, name, list(sans), days=days, overwrite=force)
    facts = pki.facts(issued.cert)
    if as_json:
        emit_json(
            {
                "cert": str(issued.cert_path),
                "key": str(issued.key_path),
                "ca_cert": str(Path(directory) / store.CA_CERT),
                "key_mode": "0600",
                "sans": list(facts.sans),
                "not_after": facts.not_after.isoformat(),
                "sha256": facts.fingerprint,
            }
        )
        if any(s.startswith("*.") for s in facts.sans):
            click.echo(f"note: {pki.WILDCARD_NOTE}", err=True)
        return
    names = ", ".join(facts.sans) or "none (client use only)"
    if facts.days_left() < days - 1:
        click.echo(
            f"note: valid {facts.days_left():.0f} days, not {days}: a certificate "
            "never outlives its CA",
            err=True,
        )
    click.echo(
        f"wrote {issued.cert_path} and {issued.key_path} (mode 0600), "
        f"valid until {_validity(issued.cert)}; names: {names}"
    )
    if any(s.startswith("*.") for s in facts.sans):
        click.echo(f"note: {pki.WILDCARD_NOTE}", err=True)


@tls.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("name")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (0644, atomically) instead of stdout.",
)
@click.option(
    "--cert-dir",
    metavar="PATH",
    help="Where ca.pem, NAME.pem and NAME.key are on the nodes (default: DIRECTORY).",
)
@click.option(
    "--no-hostname-check",
    is_flag=True,
    help="Dialing nodes accept any certificate of the CA, whatever host it names "
    "(for nodes named by IP address).",
)
@click.option("--force", is_flag=True, help="With -o: replace an existing file.")
@handle_errors
def optfile(directory, name, output, cert_dir, no_hostname_check, force):
    """Print the -ssl_dist_optfile for NAME: mutual TLS, TLS 1.2+, AEAD ciphers.

    Start each node (and remote console) with
    `-proto_dist inet_tls -ssl_dist_optfile FILE`.
    """
    from erlcookie.cookie.files import atomic_write
    from erlcookie.errors import UsageError
    from erlcookie.tls import optfile as render_mod
    from erlcookie.tls import store

    cert_path, key_path = store.paths_for(directory, name)
    for required in (Path(directory) / store.CA_CERT, cert_path, key_path):
        if not required.exists():
            raise UsageError(f"{required}: no such file (run `erlcookie tls issue` first)")
    import posixpath

    from erlcookie.tls import pki

    base = cert_dir if cert_dir is not None else str(Path(directory).resolve())
    paths = render_mod.OptfilePaths(
        certfile=posixpath.join(base, cert_path.name),
        keyfile=posixpath.join(base, key_path.name),
        cacertfile=posixpath.join(base, store.CA_CERT),
    )
    sans = pki.facts(store.read_cert(cert_path)).sans
    if not no_hostname_check and not [s for s in sans if not s.startswith("*.")]:
        click.echo(
            f"warning: {cert_path.name} names no host OTP can match (no --san, or "
            "wildcards only): nodes dialing a node that shows it will refuse it. Issue it "
            "with the nodes' host names, or use --no-hostname-check.",
            err=True,
        )
    location = str(output.resolve()) if output is not None and cert_dir is None else None
    text = render_mod.render(
        paths, node=name, hostname_check=not no_hostname_check, location=location
    )
    if output is None:
        click.echo(text, nl=False)
        return
    written = atomic_write(output, text, mode=0o644, overwrite=force)
    where = location or f"<where {written.name} is on the nodes>"
    click.echo(f"wrote {written}; start nodes with {render_mod.DIST_FLAGS} {where}", err=True)


@tls.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--warn-days",
    type=click.FloatRange(0),
    default=30,
    show_default=True,
    help="Report certificates expiring within this many days (exit 1).",
)
@json_option
@handle_errors
def status(directory, warn_days, as_json):
    """What in DIRECTORY expires when; exit 1 if anything is expired, expiring or broken."""
    import sys

    from erlcookie.tls import status as status_mod

    entries = status_mod.inspect(directory, warn_days=warn_days)
    bad = status_mod.failing(entries)
    if as_json:
        emit_json(
            {
                "directory": str(directory),
                "warn_days": warn_days,
                "ok": not bad,
                "certificates": [e.to_json() for e in entries],
            }
        )
    else:
        rows = []
        for e in entries:
            f = e.facts
            rows.append(
                [
                    e.name,
                    e.role,
                    e.state,
                    f.not_after.strftime("%Y-%m-%d %H:%M") if f else "-",
                    f"{f.days_left():.0f}" if f else "-",
                    ", ".join(f.sans) if f and f.sans else "-",
                    "; ".join(e.problems) or "-",
                ]
            )
        render_table(["name", "role", "state", "expires (utc)", "days", "names", "problems"], rows)
    sys.exit(1 if bad else 0)


@tls.command()
@click.argument("optfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--no-files", is_flag=True, help="Judge the options only; do not look at the files they name."
)
@click.option(
    "--warn-days",
    type=click.FloatRange(0),
    default=30,
    show_default=True,
    help="Report a certfile expiring within this many days.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="json and sarif: the shared findings shapes, on stdout.",
)
@json_option
@handle_errors
def check(optfile, no_files, warn_days, fmt, as_json):
    """Judge an existing -ssl_dist_optfile: exit 1 when anyone could connect or worse.

    Finds a server that does not demand client certificates (verify_peer without
    fail_if_no_peer_cert), a client that does not check who it dials, no CA, TLS 1.0/1.1,
    weak ciphers; and, for files present here, keys others can read, keys that do not
    match, certificates another CA signed, expired or expiring. Findings of medium
    severity or more fail the check (rules: tls/*).
    """
    import sys

    from erlcookie.tls.check import check as run_check

    result = run_check(optfile, files=not no_files, warn_days=warn_days)
    fmt = "json" if as_json else fmt
    if fmt != "text":
        from erlcookie.findings.formats import FORMATS

        click.echo(FORMATS[fmt].format(result.report), nl=False)
    elif result.findings:
        render_table(
            ["severity", "line", "rule", "finding"],
            [[str(f.severity), f.line, f.rule_id, f.message] for f in result.findings],
        )
    else:
        click.echo(f"{optfile}: mutual TLS as it should be (no findings)")
    sys.exit(1 if result.failed else 0)
