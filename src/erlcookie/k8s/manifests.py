"""Manifest builders: the cookie Secret and the distribution NetworkPolicy.

The Secret has the same meaning as the seed's `kubectl create secret generic erlang-cookie
--from-literal=cookie=... --dry-run=client -o yaml` (apiVersion v1, kind Secret, type
Opaque, base64 `data`), plus labels and a fingerprint annotation so a reader can compare
clusters without decoding anything. The value never goes into metadata.
"""

from __future__ import annotations

import base64
import binascii
import copy
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.distribution.epmd import EPMD_PORT
from erlcookie.errors import UsageError

DEFAULT_SECRET_NAME = "erlang-cookie"
DEFAULT_SECRET_KEY = "cookie"
DEFAULT_ENV = "RELEASE_COOKIE"

# Annotations erlcookie writes on Secrets it creates or changes. `status` trusts
# UPDATED_AT only while FINGERPRINT still matches the data (so a later `kubectl edit`
# is noticed), and the rotation command keeps both current.
ANNOTATION_PREFIX = "erlcookie.io/"
FINGERPRINT_ANNOTATION = ANNOTATION_PREFIX + "fingerprint"
UPDATED_AT_ANNOTATION = ANNOTATION_PREFIX + "updated-at"
# Our writes are recorded under this manager in metadata.managedFields, with the server's
# time: `status` reads when erlcookie last changed a Secret from there (no client clock).
FIELD_MANAGER = "erlcookie"
MANAGED_BY = "erlcookie"
COMPONENT = "erlang-cookie"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def check_object_name(name: str, what: str = "name") -> str:
    """A DNS-1123 subdomain (Secret, NetworkPolicy, volume owner names)."""
    if not name or len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise UsageError(
            f"invalid {what} {name!r}: use lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit (at most 253 characters)"
        )
    return name


def check_dns_label(name: str, what: str) -> str:
    if not name or len(name) > 63 or not _DNS_LABEL.fullmatch(name):
        raise UsageError(
            f"invalid {what} {name!r}: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit (at most 63 characters)"
        )
    return name


def check_namespace(namespace: str | None) -> str | None:
    return None if namespace is None else check_dns_label(namespace, "namespace")


def check_secret_key(key: str) -> str:
    if not key or len(key) > 253 or key in (".", "..") or not _SECRET_KEY.fullmatch(key):
        raise UsageError(f"invalid Secret key {key!r}: use letters, digits, '-', '_' and '.'")
    return key


def check_env_name(name: str) -> str:
    if not name or not _ENV_NAME.fullmatch(name):
        raise UsageError(f"invalid environment variable name {name!r}")
    return name


def parse_labels(pairs: Iterable[str]) -> dict[str, str]:
    """`--label k=v` options as a dict (keys and values checked like the API server does)."""
    from erlcookie.k8s.selectors import LABEL_KEY, LABEL_VALUE

    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not LABEL_KEY.match(key) or not LABEL_VALUE.match(value):
            raise UsageError(f"invalid label {pair!r}: expected key=value")
        labels[key] = value
    return labels


# -- the Secret ---------------------------------------------------------------------------


def encode_value(cookie: Cookie) -> str:
    return base64.b64encode(cookie.as_bytes()).decode("ascii")


def secret_manifest(
    cookie: Cookie,
    *,
    name: str = DEFAULT_SECRET_NAME,
    key: str = DEFAULT_SECRET_KEY,
    namespace: str | None = None,
    app: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict:
    """The Secret as a dict in the API's own field order (apiVersion, kind, metadata, ...)."""
    check_object_name(name, "Secret name")
    check_secret_key(key)
    check_namespace(namespace)
    meta_labels = {
        "app.kubernetes.io/component": COMPONENT,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if app:
        meta_labels["app.kubernetes.io/part-of"] = app
    meta_labels.update(labels or {})
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = meta_labels
    metadata["annotations"] = {FINGERPRINT_ANNOTATION: cookie.fingerprint(), **(annotations or {})}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": {key: encode_value(cookie)},
    }


def stamp_annotations(secret: dict, cookie: Cookie, *, now: str | None = None) -> dict:
    """Set the fingerprint and updated-at annotations for the cookie just put in `secret`
    (call it whenever a Secret's cookie changes: `status` relies on them)."""
    meta = secret.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), **cookie_annotations(cookie, now=now)}
    return secret


