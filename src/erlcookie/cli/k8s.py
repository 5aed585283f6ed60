"""`erlcookie k8s secret|inject|netpol|status`: parse options, call erlcookie.k8s, render."""

from __future__ import annotations

import contextlib
import shlex
import sys

import click

from erlcookie.cli.common import (
    cookie_source_options,
    emit_json,
    format_option,
    handle_errors,
    json_option,
    load_cookie,
    pick_format,
    render_findings,
    render_table,
    safe_text,
)
from erlcookie.errors import EXIT_FINDINGS, ErlcookieError, UsageError

DEFAULT_SECRET = "erlang-cookie"
DEFAULT_KEY = "cookie"
DEFAULT_ENV = "RELEASE_COOKIE"
STYLES = ("elixir", "erlang", "base32", "hex")  # erlcookie.cookie.generate.STYLES, kept lazy


def _kube_options(func):
    """Where the cluster is: kubeconfig/context or the pod's service account."""
    func = click.option(
        "--request-timeout",
        type=click.FloatRange(min=0.1),
        default=15.0,
        show_default=True,
        metavar="SECONDS",
        help="Deadline of each API request, retries included.",
    )(func)
    func = click.option(
        "--in-cluster",
        is_flag=True,
        default=None,
        help="Use the pod's service account (the default in a pod without kubeconfig).",
    )(func)
    func = click.option(
        "--kubeconfig",
        metavar="PATH",
        help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).",
    )(func)
    func = click.option(
        "--context", metavar="NAME", help="Kubeconfig context (default: the current one)."
    )(func)
    return func


def _namespace_option(func):
    return click.option(
        "-n",
        "--namespace",
        metavar="NS",
        help="Namespace (live: default from the context, else 'default').",
    )(func)


def _connect(kubeconfig, context, namespace, in_cluster, request_timeout):
    from erlcookie.k8s.api import KubeApi

    return KubeApi.connect(
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        in_cluster=in_cluster or None,
        timeout=request_timeout,
    )


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


@click.group("k8s")
def k8s():
    """Kubernetes: the cookie Secret, wiring workloads to it, NetworkPolicy, live status.

    \b
    Offline (GitOps): `secret` writes a Secret manifest, `inject` edits workload
    manifests to read the cookie from it, `netpol` writes a NetworkPolicy for EPMD and the
    distribution ports. Live: `secret --apply` and `status -l app=x` use your kubeconfig
    (--context, -n) or the pod's service account. In the cluster: `rbac` writes the
    least-privilege ServiceAccount/Role/RoleBinding of a command, `job rotate` a Job that
    rotates the cookie from a pod.
    """


# -- secret --------------------------------------------------------------------------------


