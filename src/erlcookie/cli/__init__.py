"""The `erlcookie` command line (also installed as `kubectl-erlcookie`).

Subcommands are imported only when they run, so `erlcookie --help` and `erlcookie audit`
start fast enough for a pre-commit hook. Each entry names its module and one help line.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from erlcookie import __version__
from erlcookie.errors import EXIT_OPERATIONAL, ErlcookieError

# name -> (module:attribute, one-line help). Keep in the order users meet them.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("erlcookie.cli.generate:generate", "Generate a strong cookie (to stdout or a 0400 file)."),
    "audit": ("erlcookie.cli.audit:audit", "Judge a cookie: strength, weak values, OTP-generator predictability."),
    "fingerprint": ("erlcookie.cli.fingerprint:fingerprint_cmd", "Show a cookie's fingerprint, to compare without revealing."),
    "nodes": ("erlcookie.cli.distribution:nodes", "List the nodes registered in a host's EPMD."),
    "ping": ("erlcookie.cli.distribution:ping", "Check that nodes accept a cookie, by a real handshake."),
    "info": ("erlcookie.cli.distribution:info", "Connect to nodes and report OTP release, peers, cookie match, TLS."),
    "release": ("erlcookie.cli.release:release", "Check and fix releases so they read RELEASE_COOKIE."),
    "scan": ("erlcookie.cli.scan:scan", "Find leaked and weak cookies in trees, staged changes and git history."),
    "k8s": ("erlcookie.cli.k8s:k8s", "Kubernetes: cookie Secret, wire workloads, NetworkPolicy, live status."),
    "rotate": ("erlcookie.cli.rotate:rotate", "Rotate a live cluster's cookie with zero failed connections."),
}


def _available(target: str) -> bool:
    module = target.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return [name for name, (target, _) in COMMANDS.items() if _available(target)]

    def get_command(self, ctx, name):
        entry = COMMANDS.get(name)
        if entry is None or not _available(entry[0]):
            return None
        module, attr = entry[0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                               "max_content_width": 100})
@click.version_option(__version__, prog_name="erlcookie")
def cli():
    """Erlang/Elixir distribution cookies, without the pain and the danger.

    Exit codes: 0 ok, 1 findings or failed check, 2 usage error, 3 operational error.
    Cookie values are never printed unless you ask (--reveal); fingerprints stand in.
    """


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="erlcookie", standalone_mode=True)
    except ErlcookieError as exc:  # raised outside click's own handling
        click.echo(f"erlcookie: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("erlcookie: interrupted", err=True)
        sys.exit(EXIT_OPERATIONAL)
