"""The `erlcookie` command line (also installed as `kubectl-erlcookie`).

Subcommands are imported only when they run, so `erlcookie --help` and `erlcookie audit`
start fast enough for a pre-commit hook. Each entry names its module and one help line.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import io
import os
import sys

import click

from erlcookie import __version__
from erlcookie.errors import EXIT_OPERATIONAL, ErlcookieError

DEBUG_ENV = "ERLCOOKIE_DEBUG"  # set to 1 to see the traceback of an unexpected error

# name -> (module:attribute, one-line help). Keep in the order users meet them: the main
# job (doctor) first.
COMMANDS: dict[str, tuple[str, str]] = {
    "doctor": (
        "erlcookie.cli.doctor:doctor",
        "Diagnose a whole project (release, Kubernetes, leaks) and fix what is safe.",
    ),
    "generate": (
        "erlcookie.cli.generate:generate",
        "Generate a strong cookie (to stdout or a 0400 file).",
    ),
    "audit": (
        "erlcookie.cli.audit:audit",
        "Judge a cookie: strength, weak values, OTP-generator predictability.",
    ),
    "fingerprint": (
        "erlcookie.cli.fingerprint:fingerprint_cmd",
        "Show a cookie's fingerprint, to compare without revealing.",
    ),
    "nodes": ("erlcookie.cli.distribution:nodes", "List the nodes registered in a host's EPMD."),
    "ping": (
        "erlcookie.cli.distribution:ping",
        "Check that nodes accept a cookie, by a real handshake.",
    ),
    "info": (
        "erlcookie.cli.distribution:info",
        "Connect to nodes and report OTP release, peers, cookie match, TLS.",
    ),
    "release": (
        "erlcookie.cli.release:release",
        "Check and fix releases so they read RELEASE_COOKIE.",
    ),
    "scan": (
        "erlcookie.cli.scan:scan",
        "Find leaked and weak cookies in trees, staged changes and git history.",
    ),
    "k8s": (
        "erlcookie.cli.k8s:k8s",
        "Kubernetes: cookie Secret, wire workloads, NetworkPolicy, live status.",
    ),
    "tls": (
        "erlcookie.cli.tls:tls",
        "Mutual TLS distribution: cluster CA, node certificates, optfile, expiry.",
    ),
    "rotate": (
        "erlcookie.cli.rotate:rotate",
        "Rotate a live cluster's cookie with zero failed connections.",
    ),
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

    def invoke(self, ctx):
        """Every way a command can end, mapped to a message and an exit code, never a traceback.

        Runs inside click's standalone handling, which would turn Ctrl-C into `Aborted!` and
        exit 1; here it is exit 3. A failing stdout (a full disk, /dev/full) is found by
        flushing before click's own exit, and reported.
        """
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except (KeyboardInterrupt, click.Abort):
            _fail("interrupted")
        except ErlcookieError as exc:  # a command without @handle_errors
            _fail(f"error: {exc}", exc.exit_code)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click quiets a closed pipe (`| head`) itself
            _fail(f"error: {_os_error(exc)}")
        except Exception as exc:  # a bug; its message could hold anything, even a cookie
            if os.environ.get(DEBUG_ENV):
                raise
            _fail(
                f"internal error ({type(exc).__name__}); this is a bug, please report it "
                f"(set {DEBUG_ENV}=1 to see the traceback)"
            )

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="erlcookie")
def cli():
    """Erlang/Elixir distribution cookies, without the pain and the danger.

    Exit codes: 0 ok, 1 findings or failed check, 2 usage error, 3 operational error.
    Cookie values are never printed unless you ask (--reveal); fingerprints stand in.
    """


def _os_error(exc: OSError) -> str:
    if exc.filename is None and exc.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT):
        return f"cannot write output: {exc.strerror}"
    where = f"{exc.filename}: " if exc.filename is not None else ""
    return f"{where}{exc.strerror or type(exc).__name__}"


def _report(message: str) -> None:
    """Say on stderr what went wrong; if stdout is what failed, let its final flush go nowhere."""
    try:
        sys.stdout.flush()
    except OSError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
    from erlcookie.cli.common import safe_text  # messages quote paths from outside

    click.echo(f"erlcookie: {safe_text(message)}", err=True)


def _fail(message: str, code: int = EXIT_OPERATIONAL) -> None:
    """Report and end with `code` (through click, which then exits)."""
    _report(message)
    raise click.exceptions.Exit(code)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="erlcookie", standalone_mode=True)
    except ErlcookieError as exc:  # raised outside click's own handling
        _report(f"error: {exc}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("erlcookie: interrupted", err=True)
        sys.exit(EXIT_OPERATIONAL)
    except OSError as exc:  # outside a command: writing --help or --version, say
        _report(f"error: {_os_error(exc)}")
        sys.exit(EXIT_OPERATIONAL)
