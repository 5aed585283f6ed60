"""TLS distribution in a release: what its files already set up, and what is missing.

mix and rebar3 share it. A node runs TLS distribution when it gets `-proto_dist
inet_tls` (vm.args, or ERL_FLAGS in an env script); it then needs `-ssl_dist_optfile`
(its certificate, and the check of its peers) and the ssl application in the release (the
distribution loads ssl before any application starts). Half of that is worse than none:
a node that does not start, or one that speaks TLS to anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from erlcookie.release import vmargs
from erlcookie.release.buildtool import FixOptions
from erlcookie.release.common import finding
from erlcookie.release.model import Finding

PROTO_TLS_RE = re.compile(r"""-proto_dist\s+["']?inet6?_tls\b""")
OPTFILE_RE = re.compile(r"-ssl_dist_opt(?:file)?\b")


@dataclass(frozen=True)
class Place:
    shown: str
    text: str
    offset: int


@dataclass
class TlsSetup:
    """Where the release's files turn TLS distribution on, if they do."""

    proto_dist: Place | None = None  # the first -proto_dist inet_tls
    optfile: Place | None = None  # the first -ssl_dist_optfile / -ssl_dist_opt
    ssl_app: bool = False  # ssl is among the release's applications

    def add_vm_args(self, shown: str, text: str, flag_list: list[vmargs.Flag]) -> None:
        for flag in flag_list:
            if flag.name == "-proto_dist" and any(
                a.value in ("inet_tls", "inet6_tls") for a in flag.args
            ):
                self.proto_dist = self.proto_dist or Place(shown, text, flag.word.start)
            elif flag.name in ("-ssl_dist_optfile", "-ssl_dist_opt"):
                self.optfile = self.optfile or Place(shown, text, flag.word.start)

    def add_shell(self, shown: str, text: str) -> None:
        """An env script: the flags in its code (ERL_FLAGS, ELIXIR_ERL_OPTIONS), not comments."""
        at = 0
        for line in text.splitlines(keepends=True):
            code = line if not line.lstrip().startswith(("#", "rem ", "REM ")) else ""
            m = PROTO_TLS_RE.search(code)
            if m:
                self.proto_dist = self.proto_dist or Place(shown, text, at + m.start())
            m = OPTFILE_RE.search(code)
            if m:
                self.optfile = self.optfile or Place(shown, text, at + m.start())
            at += len(line)

    @property
    def on(self) -> bool:
        return self.proto_dist is not None or self.optfile is not None


def findings(
    setup: TlsSetup, options: FixOptions, release: Place, *, ssl_fixable: bool, ssl_how: str
) -> list[Finding]:
    """The release family's TLS findings: a half setup always, no TLS at all with --tls."""
    out: list[Finding] = []
    if setup.proto_dist and not setup.optfile:
        p = setup.proto_dist
        out.append(
            finding(
                "release/tls-no-optfile",
                p.shown,
                p.text,
                p.offset,
                "-proto_dist inet_tls without -ssl_dist_optfile: the node has no certificate "
                "and checks no peer",
                fixable=False,
            )
        )
    if setup.optfile and not setup.proto_dist:
        p = setup.optfile
        out.append(
            finding(
                "release/tls-optfile-without-proto-dist",
                p.shown,
                p.text,
                p.offset,
                "-ssl_dist_optfile without -proto_dist inet_tls: the node speaks plain TCP",
                fixable=False,
            )
        )
    if (setup.on or options.tls) and not setup.ssl_app:
        out.append(
            finding(
                "release/tls-no-ssl-app",
                release.shown,
                release.text,
                release.offset,
                f"TLS distribution needs the ssl application in the release ({ssl_how})",
                fixable=ssl_fixable,
            )
        )
    if options.tls and not setup.on:
        out.append(
            finding(
                "release/tls-not-configured",
                release.shown,
                release.text,
                release.offset,
                "the release runs its distribution over plain TCP (no -proto_dist inet_tls)",
                fixable=True,
            )
        )
    return out