@k8s.command("secret")
@click.option("--name", default=DEFAULT_SECRET, show_default=True, help="Secret name.")
@click.option("--key", default=DEFAULT_KEY, show_default=True, help="Key that holds the cookie.")
@_namespace_option
@click.option("--app", metavar="NAME", help="Add app.kubernetes.io/part-of=NAME.")
@click.option("--label", "labels", multiple=True, metavar="K=V", help="Extra label (repeatable).")
@click.option(
    "--style",
    type=click.Choice(STYLES),
    default="elixir",
    show_default=True,
    help="Style of a newly generated cookie (see `erlcookie generate`).",
)
@cookie_source_options(
    "none: a new cookie is generated (--style); RELEASE_COOKIE is "
    "read only with --cookie-env RELEASE_COOKIE"
)
@click.option(
    "--adopt-from",
    "adopt_from",
    multiple=True,
    metavar="FILE|DIR",
    help="Take the cookie the pods run today from these manifests (a literal cookie "
    "variable, or a ConfigMap key they read, also through envFrom), so a "
    "running cluster keeps its cookie; the value is never printed, its "
    "fingerprint shows which. Repeatable.",
)
@click.option(
    "--adopt-live",
    "adopt_live",
    multiple=True,
    metavar="KIND/NAME",
    help="The same, from the workload as the cluster runs it (and the ConfigMaps "
    "it reads), through the API: e.g. Deployment/shop. Repeatable.",
)
@click.option(
    "--env",
    "adopt_envs",
    multiple=True,
    metavar="VAR",
    help="With --adopt-from/--adopt-live: the variable whose cookie to take when "
    "the pods run several (e.g. RELEASE_COOKIE).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="Manifest format.",
)
@click.option(
    "--write",
    "write_path",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Write the manifest to PATH (created 0600, atomically) instead of stdout.",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --write: replace an existing file, or write into a git work tree "
    "where git does not ignore PATH.",
)
@click.option(
    "--apply",
    "do_apply",
    is_flag=True,
    help="Create the Secret in the cluster; an existing one is left alone.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="With --apply: overwrite an existing Secret's key (splits a running cluster "
    "on restart; prefer `erlcookie rotate`).",
)
@_kube_options
@json_option
@handle_errors
def secret_cmd(
    name,
    key,
    namespace,
    app,
    labels,
    style,
    cookie_request,
    adopt_from,
    adopt_live,
    adopt_envs,
    fmt,
    write_path,
    force,
    do_apply,
    replace,
    context,
    kubeconfig,
    in_cluster,
    request_timeout,
    as_json,
):
    """A Secret holding the cookie: a manifest, or created in the cluster (--apply).

    The cookie is newly generated unless a source is given (--cookie-file, --cookie-env,
    --release, --cookie, or --adopt-from the manifests of a running cluster); the output
    says which. Same meaning as `kubectl create secret generic erlang-cookie
    --from-literal=cookie=... --dry-run=client -o yaml`, plus labels and a fingerprint
    annotation. The manifest holds the cookie (base64): keep it out of git unless it is
    encrypted (SOPS, Sealed Secrets); --write refuses a path in a git work tree that git
    does not ignore (--force to insist).

    \b
    Moving a running cluster from a literal cookie to the Secret: adopt the cookie it runs
    (--adopt-from k8s/), roll out the wired manifests, then `erlcookie rotate`. A new cookie
    instead would split the cluster for the whole rollout.

    \b
    With --apply: exit 0 when created, already equal, or (for a generated cookie) left
    alone; exit 1 when an existing Secret holds another cookie than the one you gave and
    --replace was not given.
    """
    from erlcookie.cookie.generate import generate
    from erlcookie.k8s.manifests import parse_labels, render, secret_manifest

    if replace and not do_apply:
        raise UsageError("--replace goes with --apply")
    if as_json and not do_apply:
        raise UsageError("--json reports on --apply; for a JSON manifest use --format json")
    if not (do_apply or adopt_live) and (context or kubeconfig or in_cluster):
        raise UsageError("--context, --kubeconfig and --in-cluster go with --apply or --adopt-live")
    given = any(
        v is not None
        for v in (
            cookie_request.file,
            cookie_request.env,
            cookie_request.release,
            cookie_request.value,
        )
    )
    if adopt_envs and not (adopt_from or adopt_live):
        raise UsageError("--env goes with --adopt-from or --adopt-live")
    if adopt_from or adopt_live:
        if given or (adopt_from and adopt_live):
            raise UsageError(
                "--adopt-from and --adopt-live are cookie sources: give one, "
                "alone, without --cookie-file, --cookie-env, --release or --cookie"
            )
        from erlcookie.k8s.adopt import adopt
        from erlcookie.k8s.adopt import adopt_live as adopt_from_cluster

        with _escaped_errors():
            if adopt_live:
                with _connect(kubeconfig, context, namespace, in_cluster, request_timeout) as live:
                    running = adopt_from_cluster(live, adopt_live, envs=tuple(adopt_envs))
            else:
                running = adopt(adopt_from, namespace=namespace, envs=tuple(adopt_envs))
        cookie = running.cookie
        if namespace is None and running.namespace is not None:
            namespace = running.namespace  # the manifests' namespace, also for --apply
        origin = f"adopted from {'; '.join(running.where)}: the cookie the pods run today"
        given = True
    elif given:
        cookie = load_cookie(cookie_request)
        request = cookie_request
        origin = "from " + (
            f"file {request.file}"
            if request.file is not None
            else f"${request.env}"
            if request.env is not None
            else f"release {request.release}"
            if request.release is not None
            else "--cookie"
        )
    else:
        cookie = generate(style)
        origin = f"a newly generated cookie ({style} style)"
    if given:  # the cluster already runs an adopted cookie: keep it, whatever it is
        _check_strength(cookie, refuse_invalid=not (adopt_from or adopt_live))
    api = None
    if do_apply:
        api = _connect(kubeconfig, context, namespace, in_cluster, request_timeout)
        namespace = api.namespace
    manifest = secret_manifest(
        cookie, name=name, key=key, namespace=namespace, app=app, labels=parse_labels(labels)
    )
    if write_path:
        from erlcookie.cookie.files import atomic_write

        _refuse_unignored(write_path, force)
        written = atomic_write(write_path, render(manifest, fmt), mode=0o600, overwrite=force)
        click.echo(
            safe_text(
                f"wrote {written} (mode 0600): Secret {name}, key {key}, "
                f"{cookie.fingerprint()}, {origin}"
            ),
            err=True,
        )
    if not do_apply:
        if not write_path:
            click.echo(render(manifest, fmt), nl=False)
            click.echo(
                safe_text(
                    f"Secret {name}: key {key}, {cookie.fingerprint()}, {origin} "
                    "(the manifest holds the cookie)"
                ),
                err=True,
            )
        target = shlex.quote(str(write_path)) if write_path else "FILE"
        click.echo(
            f"next: kubectl apply -f {target} (keep the manifest out of git), then wire "
            "the workloads: erlcookie k8s inject DIR --in-place",
            err=True,
        )
        return
    from erlcookie.k8s.apply import apply_secret

    with api:
        outcome = apply_secret(api, manifest, cookie, key=key, replace=replace)
    if as_json:
        emit_json({**outcome.to_dict(), "generated": not given, "source": origin})
    else:
        click.echo(_describe_apply(outcome, generated=not given))
        click.echo(safe_text(f"cookie: {origin}"), err=True)
        if outcome.action in ("created", "unchanged", "replaced"):
            click.echo(
                "next: wire the workloads to it: erlcookie k8s inject DIR --in-place, "
                "roll out, then check: erlcookie k8s status -l app=APP"
                + (f" -n {shlex.quote(outcome.namespace)}" if outcome.namespace else ""),
                err=True,
            )
    if outcome.action == "kept" and (given or outcome.key_missing):
        sys.exit(EXIT_FINDINGS)


