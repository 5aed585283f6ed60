"""`erlcookie rotate`: change a live cluster's cookie with zero failed connections.

The command parses and checks what is asked (`Invocation`), builds the typed settings
(`build_settings` -> `erlcookie.rotate.settings.RotateSettings`, which the journal keeps),
resolves the two cookies, hands both to `erlcookie.rotate.run`, and renders the engine's
events and outcome: rich progress per phase and per node on a terminal, one JSON object per
line with --json, short plain lines otherwise. asyncio, rich, erlang-py and the Kubernetes
client are imported only when the command runs.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from erlcookie.cli.common import (
    cookie_options,
    handle_errors,
    json_option,
    load_cookie,
    markup_safe,
    render_table,
    safe_text,
)
from erlcookie.cli.distribution import connection_options
from erlcookie.errors import EXIT_OK, EXIT_OPERATIONAL, OperationalError, UsageError


# -- rendering -----------------------------------------------------------------------------------
class Renderer:
    """Turns engine events into output. JSON lines on stdout; otherwise text on stdout
    and, on a terminal, a live progress display on stderr."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.started = time.monotonic()
        self.phase_started: dict[str, float] = {}
        self._progress = None
        self._tasks: dict[str, Any] = {}
        self.failures: list[dict] = []
        if not as_json and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from erlcookie.cli.common import console

            self._progress = Progress(  # task fields are rich markup: escaped where set
                TextColumn("{task.description:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[last]}"),
                console=console(stderr=True),
            )
            self._progress.start()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _say(self, text: str) -> None:
        text = safe_text(text)  # node names and details come from the cluster
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            click.echo(text)

    def __call__(self, **event: Any) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(event, default=str, sort_keys=False) + "\n")
            sys.stdout.flush()
            return
        kind = event.get("event")
        if kind == "phase":
            self._phase(event)
        elif kind == "node":
            self._node(event)
        elif kind == "cookies":
            self._say(
                f"old cookie {event['old']} ({event['old_source']}), new cookie "
                f"{event['new']} ({event['new_source']})"
            )
        elif kind == "warning":
            self._say(f"warning: {event.get('message')}")
        elif kind == "rollback":
            self._say(f"rolling back: {event.get('reason')}")

    def _phase(self, event: dict) -> None:
        phase, status = event["phase"], event["status"]
        direction = event.get("direction")
        name = phase if direction != "rollback" else f"rollback {phase}"
        if status == "start":
            self.phase_started[name] = time.monotonic()
            if self._progress is not None:
                total = event.get("pairs") or event.get("members") or None
                self._tasks[name] = self._progress.add_task(name, total=total, last="")
            return
        took = time.monotonic() - self.phase_started.get(name, time.monotonic())
        facts = ", ".join(
            f"{k} {v}"
            for k, v in event.items()
            if k not in ("event", "ts", "phase", "status", "direction", "problems", "detail")
            and v is not None
        )
        if self._progress is not None and name in self._tasks:
            task = self._tasks[name]
            total = self._progress.tasks[self._tasks_index(task)].total
            self._progress.update(
                task, completed=total or 1, total=total or 1, last=f"{status} {took * 1000:.0f} ms"
            )
        else:
            self._say(
                f"{name}: {status}"
                + (f" ({facts})" if facts else "")
                + (f" in {took * 1000:.0f} ms" if status == "done" else "")
            )
        for problem in event.get("problems") or []:
            self._say(
                f"  {problem.get('node') or problem.get('source') or '-'}: "
                f"{problem.get('verdict')}: {problem.get('detail')}"
            )

    def _tasks_index(self, task_id) -> int:
        return [t.id for t in self._progress.tasks].index(task_id)

    def _node(self, event: dict) -> None:
        result = event.get("result")
        phase = event.get("phase") or "converge"
        name = phase if event.get("direction") != "rollback" else f"rollback {phase}"
        if result == "failed":
            self.failures.append(event)
        if result == "failed" or event.get("action") in ("departed", "newcomer", "pin-visible"):
            self._say(
                f"  {event.get('node')}: {event.get('action')} {result}: "
                f"{event.get('detail') or ''}".rstrip()
            )
        if self._progress is not None and name in self._tasks and result == "ok":
            self._progress.update(
                self._tasks[name],
                advance=1,
                last=markup_safe(f"{event.get('node')} {event.get('action')}"),
            )


# -- cookies ---------------------------------------------------------------------------------------
def _explicit(request) -> bool:
    return any(v is not None for v in (request.file, request.env, request.release, request.value))