def cookie_annotations(cookie: Cookie, *, now: str | None = None) -> dict[str, str]:
    """The fingerprint and updated-at annotations for a Secret that now holds `cookie`."""
    from datetime import datetime

    return {
        FINGERPRINT_ANNOTATION: cookie.fingerprint(),
        UPDATED_AT_ANNOTATION: now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@dataclass(frozen=True)
class SecretValue:
    """What a Secret holds under one key, judged without exposing it."""

    cookie: Cookie | None
    problem: str | None = None  # "missing", "not-base64", "not-utf8", "empty"
    trailing_newline: bool = False


def secret_value(secret: Mapping, key: str) -> SecretValue:
    """Decode `data[key]` (or `stringData[key]` of an unapplied manifest).

    A trailing newline (from `echo x | kubectl create secret --from-file`) is cut like OTP
    cuts it from a cookie file, and flagged: through an env var it stays in the cookie.
    """
    data = secret.get("data") or {}
    string_data = secret.get("stringData") or {}
    if key in string_data:
        text = str(string_data[key])
    elif key in data:
        raw = data[key]
        if raw is None:
            return SecretValue(None, "empty")
        try:
            decoded = base64.b64decode(str(raw), validate=True)
        except (binascii.Error, ValueError):
            return SecretValue(None, "not-base64")
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            return SecretValue(None, "not-utf8")
    else:
        return SecretValue(None, "missing")
    stripped = text.rstrip("\r\n")
    if not stripped:
        return SecretValue(None, "empty")
    name = (secret.get("metadata") or {}).get("name", "?")
    return SecretValue(
        Cookie(stripped, source=f"Secret {name} key {key}"), trailing_newline=stripped != text
    )


# -- the NetworkPolicy --------------------------------------------------------------------


@dataclass(frozen=True)
class PortRange:
    first: int
    last: int

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def parse_port_range(text: str) -> PortRange:
    m = re.fullmatch(r"\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?", text or "")
    if not m:
        raise UsageError(
            f"invalid port range {text!r}: expected PORT or FIRST-LAST, e.g. 9100-9105"
        )
    first = int(m[1])
    last = int(m[2]) if m[2] else first
    if not (1 <= first <= 65535 and 1 <= last <= 65535) or last < first:
        raise UsageError(f"invalid port range {text!r}: ports are 1-65535 and FIRST <= LAST")
    return PortRange(first, last)


def _complement(used: list[PortRange]) -> list[PortRange]:
    free, start = [], 1
    for rng in sorted(used, key=lambda r: r.first):
        if rng.first > start:
            free.append(PortRange(start, rng.first - 1))
        start = max(start, rng.last + 1)
    if start <= 65535:
        free.append(PortRange(start, 65535))
    return free


def _port_entries(ranges: Iterable[PortRange], protocol: str = "TCP") -> list[dict]:
    entries = []
    for rng in ranges:
        entry: dict[str, Any] = {"protocol": protocol, "port": rng.first}
        if rng.last != rng.first:
            entry["endPort"] = rng.last
        entries.append(entry)
    return entries


def netpol_manifest(
    pod_selector: dict,
    dist_ports: PortRange,
    *,
    name: str,
    namespace: str | None = None,
    epmd: bool = True,
    allow_other_ports: bool = False,
    labels: Mapping[str, str] | None = None,
) -> dict:
    """Ingress to the selected pods on EPMD and the distribution ports, from those pods only.

    A NetworkPolicy that selects a pod isolates it for ingress: everything no policy allows
    is dropped. With `allow_other_ports` a second rule lets any source reach every other
    port (TCP, UDP and SCTP), so only the Erlang ports are narrowed. Policies add up, so that
    rule also widens any stricter policy already there: it is off by default.
    """
    check_object_name(name, "NetworkPolicy name")
    check_namespace(namespace)
    erlang_ports = [PortRange(EPMD_PORT, EPMD_PORT)] if epmd else []
    if not (epmd and dist_ports.first <= EPMD_PORT <= dist_ports.last):
        erlang_ports.append(dist_ports)
    else:
        erlang_ports = [dist_ports]
    ingress: list[dict] = [
        {
            "from": [{"podSelector": copy.deepcopy(pod_selector)}],
            "ports": _port_entries(erlang_ports),
        }
    ]
    if allow_other_ports:
        tcp_free = _complement(erlang_ports)
        ingress.append(
            {
                "ports": _port_entries(tcp_free)
                + _port_entries([PortRange(1, 65535)], "UDP")
                + _port_entries([PortRange(1, 65535)], "SCTP")
            }
        )
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {
        "app.kubernetes.io/component": "erlang-distribution",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        **(labels or {}),
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": {"podSelector": pod_selector, "policyTypes": ["Ingress"], "ingress": ingress},
    }


# -- rendering ----------------------------------------------------------------------------


def new_yaml():
    """A ruamel round-trip YAML configured like kubectl's output (2 spaces, no wrapping)."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.width = 4096
    yaml.preserve_quotes = True
    return yaml


def to_yaml(objects: dict | list[dict]) -> str:
    """One manifest, or several as a `---`-separated stream."""
    items = objects if isinstance(objects, list) else [objects]
    yaml = new_yaml()
    out = io.StringIO()
    if len(items) == 1:
        yaml.dump(items[0], out)
    else:
        yaml.explicit_start = True
        yaml.dump_all(items, out)
    return out.getvalue()


def to_json(objects: dict | list[dict]) -> str:
    if isinstance(objects, list) and len(objects) != 1:
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2) + "\n"
    obj = objects[0] if isinstance(objects, list) else objects
    return json.dumps(obj, indent=2) + "\n"


def render(objects: dict | list[dict], fmt: str) -> str:
    if fmt == "json":
        return to_json(objects)
    if fmt == "yaml":
        return to_yaml(objects)
    raise UsageError(f"unknown format {fmt!r}; use yaml or json")