def _refuse_unignored(path: str, force: bool) -> None:
    """A Secret manifest holds the cookie: inside a git work tree it must go where git
    ignores it (or --force)."""
    from erlcookie.git import path_ignored

    if force or path_ignored(path) is not False:
        return
    raise UsageError(
        f"{path} is in a git work tree and git does not ignore it: the cookie "
        "could be committed. Write it outside the repository, add it to "
        ".gitignore, or pass --force to insist"
    )


def _check_strength(cookie, refuse_invalid: bool = True) -> None:
    from erlcookie.audit import audit_cookie

    result = audit_cookie(cookie)
    if result.verdict == "invalid" and refuse_invalid:
        reasons = "; ".join(r.message for r in result.reasons)
        raise UsageError(f"this cookie would break deployments: {reasons}")
    if result.verdict != "ok":
        reasons = "; ".join(r.message for r in result.reasons if r.verdict != "ok")
        _warn(f"the cookie is {result.verdict}: {reasons}")


def _describe_apply(outcome, *, generated: bool) -> str:
    where = f"Secret {outcome.namespace}/{outcome.name} key {outcome.key}"
    if outcome.action == "created":
        return f"created {where} ({outcome.live_fingerprint})"
    if outcome.action == "unchanged":
        return f"{where} already holds this cookie ({outcome.live_fingerprint}); unchanged"
    if outcome.action == "replaced":
        return f"replaced the cookie in {where}: now {outcome.live_fingerprint}"
    if outcome.key_missing:
        return (
            f"{where}: the Secret exists without this key; left unchanged (--replace adds the key)"
        )
    if generated:
        return (
            f"{where} exists ({outcome.live_fingerprint}); left unchanged, the newly "
            "generated cookie was discarded"
        )
    return (
        f"{where} holds a different cookie ({outcome.live_fingerprint}, yours is "
        f"{outcome.fingerprint}); left unchanged (--replace overwrites it)"
    )


# -- inject --------------------------------------------------------------------------------