def _new_cookie(new_file: str | None, new_env: str | None, style: str):
    from erlcookie.cookie.resolve import CookieRequest, resolve_cookie

    if new_file is not None and new_env is not None:
        raise UsageError("give one new cookie source, not --new-cookie-file and --new-cookie-env")
    if new_file is not None or new_env is not None:
        return resolve_cookie(CookieRequest(file=new_file, env=new_env))
    from erlcookie.cookie.generate import generate

    return generate(style)


def _audit_new(cookie) -> None:
    from erlcookie.audit import audit_cookie

    result = audit_cookie(cookie)
    if result.verdict != "ok":
        reasons = "; ".join(f"{r.code}: {r.message}" for r in result.reasons[:3])
        raise UsageError(
            f"the new cookie ({cookie.fingerprint()}) fails the audit: "
            f"{result.verdict} ({result.bits:g} bits){': ' + reasons if reasons else ''}"
        )


# -- settings --------------------------------------------------------------------------------------
def parse_owner(text: str) -> tuple[int, int]:
    """`USER[:GROUP]` (names or numbers) -> (uid, gid); the user's group when none is given."""
    import grp
    import pwd

    user, _, group = text.partition(":")
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
    except KeyError:
        if not user.isdigit():
            raise UsageError(
                f"--persist-owner {text!r}: no user {user!r} on this machine"
            ) from None
        uid, gid = int(user), None
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise UsageError(
                f"--persist-owner {text!r}: no group {group!r} on this machine"
            ) from None
    if gid is None:
        raise UsageError(f"--persist-owner {text!r}: uid {uid} has no entry here; write UID:GID")
    return uid, gid


def build_settings(o: dict, conn_opts: dict):
    """Options -> `RotateSettings` (the journal keeps them); UsageError on a bad combination."""
    from erlcookie.rotate import discovery as disc
    from erlcookie.rotate import settings as st

    if conn_opts["dist_port"] is not None:
        raise UsageError("--dist-port names one node's port; use --node-host NODE=ADDR:PORT")
    nodes = disc.parse_nodes(o["nodes_text"]) if o["nodes_text"] is not None else []
    epmd_hosts = [disc.parse_epmd_host(h, conn_opts["epmd_port"]) for h in o["epmd_host"]]
    if o["epmd_match"] and not epmd_hosts:
        raise UsageError("--epmd-match filters --epmd-host; give --epmd-host too")
    node_hosts = disc.parse_host_map(o["node_host"])
    kube_wanted = bool(o["selector"])
    k8s_only = [
        name
        for name, value in (
            ("--node-env", o["node_env"]),
            ("--node-template", o["node_template"]),
            ("--container", o["container"]),
            ("--port-forward", o["port_forward"]),
            ("--dial-by-name", o["dial_by_name"]),
            ("--restart", o["restart"]),
        )
        if value
    ]
    if k8s_only and not kube_wanted:
        raise UsageError(f"{', '.join(k8s_only)} work with Kubernetes discovery: add -l SELECTOR")
    if o["port_forward"] and o["dial_by_name"]:
        raise UsageError("--port-forward and --dial-by-name exclude each other")
    if not (nodes or epmd_hosts or kube_wanted):
        raise UsageError(
            "which nodes? give --nodes A@H,B@H, --epmd-host HOST, or -l SELECTOR (Kubernetes)"
        )
    stores = [
        n
        for n, v in (
            ("--secret", o["secret"]),
            ("--persist-file", o["persist_file"]),
            ("--persist-command", o["persist_command"]),
            ("--no-persist", o["no_persist"]),
        )
        if v
    ]
    if len(stores) > 1:
        raise UsageError(f"give one place to persist the new cookie, not {' and '.join(stores)}")
    if not stores:
        raise UsageError(
            "where do new nodes read the cookie? give --secret NAME (Kubernetes), "
            "--persist-file PATH, --persist-command CMD, or --no-persist"
        )
    if (o["secret_key"] or o["secret_old_key"]) and not o["secret"]:
        raise UsageError("--secret-key/--secret-old-key go with --secret")
    if o["persist_owner"] and not o["persist_file"]:
        raise UsageError("--persist-owner goes with --persist-file")
    if o["restart_target"] and not o["restart"]:
        raise UsageError("--restart-target goes with --restart")
    tls = conn_opts["tls"]
    persist: st.PersistSettings
    if o["secret"]:
        persist = st.SecretStore(
            o["secret"],
            namespace=o["namespace"],
            key=o["secret_key"] or st.DEFAULT_SECRET_KEY,
            previous_key=o["secret_old_key"],
        )
    elif o["persist_file"]:
        persist = st.FileStore(
            str(Path(o["persist_file"]).expanduser().absolute()),
            owner=parse_owner(o["persist_owner"]) if o["persist_owner"] else None,
        )
    elif o["persist_command"]:
        persist = st.CommandStore(o["persist_command"])
    else:
        persist = st.NoStore()
    kube_discovery = None
    if kube_wanted:
        kube_discovery = st.KubeDiscoverySettings(
            o["selector"],
            namespace=o["namespace"],
            env=tuple(o["node_env"]) or st.DEFAULT_NODE_ENV,
            template=o["node_template"],
            container=o["container"],
            port_forward=o["port_forward"],
            dial_by_name=o["dial_by_name"],
        )
    return st.RotateSettings(
        discovery=st.DiscoverySettings(
            nodes=tuple(nodes),
            epmd_hosts=tuple(epmd_hosts),
            epmd_match=o["epmd_match"],
            kubernetes=kube_discovery,
        ),
        dial=st.DialSettings(
            epmd_port=conn_opts["epmd_port"],
            host=conn_opts["host"],
            nodes={n: st.NodeDial(d.host, d.dist_port) for n, d in node_hosts.items()},
            tls=None
            if tls is None
            else st.TlsSettings(
                certfile=tls.certfile,
                keyfile=tls.keyfile,
                cafile=tls.cafile,
                verify_hostname=tls.verify_hostname,
                server_name=tls.server_name,
            ),
            timeout=conn_opts["timeout"],
        ),
        kube=st.KubeSettings(
            kubeconfig=o["kubeconfig"],
            context=o["context"],
            in_cluster=True if o["in_cluster"] else None,
            request_timeout=o["request_timeout"],
        ),
        persist=persist,
        restart=st.RestartSettings(
            enabled=o["restart"],
            targets=tuple(disc.parse_restart_target(t) for t in o["restart_target"]),
            timeout=o["restart_timeout"],
        ),
        concurrency=o["concurrency"],
        converge_timeout=o["converge_timeout"],
        converge_settle=o["converge_settle"],
    )


