"""Erlang node names (`alive@host`), parsed and checked before anything touches the network.

A name is short (`app@web1`, `-sname`) or long (`app@web1.example.com` or `app@10.0.0.7`,
`-name`). The two kinds never mix in one cluster, so when we pick our own throwaway name we
copy the kind of the node we talk to.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass

from erlcookie.errors import UsageError

MAX_NAME_BYTES = 255  # a node name is an atom

# OTP's epmd and net_kernel take almost any printable character in the alive part; we
# refuse only what can never work (whitespace, control characters, '@', empty parts).
_BAD = re.compile(r"[\s\x00-\x1f\x7f@]")


@dataclass(frozen=True)
class NodeName:
    alive: str
    host: str

    @classmethod
    def parse(cls, text: str, *, default_host: str | None = None) -> NodeName:
        """Parse `alive@host`; a bare `alive` takes `default_host` when one is given."""
        if not isinstance(text, str) or not text:
            raise UsageError("empty node name")
        if "@" in text:
            alive, _, host = text.partition("@")
        elif default_host:
            alive, host = text, default_host
        else:
            raise UsageError(f"node name {text!r} has no host part: write name@host")
        if not alive:
            raise UsageError(f"node name {text!r} has an empty name before '@'")
        if not host:
            raise UsageError(f"node name {text!r} has an empty host after '@'")
        if _BAD.search(alive) or _BAD.search(host):
            raise UsageError(
                f"node name {text!r} contains a space, control character or second '@'"
            )
        name = cls(alive, host)
        if len(str(name).encode("utf-8")) > MAX_NAME_BYTES:
            raise UsageError(f"node name {text[:40]!r}... is longer than {MAX_NAME_BYTES} bytes")
        return name

    @property
    def is_long(self) -> bool:
        """True for `-name` nodes: the host is an FQDN or an IP address."""
        if "." in self.host:
            return True
        import ipaddress  # only IPv6 hosts get here; not worth its import time up front

        try:
            ipaddress.ip_address(self.host)
            return True
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"{self.alive}@{self.host}"


def local_short_host() -> str:
    """This machine's short host name, as `erl -sname` would use it."""
    return socket.gethostname().split(".")[0] or "localhost"


def random_probe_name(peer: NodeName, local_address: str | None = None) -> NodeName:
    """A fresh hidden-node name `erlcookie-<random>@<host>` of the same kind as `peer`.

    For long names we use the local IP address of the socket we connected from (always a
    valid long host part); for short names this machine's short host name.
    """
    alive = f"erlcookie-{os.urandom(6).hex()}"  # os.urandom: the CSPRNG, without secrets' imports
    if peer.is_long:
        host = local_address or socket.getfqdn()
        if "." not in host and ":" not in host:
            host = "127.0.0.1"
        return NodeName(alive, host)
    return NodeName(alive, local_short_host())