@k8s.command("inject")
@click.argument("paths", nargs=-1, required=True, metavar="FILE|DIR|-...")
@click.option("--secret", default=DEFAULT_SECRET, show_default=True, help="Secret name.")
@click.option("--key", default=DEFAULT_KEY, show_default=True, help="Key in the Secret.")
@click.option(
    "--env",
    "env",
    metavar="VAR",
    multiple=True,
    help=f"Variable to set from the Secret (default {DEFAULT_ENV}; none with --mount "
    "unless given), e.g. RABBITMQ_ERLANG_COOKIE; repeatable.",
)
@click.option(
    "--mount",
    metavar="PATH",
    help="Also/instead mount the key as a 0400 file at PATH (subPath), e.g. "
    "/var/lib/rabbitmq/.erlang.cookie.",
)
@click.option(
    "--volume-name",
    default="erlang-cookie",
    show_default=True,
    help="Name of the Secret volume for --mount.",
)
@click.option(
    "--init-copy",
    is_flag=True,
    help="With --mount: an init container copies the file as the app's user with mode "
    "0400 (needed when the app runs as non-root or under fsGroup: Erlang refuses "
    "a cookie file others can read).",
)
@click.option(
    "--init-copy-owner",
    metavar="UID[:GID]",
    help="With --init-copy: chown the copy to UID[:GID] (the init container must run "
    "as root), for images that start as root and drop to a server user, e.g. "
    "999:999 for the official RabbitMQ image.",
)
@click.option(
    "--container",
    "container_names",
    multiple=True,
    metavar="NAME",
    help="Wire only these containers (init containers too); repeatable. Default: the "
    "app containers that already use a cookie, else the only one, else all.",
)
@click.option(
    "-l",
    "--selector",
    metavar="SELECTOR",
    help="Only workloads whose pod labels match, e.g. app.kubernetes.io/name=chat.",
)
@click.option("--diff", "mode", flag_value="diff", help="Print a unified diff instead.")
@click.option("--in-place", "mode", flag_value="in-place", help="Rewrite the files (atomically).")
@click.option(
    "--check",
    "mode",
    flag_value="check",
    help="Change nothing; exit 1 if anything would change or a finding remains.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="With --check: the findings in the shape every erlcookie command uses "
    "(json) or as SARIF, on stdout.",
)
@json_option
@handle_errors
def inject_cmd(
    paths,
    secret,
    key,
    env,
    mount,
    volume_name,
    init_copy,
    init_copy_owner,
    container_names,
    selector,
    mode,
    fmt,
    as_json,
):
    """Wire Pods, Deployments, StatefulSets, ReplicaSets, DaemonSets, Jobs and CronJobs to
    the cookie Secret (env var from a secretKeyRef, or a file mount).

    Multi-document files, `kind: List` and `helm template` output work; documents and
    values without a change stay byte for byte, edited ones keep comments, key order and
    quoting. A literal value or a configMapKeyRef it replaces is reported by fingerprint
    only. It is idempotent. Default: print the result; reports, and the next steps (create
    the Secret), go to stderr.

    \b
    Exit: 0 done; 1 with --check when something would change, or when a cookie in clear
    remains that it cannot fix (reported); 2 usage; 3 unreadable or non-YAML input, or
    YAML nested too deeply or whose aliases expand too far (refused, nothing written).
    """
    from erlcookie.k8s.inject import (
        InjectOptions,
        combined_output,
        inject_paths,
        redacted_diff,
        write_in_place,
    )
    from erlcookie.k8s.inject.model import parse_owner
    from erlcookie.k8s.selectors import parse_selector

    if fmt != "text" and (mode != "check" or as_json):
        raise UsageError(
            "--format json|sarif goes with --check (and not with --json, the "
            "older report of the edits)"
        )
    if as_json and mode not in ("in-place", "check"):
        raise UsageError(
            "--json reports on --in-place or --check (stdout is the manifest otherwise)"
        )
    if mode == "in-place" and "-" in paths:
        raise UsageError("--in-place cannot rewrite stdin")
    env = tuple(env) or (None if mount is not None else (DEFAULT_ENV,))
    options = InjectOptions(
        secret=secret,
        key=key,
        env=env,
        mount=mount,
        volume_name=volume_name,
        init_copy=init_copy,
        init_copy_owner=parse_owner(init_copy_owner) if init_copy_owner else None,
        containers=tuple(container_names) or None,
        selector=parse_selector(selector) if selector else None,
    )
    with _escaped_errors():  # their messages name files of the input
        result = inject_paths(paths, options)
    if mode == "in-place":
        with _escaped_errors():
            written = write_in_place(result)
        if not as_json:
            for path in written:
                click.echo(f"rewrote {safe_text(path)}", err=True)
    elif mode == "diff":
        for f in result.files:
            click.echo(redacted_diff(f, label=safe_text(f.path)), nl=False)
    elif mode is None:
        click.echo(combined_output(result), nl=False)
    if fmt != "text":
        import os

        from erlcookie.cli.common import render_findings
        from erlcookie.findings.report import Report
        from erlcookie.k8s.inject.findings import inject_findings

        report = Report("k8s inject --check", os.getcwd(), inject_findings(result))
        click.echo(render_findings(report, fmt), nl=False)
    elif as_json:
        emit_json(result.to_dict())
    else:
        _report_inject(result, mode)
    if result.has_errors or (mode == "check" and result.changed):
        sys.exit(EXIT_FINDINGS)


@contextlib.contextmanager
def _escaped_errors():
    """An error whose message quotes the input (file names, keys) gets it escaped by
    safe_text before handle_errors prints it."""
    try:
        yield
    except ErlcookieError as exc:
        exc.args = (safe_text(exc),)
        raise


