"""A rotation's settings, typed: what the CLI hands to the runner and the journal keeps.

`RotateSettings` holds everything needed to rebuild a rotation's pieces (how to dial nodes,
how to find them, which Kubernetes API, where the new cookie goes, what to restart) and no
secret, so the journal can carry it: `--resume` and `--rollback` rebuild exactly the same
pieces without the original command line. `to_dict`/`from_dict` are the journal's form;
`from_dict` reads journals written by earlier versions (the same nested keys as plain dicts,
the connection timeout at the top level) and ignores keys it does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from erlcookie.distribution.epmd import EPMD_PORT
from erlcookie.errors import OperationalError
from erlcookie.k8s.manifests import DEFAULT_SECRET_KEY

DEFAULT_NODE_ENV = ("RELEASE_NODE",)  # the pod env variable naming the node (mix releases)


@dataclass(frozen=True)
class NodeDial:
    """Where to reach one node: an address instead of its name's host part, and a known
    distribution port (which skips EPMD: a port-forward)."""

    host: str | None = None
    dist_port: int | None = None


@dataclass(frozen=True)
class TlsSettings:
    """TLS distribution client options (paths only; the files are read when dialling)."""

    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    verify_hostname: bool = False
    server_name: str | None = None


@dataclass(frozen=True)
class DialSettings:
    epmd_port: int = EPMD_PORT
    host: str | None = None  # dial every node here (--host)
    nodes: Mapping[str, NodeDial] = field(default_factory=dict)
    tls: TlsSettings | None = None
    timeout: float = 5.0  # per connection and rpc


@dataclass(frozen=True)
class KubeDiscoverySettings:
    """The pods of the cluster, and how to name and reach them."""

    selector: str
    namespace: str | None = None
    env: tuple[str, ...] = DEFAULT_NODE_ENV
    template: str | None = None
    container: str | None = None
    port_forward: bool = False
    dial_by_name: bool = False


@dataclass(frozen=True)
class DiscoverySettings:
    nodes: tuple[str, ...] = ()
    epmd_hosts: tuple[tuple[str, int, str], ...] = ()  # (host to ask, port, names' host)
    epmd_match: str | None = None
    kubernetes: KubeDiscoverySettings | None = None


@dataclass(frozen=True)
class KubeSettings:
    """Which Kubernetes API (None everywhere: the client's defaults)."""

    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool | None = None
    request_timeout: float = 15.0  # deadline of each API request, retries included


@dataclass(frozen=True)
class SecretStore:
    name: str
    namespace: str | None = None
    key: str = DEFAULT_SECRET_KEY
    previous_key: str | None = None
    kind: ClassVar[str] = "secret"


@dataclass(frozen=True)
class FileStore:
    """A cookie file. `owner` (uid, gid) is given only by --persist-owner; without it an
    existing file keeps its owner and group, and a new one is the effective user's."""

    path: str
    owner: tuple[int, int] | None = None
    kind: ClassVar[str] = "file"


@dataclass(frozen=True)
class CommandStore:
    command: str
    kind: ClassVar[str] = "command"


@dataclass(frozen=True)
class NoStore:
    kind: ClassVar[str] = "none"


PersistSettings = SecretStore | FileStore | CommandStore | NoStore
_STORES: dict[str, type] = {
    cls.kind: cls for cls in (SecretStore, FileStore, CommandStore, NoStore)
}


@dataclass(frozen=True)
class RestartSettings:
    enabled: bool = False
    targets: tuple[tuple[str, str], ...] = ()  # (kind, name); empty: the pods' owners
    timeout: float = 600.0


@dataclass(frozen=True)
class RotateSettings:
    """Everything a rotation needs but the cookies."""

    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    dial: DialSettings = field(default_factory=DialSettings)
    kube: KubeSettings = field(default_factory=KubeSettings)
    persist: PersistSettings = field(default_factory=NoStore)
    restart: RestartSettings = field(default_factory=RestartSettings)
    concurrency: int = 32
    converge_timeout: float = 60.0
    converge_interval: float = 0.3
    converge_settle: float = 1.0

    # -- the journal's form ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["persist"] = {"kind": self.persist.kind, **asdict(self.persist)}
        return data

    @classmethod
    def of(cls, settings: RotateSettings | Mapping[str, Any]) -> RotateSettings:
        """`settings` itself, or settings read from the journal's form (a plain mapping)."""
        return settings if isinstance(settings, RotateSettings) else cls.from_dict(settings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RotateSettings:
        """Settings from a journal; OperationalError if they cannot be made sense of."""
        try:
            return _from_dict(data)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise OperationalError(
                f"the journal's settings are damaged ({type(exc).__name__}: {exc})"
            ) from None


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of `data` that are fields of `cls` (later versions may add others)."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names and v is not None}


def _section(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key)
    return {} if value is None else value


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _from_dict(data: Mapping[str, Any]) -> RotateSettings:
    top = _known(RotateSettings, data)
    dial_raw = dict(_known(DialSettings, _section(data, "dial")))
    if "timeout" not in dial_raw and data.get("timeout") is not None:
        dial_raw["timeout"] = data["timeout"]  # journals before typed settings
    dial_kw = _known(DialSettings, dial_raw)
    dial = DialSettings(
        epmd_port=int(dial_kw.get("epmd_port", EPMD_PORT)),
        host=_opt_str(dial_kw.get("host")),
        nodes={
            str(n): NodeDial(
                host=_opt_str(d.get("host")),
                dist_port=None if d.get("dist_port") is None else int(d["dist_port"]),
            )
            for n, d in (dial_kw.get("nodes") or {}).items()
        },
        tls=None if not dial_kw.get("tls") else TlsSettings(**_known(TlsSettings, dial_kw["tls"])),
        timeout=float(dial_kw.get("timeout", 5.0)),
    )

    found = _known(DiscoverySettings, _section(data, "discovery"))
    kube_found = found.get("kubernetes")
    kube_disc = None
    if kube_found:
        k = _known(KubeDiscoverySettings, kube_found)
        kube_disc = KubeDiscoverySettings(
            selector=str(k["selector"]),
            namespace=_opt_str(k.get("namespace")),
            env=tuple(str(e) for e in k.get("env") or DEFAULT_NODE_ENV),
            template=_opt_str(k.get("template")),
            container=_opt_str(k.get("container")),
            port_forward=bool(k.get("port_forward")),
            dial_by_name=bool(k.get("dial_by_name")),
        )
    discovery = DiscoverySettings(
        nodes=tuple(str(n) for n in found.get("nodes") or ()),
        epmd_hosts=tuple((str(h), int(p), str(n)) for h, p, n in found.get("epmd_hosts") or ()),
        epmd_match=_opt_str(found.get("epmd_match")),
        kubernetes=kube_disc,
    )

    kube_kw = _known(KubeSettings, _section(data, "kube"))
    kube = KubeSettings(
        kubeconfig=_opt_str(kube_kw.get("kubeconfig")),
        context=_opt_str(kube_kw.get("context")),
        in_cluster=None if kube_kw.get("in_cluster") is None else bool(kube_kw["in_cluster"]),
        request_timeout=float(kube_kw.get("request_timeout", 15.0)),
    )

    store_raw = _section(data, "persist") or {"kind": "none"}
    kind = store_raw.get("kind")
    if kind not in _STORES:
        raise ValueError(f"unknown persist kind {kind!r}")
    store_kw = _known(_STORES[kind], store_raw)
    if kind == "file" and store_kw.get("owner") is not None:
        uid, gid = store_kw["owner"]
        store_kw["owner"] = (int(uid), int(gid))
    persist = _STORES[kind](**store_kw)

    restart_kw = _known(RestartSettings, _section(data, "restart"))
    restart = RestartSettings(
        enabled=bool(restart_kw.get("enabled")),
        targets=tuple((str(k), str(n)) for k, n in restart_kw.get("targets") or ()),
        timeout=float(restart_kw.get("timeout", 600.0)),
    )
    return RotateSettings(
        discovery=discovery,
        dial=dial,
        kube=kube,
        persist=persist,
        restart=restart,
        concurrency=int(top.get("concurrency", 32)),
        converge_timeout=float(top.get("converge_timeout", 60.0)),
        converge_interval=float(top.get("converge_interval", 0.3)),
        converge_settle=float(top.get("converge_settle", 1.0)),
    )


__all__ = [
    "RotateSettings",
    "DialSettings",
    "NodeDial",
    "TlsSettings",
    "DiscoverySettings",
    "KubeDiscoverySettings",
    "KubeSettings",
    "PersistSettings",
    "SecretStore",
    "FileStore",
    "CommandStore",
    "NoStore",
    "RestartSettings",
    "DEFAULT_NODE_ENV",
]