def _journal_path(path: str | None) -> Path:
    from erlcookie.rotate.journal import default_journal_path

    return Path(path).expanduser().absolute() if path else default_journal_path()


def _given_on_command_line(names: list[str]) -> list[str]:
    from click.core import ParameterSource

    ctx = click.get_current_context()
    return [n for n in names if ctx.get_parameter_source(n) is ParameterSource.COMMANDLINE]


def _check_crash_point(point: str | None) -> None:
    from erlcookie.rotate.plan import CRASH_POINTS

    if point and point not in CRASH_POINTS:
        raise UsageError(f"--crash-at {point!r}: one of {', '.join(CRASH_POINTS)}")


# -- the command -----------------------------------------------------------------------------------
@click.command()
@click.option(
    "--nodes",
    "nodes_text",
    metavar="A@H,B@H",
    help="Members by name (one is enough: their visible peers are found).",
)
@click.option(
    "--epmd-host",
    multiple=True,
    metavar="HOST[:PORT][=NAMEHOST]",
    help="Every node registered in HOST's EPMD; NAMEHOST is the host part of their "
    "names when it differs from HOST. Repeatable.",
)
@click.option("--epmd-match", metavar="GLOB", help="Only EPMD names matching GLOB (e.g. 'chat*').")
@click.option(
    "--node-host",
    multiple=True,
    metavar="NODE=ADDR[:DISTPORT]",
    help="Dial ADDR for NODE (and skip EPMD with DISTPORT, e.g. a port-forward). Repeatable.",
)
@connection_options
@click.option(
    "-n", "--namespace", metavar="NS", help="Kubernetes namespace (default: the context's)."
)
@click.option(
    "-l",
    "--selector",
    metavar="SELECTOR",
    help="Kubernetes: the pods of the cluster, by label selector (e.g. app=chat).",
)
@click.option("--context", metavar="NAME", help="Kubeconfig context.")
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False), metavar="PATH", help="Kubeconfig file."
)
@click.option("--in-cluster", is_flag=True, help="Use the pod's service account.")
@click.option(
    "--request-timeout",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    metavar="SECONDS",
    help="Deadline of each Kubernetes API request, retries included.",
)
@click.option(
    "--node-env",
    multiple=True,
    metavar="VAR",
    help="Pod env variable holding the node name (default RELEASE_NODE). Repeatable.",
)
@click.option(
    "--node-template",
    metavar="TEMPLATE",
    help="Node name from pod facts when no env says it, e.g. 'chat@{pod_ip}' "
    "({pod_ip} {pod_ip_dashed} {pod_name} {namespace} {hostname} {subdomain}).",
)
@click.option("--container", metavar="NAME", help="The pods' Erlang container (default: any).")
@click.option(
    "--port-forward",
    is_flag=True,
    help="Reach pods through `kubectl port-forward` (from a laptop).",
)
@click.option(
    "--dial-by-name",
    is_flag=True,
    help="Reach pods at the host part of their node names instead of their pod IPs.",
)
@cookie_options
@click.option(
    "--new-cookie-file",
    metavar="PATH",
    help="The new cookie from PATH ('-' for stdin). Default: a generated one.",
)
@click.option(
    "--new-cookie-env", metavar="VAR", help="The new cookie from environment variable VAR."
)
@click.option(
    "--style",
    type=click.Choice(["elixir", "erlang", "base32", "hex"]),
    default="elixir",
    show_default=True,
    help="Style of a generated new cookie.",
)
@click.option(
    "--secret",
    metavar="NAME",
    help="Persist to this Kubernetes Secret (the old cookie is read from it too when "
    "no cookie option is given).",
)
@click.option(
    "--secret-key", metavar="KEY", help="The Secret's key new pods read (default 'cookie')."
)
@click.option(
    "--secret-old-key",
    metavar="KEY",
    help="Where the old cookie is kept until the end (default '<key>.old').",
)
@click.option(
    "--persist-file",
    metavar="PATH",
    help="Persist to a cookie file (atomic, owner-only; an existing file keeps its "
    "owner, group and mode).",
)
@click.option(
    "--persist-owner",
    metavar="USER[:GROUP]",
    help="Owner of the --persist-file (needed when it does not exist yet and its "
    "directory belongs to another user, e.g. rabbitmq).",
)
@click.option(
    "--persist-command",
    metavar="CMD",
    help="Persist by running `sh -c CMD` with the new cookie on stdin.",
)
@click.option("--no-persist", is_flag=True, help="Store the new cookie yourself.")
@click.option(
    "--restart",
    is_flag=True,
    help="Finally rollout-restart the pods' workloads and wait for readiness.",
)
@click.option(
    "--restart-target",
    multiple=True,
    metavar="KIND/NAME",
    help="Workload to restart (default: the pods' owners). Repeatable.",
)
@click.option(
    "--restart-timeout",
    type=click.FloatRange(1, 86400),
    default=600.0,
    show_default=True,
    metavar="SECONDS",
)
@click.option(
    "--dry-run", is_flag=True, help="Check everything and print the plan; change nothing."
)
@click.option("--resume", is_flag=True, help="Finish the rotation recorded in the journal.")
@click.option(
    "--rollback", is_flag=True, help="Return the cluster in the journal to the old cookie."
)
@click.option(
    "--journal",
    "journal_opt",
    metavar="PATH",
    help="Journal path (default $XDG_STATE_HOME/erlcookie/rotate.journal.json).",
)
@click.option(
    "--no-secrets-file",
    is_flag=True,
    help="Keep no copy of the cookies next to the journal; --resume/--rollback then "
    "need --cookie-file and --new-cookie-file again.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1024),
    default=32,
    show_default=True,
    help="Nodes worked on at once.",
)
@click.option(
    "--converge-timeout",
    type=click.FloatRange(0, 3600),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for membership to settle (pods still starting).",
)
@click.option(
    "--converge-settle",
    type=click.FloatRange(0, 600),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="After persisting, keep rediscovering at least this long, to adopt nodes "
    "that were booting with the old cookie.",
)
@click.option(
    "--crash-at",
    hidden=True,
    envvar="ERLCOOKIE_ROTATE_CRASH_AT",
    help="Testing: SIGKILL this process at a named phase boundary.",
)
@json_option
@handle_errors
def rotate(
    cookie_request,
    conn_opts,
    new_cookie_file,
    new_cookie_env,
    style,
    dry_run,
    resume,
    rollback,
    journal_opt,
    no_secrets_file,
    crash_at,
    as_json,
    **o,
):
    """Rotate a live cluster's cookie with zero failed connections.

    Cookies are checked only in the handshake, and a node can hold a cookie per peer. So:
    preflight (every node accepts the old cookie, the new one passes the audit, nothing
    unreachable), switch (each node pins the old cookie for its peers, then runs the new
    one), persist (where new nodes read it), converge (adopt nodes that appeared
    meanwhile), unpin (pair by pair, both ends set while one node's net_kernel is briefly
    paused), verify (every node accepts the new cookie and refuses the old), finalize, and
    --restart.

    If the switch fails anywhere, the switched nodes are rolled back before anything is
    persisted. A 0600 journal makes it resumable: `--resume` finishes after a crash,
    `--rollback` returns to the old cookie. Cookies are never printed; fingerprints are.

    \b
    Examples:
      erlcookie rotate -n chat -l app=chat --secret erlang-cookie --restart
      erlcookie rotate --nodes a@10.0.0.5 --cookie-file ~/.erlang.cookie \\
          --new-cookie-file new.cookie --persist-file /etc/chat/cookie --dry-run
      erlcookie rotate --resume
    """
    invocation = Invocation.parse(
        cookie_request,
        new_cookie_file,
        new_cookie_env,
        style,
        dry_run,
        resume,
        rollback,
        journal_opt,
        no_secrets_file,
        crash_at,
        as_json,
    )
    renderer = Renderer(as_json)
    started = time.monotonic()
    try:
        outcome = _run(invocation, o, conn_opts, renderer)
    finally:
        renderer.close()
    _render_outcome(outcome, as_json, time.monotonic() - started)