def _report_inject(result, mode) -> None:
    """Changes, findings, a summary that says what was done, and the next steps, on stderr.
    File names, object names and keys come from the input: safe_text keeps a control
    character in them from acting on the terminal or forging a line."""

    def say(line: str) -> None:
        click.echo(safe_text(line), err=True)

    for change in result.changes:
        where = f"{change.path}[{change.document}] {change.workload}"
        if change.container:
            where += f" container {change.container}"
        say(f"{where}: {change.detail}")
    for finding in result.findings:
        parts = [finding.path + (f"[{finding.document}]" if finding.document else "")]
        if finding.workload:
            parts.append(finding.workload)
        if finding.container:
            parts.append(f"container {finding.container}")
        fp = f" ({finding.fingerprint})" if finding.fingerprint else ""
        say(f"{finding.level}: {' '.join(parts)}: {finding.message}{fp}")
    changed, total = sum(f.changed for f in result.files), len(result.files)
    done = {
        "check": f"would change {changed} of {total} file(s); nothing written",
        "diff": f"would change {changed} of {total} file(s) (the diff above); nothing written",
        "in-place": f"rewrote {changed} of {total} file(s)",
        None: f"printed the result on stdout, {changed} of {total} file(s) edited; no "
        "file written (--in-place rewrites them)",
    }[mode]
    say(f"{result.workloads} workload(s) wired; {len(result.changes)} edit(s); {done}")
    if not result.changes:
        return
    for warning in result.split_warnings():
        say(f"warning: {warning}")
    if mode in ("check", "diff"):
        say("next: apply the edits with --in-place (or pipe the output to kubectl apply -f -)")
    for step in result.next_steps():
        say(step if step.startswith(" ") else f"next: {step}")


# -- netpol --------------------------------------------------------------------------------


@k8s.command("netpol")
@click.option(
    "-l",
    "--selector",
    required=True,
    metavar="SELECTOR",
    help="The app's pods, e.g. app=myapp (=, !=, in, notin, exists).",
)
@click.option(
    "--dist-port",
    "dist_port",
    required=True,
    metavar="PORT[-PORT]",
    help="Distribution port or range, as set by inet_dist_listen_min/max (e.g. 9100-9105).",
)
@click.option("--name", metavar="NAME", help="Policy name (default: <app>-erlang-dist).")
@_namespace_option
@click.option(
    "--no-epmd", is_flag=True, help="Leave out EPMD (4369), for nodes started without EPMD."
)
@click.option(
    "--allow-other-ports",
    is_flag=True,
    help="Add a rule that keeps every other port open to any source (the policy then "
    "narrows only the Erlang ports; it also widens stricter policies).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@click.option(
    "--write",
    "write_path",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Write to PATH instead of stdout.",
)
@click.option("--force", is_flag=True, help="With --write: replace an existing file.")
@handle_errors
def netpol_cmd(
    selector, dist_port, name, namespace, no_epmd, allow_other_ports, fmt, write_path, force
):
    """A NetworkPolicy that lets only the app's own pods reach EPMD and its distribution
    ports.

    A policy that selects pods drops all their other ingress unless some policy allows
    it: add policies for your other ports, or --allow-other-ports.
    """
    from erlcookie.k8s.manifests import netpol_manifest, parse_port_range, render
    from erlcookie.k8s.selectors import parse_selector

    parsed = parse_selector(selector)
    if parsed.empty:
        raise UsageError(
            "--selector must select the app's pods (an empty selector selects "
            "every pod of the namespace)"
        )
    ports = parse_port_range(dist_port)
    if name is None:
        labels = parsed.equality_labels()
        base = (
            labels.get("app.kubernetes.io/name")
            or labels.get("app")
            or (next(iter(labels.values())) if labels else "")
        )
        name = f"{base}-erlang-dist" if base else "erlang-dist"
    manifest = netpol_manifest(
        parsed.to_label_selector(),
        ports,
        name=name,
        namespace=namespace,
        epmd=not no_epmd,
        allow_other_ports=allow_other_ports,
    )
    text = render(manifest, fmt)
    if write_path:
        from erlcookie.cookie.files import atomic_write, write_text_preserving_mode

        if force:
            write_text_preserving_mode(write_path, text)
        else:
            atomic_write(write_path, text, mode=0o644, overwrite=False)
        click.echo(f"wrote {write_path}", err=True)
    else:
        click.echo(text, nl=False)
    if not allow_other_ports:
        click.echo(
            "note: this policy isolates the selected pods for ingress: traffic to their "
            "other ports needs its own policy (or --allow-other-ports)",
            err=True,
        )
    click.echo(
        f"next: kubectl apply -f {shlex.quote(write_path) if write_path else '-'}"
        + ("" if write_path else " (pipe this output)"),
        err=True,
    )


# -- status --------------------------------------------------------------------------------


