"""`erlcookie nodes`, `erlcookie ping`, `erlcookie info`: talk to live nodes.

The commands parse options, call erlcookie.distribution and render. asyncio, ssl, erlang-py and
rich are imported only inside the commands, to keep `erlcookie --help` fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import click

from erlcookie.cli.common import (
    cookie_options,
    emit_json,
    handle_errors,
    json_option,
    load_cookie,
    render_table,
    safe_text,
)
from erlcookie.errors import UsageError

PROGRESS_THRESHOLD = 5  # show a progress bar on a terminal from this many nodes on


def _epmd_port_option(func: Callable) -> Callable:
    from erlcookie.distribution.epmd import EPMD_PORT

    return click.option(
        "--epmd-port",
        type=click.IntRange(1, 65535),
        default=EPMD_PORT,
        envvar="ERL_EPMD_PORT",
        show_default=True,
        help="EPMD's port (also from $ERL_EPMD_PORT, as OTP reads it).",
    )(func)


def _timeout_option(func: Callable) -> Callable:
    return click.option(
        "--timeout",
        type=click.FloatRange(0.01, 3600),
        default=5.0,
        show_default=True,
        metavar="SECONDS",
        help="Per node: EPMD lookup, connect and handshake together.",
    )(func)


def connection_options(func: Callable) -> Callable:
    """Where and how to reach nodes; the command receives `conn_opts` (dict) and `tls`."""

    @click.option(
        "--host",
        metavar="HOST",
        help="Dial HOST instead of each node's host part (port-forwards, IPs).",
    )
    @_epmd_port_option
    @click.option(
        "--dist-port",
        type=click.IntRange(1, 65535),
        metavar="PORT",
        help="The node's distribution port: skip EPMD (one node only).",
    )
    @_timeout_option
    @click.option(
        "--tls-cert",
        type=click.Path(dir_okay=False),
        metavar="PEM",
        help="Client certificate for TLS distribution (-proto_dist inet_tls).",
    )
    @click.option(
        "--tls-key",
        type=click.Path(dir_okay=False),
        metavar="PEM",
        help="Private key of --tls-cert.",
    )
    @click.option(
        "--tls-ca",
        type=click.Path(dir_okay=False),
        metavar="PEM",
        help="CA that signed the nodes' certificates; turns TLS on.",
    )
    @click.option(
        "--tls-server-name",
        metavar="NAME",
        help="Name to check the node's certificate against (default: the host dialled).",
    )
    @click.option(
        "--no-tls-hostname-check",
        is_flag=True,
        help="Trust any certificate the CA signed, whatever host it names.",
    )
    @functools.wraps(func)
    def wrapper(
        *args,
        host,
        epmd_port,
        dist_port,
        timeout,
        tls_cert,
        tls_key,
        tls_ca,
        tls_server_name,
        no_tls_hostname_check,
        **kwargs,
    ):
        tls = None
        if tls_cert or tls_key or tls_ca or tls_server_name or no_tls_hostname_check:
            from erlcookie.distribution.tls import TlsOptions

            tls = TlsOptions(
                certfile=tls_cert,
                keyfile=tls_key,
                cafile=tls_ca,
                verify_hostname=not no_tls_hostname_check,
                server_name=tls_server_name,
            )
        kwargs["conn_opts"] = {
            "host": host,
            "epmd_port": epmd_port,
            "dist_port": dist_port,
            "timeout": timeout,
            "tls": tls,
        }
        return func(*args, **kwargs)

    return wrapper


def _node_list(
    nodes: tuple[str, ...], nodes_file: str | None, conn_opts: dict, cookie_request
) -> list:
    from erlcookie.distribution.nodename import NodeName
    from erlcookie.inputs import read_bounded_text

    if conn_opts["tls"] is not None:
        conn_opts["tls"].context()  # bad paths and files are usage errors, before any network
    names = list(nodes)
    if nodes_file is not None:
        if nodes_file == "-" and cookie_request.file == "-":
            raise UsageError("stdin cannot carry both the cookie and the node list")
        try:
            text = read_bounded_text(
                nodes_file, limit=1 << 20, what="--nodes-file", deadline=conn_opts["timeout"]
            )
        except OSError as exc:
            raise UsageError(f"cannot read --nodes-file {nodes_file}: {exc.strerror}") from None
        names += [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    if not names:
        raise UsageError("give at least one NODE (name@host), or --nodes-file")
    if conn_opts["dist_port"] is not None and len(names) != 1:
        raise UsageError("--dist-port names one node's port: give exactly one NODE")
    parsed = [NodeName.parse(n) for n in names]
    seen: set = set()
    unique = []
    for name in parsed:  # each node once, in the order given
        if name not in seen:
            seen.add(name)
            unique.append(name)
    return unique


def _node_command(name: str, *, concurrency: int, concurrency_help: str) -> Callable:
    """The options `ping` and `info` share: nodes, cookie, connection, concurrency, --json."""

    def decorate(func: Callable) -> Callable:
        func = handle_errors(func)
        func = json_option(func)
        func = click.option(
            "--concurrency",
            type=click.IntRange(1, 10000),
            default=concurrency,
            show_default=True,
            help=concurrency_help,
        )(func)
        func = connection_options(func)
        func = cookie_options(func)
        func = click.option(
            "--nodes-file",
            metavar="PATH",
            help="Also read node names from PATH, one per line ('-' for stdin).",
        )(func)
        func = click.argument("node_args", metavar="NODE...", nargs=-1)(func)
        return click.command(name)(func)

    return decorate


class _Progress:
    """A rich progress bar on stderr when it is a terminal and there are many nodes."""

    def __init__(self, total: int, label: str) -> None:
        self._bar = None
        if total >= PROGRESS_THRESHOLD and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from erlcookie.cli.common import console

            self._bar = Progress(
                TextColumn(label),
                BarColumn(),
                MofNCompleteColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self._task = self._bar.add_task(label, total=total)

    def __enter__(self):
        if self._bar is not None:
            self._bar.start()
        return self

    def advance(self, *_):
        if self._bar is not None:
            self._bar.advance(self._task)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()


# -- nodes -------------------------------------------------------------------------------------
@click.command("nodes")
@click.argument("host", required=False, default="localhost")
@_epmd_port_option
@_timeout_option
@json_option
@handle_errors
def nodes(host, epmd_port, timeout, as_json):
    """List the node names and distribution ports registered in HOST's EPMD.

    HOST defaults to localhost. This needs no cookie: EPMD answers anyone, which is why
    its port (4369) should not be reachable from outside the cluster.
    """
    import asyncio

    from erlcookie.distribution.client import epmd_names

    reply = asyncio.run(epmd_names(host, epmd_port=epmd_port, timeout=timeout))
    rows = sorted(reply.nodes)
    if as_json:
        emit_json(
            {
                "host": host,
                "epmd_port": epmd_port,
                "nodes": [{"name": n, "port": p} for n, p in rows],
            }
        )
        return
    if not rows:
        click.echo(f"no nodes registered in EPMD at {safe_text(host)}:{epmd_port}", err=True)
        return
    render_table(["name", "port"], rows)


# -- ping --------------------------------------------------------------------------------------
@_node_command("ping", concurrency=64, concurrency_help="Handshakes in flight at once.")
def ping(node_args, nodes_file, cookie_request, conn_opts, concurrency, as_json):
    """Check that each NODE (name@host) accepts the cookie, by a real handshake.

    One verdict per node: accepted, rejected (wrong cookie), not_allowed, no_such_node,
    unreachable, timeout, protocol_error. We connect as a hidden node under a random
    name, never register with EPMD, and drop the connection right after the handshake.

    Exit 0 only when every node accepted; 1 when a node refused (rejected, not_allowed,
    no_such_node); 3 when some node could not be checked (unreachable, timeout,
    protocol_error).
    """
    from erlcookie.distribution.verdicts import ACCEPTED, exit_code

    names = _node_list(node_args, nodes_file, conn_opts, cookie_request)
    cookie = load_cookie(cookie_request, deadline=conn_opts["timeout"])
    if len(names) == 1:
        # One node: a blocking driver; importing asyncio would cost more than the ping.
        from erlcookie.distribution.blocking import ping_blocking

        results = [ping_blocking(names[0], cookie, **conn_opts)]
    else:
        import asyncio

        from erlcookie.distribution.client import ping_many

        with _Progress(len(names), "pinging") as progress:
            results = asyncio.run(
                ping_many(
                    names, cookie, concurrency=concurrency, on_result=progress.advance, **conn_opts
                )
            )
    summary: dict[str, int] = {}
    for result in results:
        summary[result.verdict] = summary.get(result.verdict, 0) + 1
    if as_json:
        emit_json(
            {
                "cookie_source": cookie.source,
                "summary": summary,
                "results": [r.to_dict() for r in results],
            }
        )
    else:
        render_table(
            ["node", "verdict", "ms", "detail"],
            [
                (
                    r.node,
                    r.verdict,
                    f"{r.elapsed * 1000:.1f}",
                    "" if r.verdict == ACCEPTED else r.detail,
                )
                for r in results
            ],
        )
        if len(results) > 1:
            click.echo(", ".join(f"{n} {v}" for v, n in summary.items()), err=True)
    sys.exit(exit_code(r.verdict for r in results))


# -- info --------------------------------------------------------------------------------------
def _info_rows(info) -> list[tuple[str, str]]:
    def yes_no(value):
        return "-" if value is None else ("yes" if value else "NO")

    rows = [("verdict", info.verdict)]
    if info.verdict != "accepted":
        rows.append(("detail", info.detail))
        if info.tls:
            rows.append(("tls", info.tls))
        return rows
    rows += [
        ("node", info.node_name or "-"),
        ("address", f"{info.address} ({info.transport})"),
        ("otp release", f"{info.otp_release or '-'} (erts {info.erts_version or '-'})"),
        ("proto_dist", info.proto_dist or "-"),
        ("tls", info.tls or "-"),
        ("peer check", info.peer_check or "-"),
        ("cookie accepted", yes_no(info.handshake_cookie_matches) + " (proven by the handshake)"),
        (
            "own cookie matches",
            yes_no(info.own_cookie_matches)
            + (f" ({info.own_cookie_fingerprint})" if info.own_cookie_fingerprint else ""),
        ),
        ("visible nodes", ", ".join(info.visible_nodes) or "-"),
        ("hidden nodes", ", ".join(info.hidden_nodes) or "-"),
        (
            "peers on another cookie",
            (", ".join(info.peers_with_other_cookie) or "none")
            + f" (of {info.peers_checked} checked)",
        ),
    ]
    rows += [("error", e) for e in info.errors]
    return rows


@_node_command("info", concurrency=16, concurrency_help="Nodes queried at once.")
def info(node_args, nodes_file, cookie_request, conn_opts, concurrency, as_json):
    """Connect to each NODE and report what an operator needs.

    OTP release, node name, connected nodes (visible and hidden), whether the node's own
    cookie matches ours and which connected peers it talks to on another cookie (per-peer
    pins, as a rotation leaves them), all compared by fingerprint and never printed, and
    whether the node runs TLS distribution.

    --timeout bounds all of it per node: connect, handshake and every question.

    Exit 0 when every node answered every question and runs our cookie as its own; 1 when
    a node refused us or its own cookie differs; 3 when some node could not be reached or
    left a question unanswered (an rpc failed, timed out or gave a malformed answer).
    """
    import asyncio

    from erlcookie.distribution.info import exit_code, node_info

    names = _node_list(node_args, nodes_file, conn_opts, cookie_request)
    cookie = load_cookie(cookie_request, deadline=conn_opts["timeout"])

    async def run_all(progress):
        gate = asyncio.Semaphore(concurrency)

        async def one(name):
            async with gate:
                result = await node_info(name, cookie, **conn_opts)
            progress.advance()
            return result

        return await asyncio.gather(*(one(n) for n in names))

    with _Progress(len(names), "querying") as progress:
        infos = asyncio.run(run_all(progress))
    if as_json:
        emit_json(
            {
                "cookie_source": cookie.source,
                "cookie_fingerprint": cookie.fingerprint(),
                "nodes": [i.to_dict() for i in infos],
            }
        )
    else:
        click.echo(f"our cookie: {cookie.fingerprint()} (from {cookie.source})")
        for item in infos:
            render_table(["field", "value"], _info_rows(item), title=item.node)
    sys.exit(exit_code(infos))