# -- the steps of the command ------------------------------------------------------------------
@dataclass(frozen=True)
class Invocation:
    """What the command line asks for, checked: a new rotation, --resume or --rollback."""

    mode: str  # "new", "resume" or "rollback"
    journal: Path
    cookie_request: Any
    new_cookie_file: str | None
    new_cookie_env: str | None
    style: str
    dry_run: bool
    keep_secrets_file: bool
    crash_at: str | None
    as_json: bool

    @classmethod
    def parse(
        cls,
        cookie_request,
        new_cookie_file,
        new_cookie_env,
        style,
        dry_run,
        resume,
        rollback,
        journal_opt,
        no_secrets_file,
        crash_at,
        as_json,
    ) -> Invocation:
        _check_crash_point(crash_at)
        if resume and rollback:
            raise UsageError("--resume and --rollback exclude each other")
        if (resume or rollback) and dry_run:
            raise UsageError(
                "--dry-run plans a new rotation; it does not go with --resume/--rollback"
            )
        if cookie_request.file == "-" and new_cookie_file == "-":
            raise UsageError("stdin cannot carry both the old and the new cookie")
        mode = "resume" if resume else "rollback" if rollback else "new"
        return cls(
            mode,
            _journal_path(journal_opt),
            cookie_request,
            new_cookie_file,
            new_cookie_env,
            style,
            dry_run,
            not no_secrets_file,
            crash_at,
            as_json,
        )

    @property
    def cookies_given(self) -> bool:
        return _explicit(self.cookie_request) or bool(self.new_cookie_file or self.new_cookie_env)