@k8s.command("status")
@click.option(
    "-l",
    "--selector",
    required=True,
    metavar="SELECTOR",
    help="The app's workloads and pods, e.g. app=myapp.",
)
@click.option("--secret", default=DEFAULT_SECRET, show_default=True, help="Secret name.")
@click.option("--key", default=DEFAULT_KEY, show_default=True, help="Key in the Secret.")
@click.option(
    "--env",
    "env",
    metavar="VAR",
    help=f"Variable that must come from the Secret (default {DEFAULT_ENV}; none "
    "with --mount unless given).",
)
@click.option("--mount", metavar="PATH", help="Check a cookie file mounted at PATH instead.")
@click.option(
    "--container",
    "container_names",
    multiple=True,
    metavar="NAME",
    help="Check only these containers (default: every app container).",
)
@_namespace_option
@_kube_options
@format_option
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--sarif", is_flag=True, help="Same as --format sarif.")
@handle_errors
def status_cmd(
    selector,
    secret,
    key,
    env,
    mount,
    container_names,
    namespace,
    context,
    kubeconfig,
    in_cluster,
    request_timeout,
    fmt,
    as_json,
    sarif,
):
    """Check a live app: the Secret exists (fingerprint), every workload and pod reads the
    cookie from it, no pod runs with a cookie older than the Secret, no cookie in clear.

    Findings are those of every erlcookie command (rule id, severity, message, fix,
    fingerprint); a finding's path is the live object, e.g. Secret/erlang-cookie. From
    medium severity up a finding is a problem; below, a warning.

    \b
    Exit: 0 all good (warnings at most); 1 problems (listed); 2 usage; 3 API error (a 403
    names the missing permission).
    """
    from erlcookie.audit import audit_cookie
    from erlcookie.k8s.manifests import check_env_name, check_object_name, check_secret_key
    from erlcookie.k8s.selectors import parse_selector
    from erlcookie.k8s.status import StatusOptions, analyze, referenced_configmaps

    fmt = pick_format(fmt, as_json=as_json, sarif=sarif)
    parse_selector(selector)  # a usage error before any network traffic
    check_object_name(secret, "Secret name")
    check_secret_key(key)
    if env is None and mount is None:
        env = DEFAULT_ENV
    if env is not None:
        check_env_name(env)
    with _connect(kubeconfig, context, namespace, in_cluster, request_timeout) as api:
        secret_obj = api.get_secret(secret)
        workloads = api.list_workloads(selector)
        pods = api.list_pods(selector)
        if secret_obj is None and not workloads and not pods:
            _check_namespace(api)
        options = StatusOptions(
            secret=secret,
            key=key,
            env=env,
            mount=mount,
            containers=tuple(container_names) or None,
            namespace=api.namespace,
            selector=selector,
        )
        configmaps = _fetch_configmaps(api, referenced_configmaps(options, workloads + pods))
    report = analyze(
        options, secret_obj, workloads, pods, audit=audit_cookie, configmaps=configmaps
    )
    if fmt != "text":
        click.echo(render_findings(report, fmt), nl=False)
    else:
        _render_status(report)
    if not report.ok:
        sys.exit(EXIT_FINDINGS)


def _check_namespace(api) -> None:
    """Nothing found at all: say so when the namespace itself does not exist (exit 3)."""
    from erlcookie.k8s.api import KubeError

    if api.namespace_exists() is False:
        raise KubeError(
            f"namespace {api.namespace!r} does not exist ({api.origin}); check -n "
            "or the context's namespace"
        )


def _fetch_configmaps(api, names) -> dict:
    """The ConfigMaps workloads read the cookie from; one we may not read is only noted
    (the workload is reported as not wired either way)."""
    from erlcookie.k8s.api import PermissionDenied

    found = {}
    for name in sorted(names):
        try:
            obj = api.get_configmap(name)
        except PermissionDenied:
            _warn(f"cannot get ConfigMap {name} (RBAC): not checked for a cookie in clear")
            continue
        if obj is not None:
            found[name] = obj.get("data") or {}
    return found