def _run(inv: Invocation, o: dict, conn_opts: dict, renderer: Renderer):
    """Lock the journal, gather settings and cookies, and drive the rotation."""
    import signal

    from erlcookie.rotate import journal as jmod

    # SIGTERM ends a rotation the way Ctrl-C does: the running step is cancelled, child
    # processes are stopped, the journal is saved, and we exit 3 saying how to go on.
    try:
        previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        previous = None
    try:
        with jmod.locked(inv.journal):
            if inv.mode == "new":
                return _start(inv, o, conn_opts, renderer)
            return _resume(inv, o, renderer)
    except KeyboardInterrupt:
        renderer.close()
        raise OperationalError(
            "interrupted; finish with `erlcookie rotate --resume` (it reads "
            "every node back and repairs anything left half-done) or undo "
            f"with --rollback (journal {inv.journal})"
        ) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_as_interrupt(signum, frame) -> None:
    import signal

    signal.raise_signal(signal.SIGINT)  # asyncio.run cancels its task on SIGINT


def _start(inv: Invocation, o: dict, conn_opts: dict, renderer: Renderer):
    import asyncio

    from erlcookie.rotate import journal as jmod
    from erlcookie.rotate import run
    from erlcookie.rotate.plan import NEW, OLD
    from erlcookie.rotate.settings import SecretStore

    if inv.journal.exists() or inv.journal.is_symlink():
        previous = jmod.Journal.load(inv.journal)
        if not previous.finished:
            raise UsageError(
                f"a rotation is unfinished (journal {inv.journal}, status "
                f"{previous.status}): run with --resume or --rollback first, or "
                "give another --journal"
            )
    settings = build_settings(o, conn_opts)
    if _explicit(inv.cookie_request) or not isinstance(settings.persist, SecretStore):
        old = load_cookie(inv.cookie_request)
    else:
        old = run.old_cookie_from_secret(settings)
    new = _new_cookie(inv.new_cookie_file, inv.new_cookie_env, inv.style)
    if old == new:
        raise UsageError("the new cookie is the old one")
    _audit_new(new)
    renderer(
        event="cookies",
        ts=round(time.time(), 3),
        old=old.fingerprint(),
        new=new.fingerprint(),
        old_source=old.source,
        new_source=new.source,
    )
    return asyncio.run(
        run.start(
            settings,
            {OLD: old, NEW: new},
            inv.journal,
            emit=renderer,
            dry_run=inv.dry_run,
            keep_secrets_file=inv.keep_secrets_file,
            crash_at=inv.crash_at,
        )
    )