def _render_status(report) -> None:
    from erlcookie.cli.common import safe_text

    s = report.secret
    if s.exists:
        click.echo(
            safe_text(
                f"Secret {report.options.namespace}/{s.name} key {report.options.key}: "
                f"{s.fingerprint or 'unusable'}"
                + (f", {s.verdict}" if s.verdict else "")
                + (f", changed {s.changed_at} ({s.changed_at_source})" if s.changed_at else "")
            )
        )
    else:
        click.echo(safe_text(f"Secret {report.options.namespace}/{s.name}: missing"))
    if report.workloads:
        render_table(
            ["workload", "ok", "distribution", "containers"],
            [
                (
                    w.ref,
                    "yes" if w.ok else "NO",
                    w.distribution,
                    ", ".join(f"{k}={v}" for k, v in w.containers.items()),
                )
                for w in report.workloads
            ],
        )
        plain = [w.ref for w in report.workloads if w.distribution != "tls"]
        if plain:
            more = " ..." if len(plain) > 3 else ""
            click.echo(
                safe_text(
                    f"distribution: plain TCP as far as the pod specs show "
                    f"({', '.join(plain[:3])}{more}): the cookie is the only check a network "
                    "peer meets; see `erlcookie k8s tls` and docs/tls.md"
                )
            )
    if report.pods:
        render_table(
            ["pod", "phase", "ip", "ok", "stale", "containers"],
            [
                (
                    p.name,
                    p.phase,
                    p.ip,
                    "yes" if p.ok else "NO",
                    "STALE" if p.stale else "",
                    ", ".join(f"{c.name}={c.binding}" for c in p.containers),
                )
                for p in report.pods
            ],
        )
    for f in report.findings:
        fp = f" ({f.fingerprint})" if f.fingerprint else ""
        # messages quote text the cluster holds (names, annotations): one line each
        click.echo(safe_text(f"{f.level}: {f.path}: {f.message}{fp} [{f.rule_id}, {f.severity}]"))
    click.echo("ok" if report.ok else f"{report.problems} problem(s)")


# -- running where the pods are -------------------------------------------------------------


def _restart_targets(texts) -> list[tuple[str, str]]:
    from erlcookie.rotate.discovery import parse_restart_target

    return [parse_restart_target(t) for t in texts]