def _resume(inv: Invocation, o: dict, renderer: Renderer):
    import asyncio

    from erlcookie.rotate import journal as jmod
    from erlcookie.rotate import run
    from erlcookie.rotate.plan import NEW, OLD

    given = _given_on_command_line(
        list(o)
        + [
            "host",
            "epmd_port",
            "dist_port",
            "timeout",
            "tls_cert",
            "tls_key",
            "tls_ca",
            "style",
            "no_secrets_file",
        ]
    )
    if given:
        raise UsageError(
            "--resume/--rollback take their settings from the journal; "
            f"drop {', '.join('--' + g.replace('_', '-') for g in given)}"
        )
    journal = jmod.Journal.load(inv.journal)
    if journal.finished:
        raise UsageError(
            f"the rotation in {inv.journal} is already {journal.status}; nothing "
            f"to {'resume' if inv.mode == 'resume' else 'roll back'}"
        )
    if inv.cookies_given:
        if not (_explicit(inv.cookie_request) and (inv.new_cookie_file or inv.new_cookie_env)):
            raise UsageError(
                "give both cookies again (old: --cookie-file..., new: "
                "--new-cookie-file/--new-cookie-env), or neither"
            )
        cookies = {
            OLD: load_cookie(inv.cookie_request),
            NEW: _new_cookie(inv.new_cookie_file, inv.new_cookie_env, inv.style),
        }
        jmod.check_fingerprints(cookies, journal.fingerprints)
    elif journal.secrets_file:
        cookies = jmod.read_secrets(journal.secrets_file, journal.fingerprints)
    else:
        raise UsageError(
            "this journal keeps no secrets file: give the old cookie "
            "(--cookie-file...) and the new one (--new-cookie-file)"
        )
    return asyncio.run(
        run.resume(
            journal, cookies, emit=renderer, rollback=inv.mode == "rollback", crash_at=inv.crash_at
        )
    )


def _render_outcome(outcome, as_json: bool, took: float) -> None:
    from erlcookie.rotate.engine import ROLLBACK_REQUESTED, RolledBack

    if outcome.status == "dry_run":
        _render_plan(outcome, as_json)
        sys.exit(EXIT_OK)
    journal = outcome.journal
    if outcome.status == "rolled_back":
        reason = journal.data.get("rollback_reason") if journal else None
        if reason and reason != ROLLBACK_REQUESTED:
            raise RolledBack(
                f"{reason}; rolled back: every remaining node runs the old cookie "
                f"again, "
                + (
                    "and the store holds the old cookie"
                    if journal.data.get("store_touched")
                    else "nothing was persisted"
                )
                + f" (journal {journal.path})"
            )
    if not as_json:
        fps = journal.fingerprints
        target = journal.target
        other = "old" if target == "new" else "new"
        click.echo(
            f"{outcome.status}: {len(journal.members)} node(s) run the {target} cookie "
            f"{fps[target]} and refuse the {other} one {fps[other]} ({took:.2f} s)"
        )
    sys.exit(EXIT_OK)


def _render_plan(outcome, as_json: bool) -> None:
    if as_json:
        return  # the plan event was emitted already
    click.echo("dry run: nothing was changed. Members (all accept the old cookie):")
    render_table(["node"], [(m,) for m in outcome.report.members])
    click.echo("Plan:")
    for line in outcome.summary.lines():
        click.echo(f"  {line}")


__all__ = ["rotate", "EXIT_OPERATIONAL"]