@k8s.command("rbac")
@click.argument("command", type=click.Choice(["status", "apply", "rotate"]))
@click.option("-n", "--namespace", required=True, metavar="NS", help="The app's namespace.")
@click.option(
    "--secret",
    default=DEFAULT_SECRET,
    show_default=True,
    help="The cookie Secret (rules on it are narrowed to this name).",
)
@click.option(
    "--service-account",
    "account",
    default="erlcookie",
    show_default=True,
    help="ServiceAccount to create and bind.",
)
@click.option(
    "--role", metavar="NAME", help="Role and RoleBinding name (default <account>-<command>)."
)
@click.option("--restart", is_flag=True, help="rotate: also what --restart needs.")
@click.option(
    "--restart-target",
    multiple=True,
    metavar="KIND/NAME",
    help="rotate --restart: narrow workload access to these. Repeatable.",
)
@click.option("--replace", is_flag=True, help="apply: also what --replace needs.")
@click.option(
    "--no-configmaps",
    is_flag=True,
    help="status: leave out `get configmaps` (status then notes what it skipped).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@handle_errors
def rbac_cmd(
    command, namespace, secret, account, role, restart, restart_target, replace, no_configmaps, fmt
):
    """The least-privilege ServiceAccount, Role and RoleBinding for COMMAND (status: `k8s
    status`; apply: `k8s secret --apply`; rotate: `rotate --secret`), in one namespace.

    \b
    Example:
      erlcookie k8s rbac rotate -n chat --secret erlang-cookie --restart | kubectl apply -f -
    """
    from erlcookie.k8s.manifests import render
    from erlcookie.k8s.rbac import rbac_manifests

    if (restart or restart_target) and command != "rotate":
        raise UsageError("--restart/--restart-target go with `rotate`")
    if restart_target and not restart:
        raise UsageError("--restart-target goes with --restart")
    if replace and command != "apply":
        raise UsageError("--replace goes with `apply`")
    if no_configmaps and command != "status":
        raise UsageError("--no-configmaps goes with `status`")
    needs = {
        "rotate": {"restart": restart, "restart_targets": _restart_targets(restart_target)},
        "apply": {"replace": replace},
        "status": {"configmaps": not no_configmaps},
    }[command]
    click.echo(
        render(
            rbac_manifests(
                command, namespace=namespace, secret=secret, account=account, role=role, **needs
            ),
            fmt,
        ),
        nl=False,
    )


@k8s.group("job")
def job_group():
    """Jobs that run erlcookie inside the cluster, where pod IPs are reachable."""


@job_group.command("rotate")
@click.option("-n", "--namespace", required=True, metavar="NS", help="The app's namespace.")
@click.option("-l", "--selector", metavar="SELECTOR", help="The app's pods, e.g. app=chat.")
@click.option("--secret", default=DEFAULT_SECRET, show_default=True, help="The cookie Secret.")
@click.option("--secret-key", metavar="KEY", help="Its key new pods read (default 'cookie').")
@click.option("--restart", is_flag=True, help="Finally rollout-restart the pods' workloads.")
@click.option("--restart-target", multiple=True, metavar="KIND/NAME", help="Repeatable.")
@click.option("--node-env", multiple=True, metavar="VAR", help="As for `rotate`. Repeatable.")
@click.option("--node-template", metavar="TEMPLATE", help="As for `rotate`.")
@click.option("--container", metavar="NAME", help="As for `rotate`.")
@click.option(
    "--image",
    required=True,
    metavar="IMAGE",
    help="An image with erlcookie installed (see docs/k8s.md).",
)
@click.option(
    "--command",
    "command_text",
    default="erlcookie",
    show_default=True,
    metavar="CMD",
    help="How the image runs erlcookie, e.g. 'python3 -m erlcookie'.",
)
@click.option(
    "--service-account",
    "account",
    default="erlcookie",
    show_default=True,
    help="The ServiceAccount the Job runs as (`erlcookie k8s rbac rotate`).",
)
@click.option("--name", "job_name", default="erlcookie-rotate", show_default=True, help="Job name.")
@click.option(
    "--journal-claim",
    metavar="PVC",
    help="Keep the journal on this PersistentVolumeClaim, so a --resume Job can finish "
    "a failed run (default: an emptyDir, lost with the pod).",
)
@click.option(
    "--resume", is_flag=True, help="A Job that runs `rotate --resume` (needs --journal-claim)."
)
@click.option(
    "--rollback", is_flag=True, help="A Job that runs `rotate --rollback` (needs --journal-claim)."
)
@click.option(
    "--with-rbac", is_flag=True, help="Also emit the ServiceAccount, Role and RoleBinding."
)
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@handle_errors
def job_rotate_cmd(
    namespace,
    selector,
    secret,
    secret_key,
    restart,
    restart_target,
    node_env,
    node_template,
    container,
    image,
    command_text,
    account,
    job_name,
    journal_claim,
    resume,
    rollback,
    with_rbac,
    fmt,
):
    """A Job that runs `erlcookie rotate --in-cluster` as a least-privilege ServiceAccount:
    the old cookie is read from the Secret, a new one generated, the pods found by -l and
    dialled at their IPs.

    \b
    Example:
      erlcookie k8s job rotate -n chat -l app=chat --restart --image registry/erlcookie:1 \\
          --with-rbac | kubectl apply -f -
      kubectl -n chat logs -f job/erlcookie-rotate
    """
    from erlcookie.k8s.manifests import check_env_name, check_secret_key, render
    from erlcookie.k8s.rbac import rbac_manifests, rotate_job, split_command
    from erlcookie.k8s.selectors import parse_selector

    if resume and rollback:
        raise UsageError("--resume and --rollback exclude each other")
    targets = _restart_targets(restart_target)
    if restart_target and not restart:
        raise UsageError("--restart-target goes with --restart")
    if resume or rollback:
        if not journal_claim:
            raise UsageError(
                "--resume/--rollback read the journal a first Job left on --journal-claim; give it"
            )
        given = [
            n
            for n, v in (
                ("-l", selector),
                ("--secret-key", secret_key),
                ("--node-env", node_env),
                ("--node-template", node_template),
                ("--container", container),
                ("--restart", restart),
            )
            if v
        ]
        if given:
            raise UsageError(
                f"--resume/--rollback take their settings from the journal; drop {', '.join(given)}"
            )
        args = ["--resume" if resume else "--rollback"]
    else:
        if not selector:
            raise UsageError("-l SELECTOR: which pods run the cluster?")
        parse_selector(selector)
        args = ["-n", namespace, "-l", selector, "--secret", secret]
        if secret_key:
            args += ["--secret-key", check_secret_key(secret_key)]
        for var in node_env:
            args += ["--node-env", check_env_name(var)]
        if node_template:
            args += ["--node-template", node_template]
        if container:
            args += ["--container", container]
        if restart:
            args.append("--restart")
            for kind, name in targets:
                args += ["--restart-target", f"{kind.lower()}/{name}"]
    objects = []
    if with_rbac:
        objects += rbac_manifests(
            "rotate",
            namespace=namespace,
            secret=secret,
            account=account,
            restart=restart,
            restart_targets=targets,
        )
    objects.append(
        rotate_job(
            args,
            namespace=namespace,
            image=image,
            command=split_command(command_text),
            name=job_name,
            account=account,
            journal_claim=journal_claim,
        )
    )
    click.echo(render(objects, fmt), nl=False)


# -- tls (its own module) --------------------------------------------------------------------
from erlcookie.cli.k8s_tls import k8s_tls_cmd  # noqa: E402

k8s.add_command(k8s_tls_cmd)
