"""What a workload's containers do with the cookie; shared by offline inject and live status.

Works on plain dicts from the API and on ruamel's round-trip maps alike (both are dicts).
Nothing here returns a cookie's text: literal values come back as `Cookie` objects.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from erlcookie.cookie.value import Cookie

# kind -> path from the object to its pod spec
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_KINDS = tuple(POD_SPEC_PATHS)

# Variables whose text is passed to `erl` as flags, where `-setcookie X` may hide.
ERL_FLAG_ENVS = ("ERL_FLAGS", "ERL_AFLAGS", "ERL_ZFLAGS", "ELIXIR_ERL_OPTIONS")
_REFERENCE = re.compile(r"^\"?(\$\([A-Za-z_][A-Za-z0-9_]*\)|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\"?$")


def is_cookie_env_name(name: str, target: str | None = None) -> bool:
    """An env var that carries an Erlang cookie: the scanner's notion, one home for it."""
    from erlcookie.scan.syntax import cookie_name_confidence

    return bool(name) and (name == target or cookie_name_confidence(name) == "high")


def object_ref(obj: Mapping) -> str:
    """`Kind/name` (`Kind/namespace/name` would leak nothing either, but stays shorter)."""
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


def dig(obj: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(step)
    return obj


def pod_spec(obj: Mapping) -> Mapping | None:
    path = POD_SPEC_PATHS.get(str(obj.get("kind")))
    spec = dig(obj, path) if path else None
    return spec if isinstance(spec, Mapping) else None


def pod_template_labels(obj: Mapping) -> Mapping:
    """The labels its pods get (the object's own for a Pod)."""
    path = POD_SPEC_PATHS.get(str(obj.get("kind")))
    if not path:
        return {}
    labels = dig(obj, path[:-1] + ("metadata", "labels"))  # Pod: () + metadata.labels
    return labels if isinstance(labels, Mapping) else {}


def iter_workloads(obj: Any) -> Iterator[Mapping]:
    """Every workload in a document, descending into `kind: List` (and `*List`) items."""
    if not isinstance(obj, Mapping):
        return
    kind = str(obj.get("kind") or "")
    if kind in POD_SPEC_PATHS:
        yield obj
    elif kind.endswith("List") and isinstance(obj.get("items"), list):
        for item in obj["items"]:
            yield from iter_workloads(item)


@dataclass
class ContainerRef:
    container: Mapping
    init: bool

    @property
    def name(self) -> str:
        return str(self.container.get("name", "?"))


def containers(spec: Mapping, names: tuple[str, ...] | None = None) -> list[ContainerRef]:
    """App containers, or the containers (app or init) named in `names`.

    Init containers (native sidecars too) run before or beside the app and do not join the
    cluster, so they are left alone unless named.
    """
    found = []
    for init, key in ((False, "containers"), (True, "initContainers")):
        for container in spec.get(key) or []:
            if not isinstance(container, Mapping):
                continue
            if names is None and not init or names is not None and container.get("name") in names:
                found.append(ContainerRef(container, init))
    return found


# -- how a container gets its cookie variable ---------------------------------------------


@dataclass
class EnvBinding:
    """How `env_name` is set in one container.

    state: "secret" (our Secret and key), "other-secret", "literal", "configmap", "field"
    (fieldRef/resourceFieldRef), "envfrom-secret", "envfrom-configmap" (a whole object
    poured in; whether it has the key is known only with the object), "missing".
    """

    state: str
    index: int | None = None  # position in env
    duplicates: list[int] = field(default_factory=list)
    literal: Cookie | None = None  # the plain value, never shown: fingerprint it
    reference: str | None = None  # secret/configmap name (+ key) it points to
    key: str | None = None
    optional: bool = False
    expands: bool = False  # the literal is only `$(OTHER)`: a reference, not a cookie


def env_binding(container: Mapping, env_name: str, secret: str, key: str) -> EnvBinding:
    env = container.get("env") or []
    indexes = [
        i
        for i, item in enumerate(env)
        if isinstance(item, Mapping) and item.get("name") == env_name
    ]
    if not indexes:
        for source in container.get("envFrom") or []:
            prefix = str(source.get("prefix") or "")
            for kind, state in (
                ("secretRef", "envfrom-secret"),
                ("configMapRef", "envfrom-configmap"),
            ):
                ref = source.get(kind)
                if isinstance(ref, Mapping):
                    return EnvBinding(
                        state,
                        reference=str(ref.get("name")),
                        key=env_name[len(prefix) :] if env_name.startswith(prefix) else None,
                        optional=bool(ref.get("optional")),
                    )
        return EnvBinding("missing")
    # the API server keeps duplicates and the kubelet uses the last one
    index, dups = indexes[-1], indexes[:-1]
    item = env[index]
    value_from = item.get("valueFrom")
    if isinstance(value_from, Mapping):
        if isinstance(value_from.get("secretKeyRef"), Mapping):
            ref = value_from["secretKeyRef"]
            state = (
                "secret"
                if (ref.get("name") == secret and ref.get("key") == key)
                else "other-secret"
            )
            return EnvBinding(
                state,
                index,
                dups,
                reference=str(ref.get("name")),
                key=str(ref.get("key")),
                optional=bool(ref.get("optional")),
            )
        if isinstance(value_from.get("configMapKeyRef"), Mapping):
            ref = value_from["configMapKeyRef"]
            return EnvBinding(
                "configmap",
                index,
                dups,
                reference=str(ref.get("name")),
                key=str(ref.get("key")),
                optional=bool(ref.get("optional")),
            )
        return EnvBinding("field", index, dups)
    value = item.get("value")
    text = "" if value is None else str(value)
    return EnvBinding(
        "literal",
        index,
        dups,
        literal=Cookie(text, source=f"env {env_name}") if text else None,
        expands=bool(_REFERENCE.match(text.strip())),
    )


@dataclass
class PlainCookie:
    """A cookie written in clear into a pod spec."""

    container: str
    where: str  # "env RABBITMQ_ERLANG_COOKIE", "args", "env ERL_FLAGS -setcookie"
    cookie: Cookie


def _setcookie_values(words: list[str]) -> list[str]:
    found = []
    for i, word in enumerate(words):
        if word in ("-setcookie", "--cookie") and i + 1 < len(words):
            found.append(words[i + 1])
        elif word.startswith("--cookie="):
            found.append(word.split("=", 1)[1])
    return found


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def plain_cookies(
    container: Mapping, skip_env: str | tuple[str, ...] | None = None
) -> list[PlainCookie]:
    """Cookies in clear: literal values of cookie variables (but `skip_env`, one name or
    several), and `-setcookie X` in args, command or ERL_FLAGS-like variables.
    `$(VAR)`/`$VAR` references are not cookies."""
    skip = {skip_env} if isinstance(skip_env, str) else set(skip_env or ())
    name = str(container.get("name", "?"))
    found: list[PlainCookie] = []
    for item in container.get("env") or []:
        if not isinstance(item, Mapping) or "value" not in item or item.get("value") is None:
            continue
        var, text = str(item.get("name")), str(item.get("value"))
        if (
            var not in skip
            and is_cookie_env_name(var)
            and text
            and not _REFERENCE.match(text.strip())
        ):
            found.append(PlainCookie(name, f"env {var}", Cookie(text, source=f"env {var}")))
        if var in ERL_FLAG_ENVS:
            for value in _setcookie_values(_words(text)):
                if value and not _REFERENCE.match(value):
                    found.append(
                        PlainCookie(name, f"env {var} (-setcookie)", Cookie(value, source=var))
                    )
    for field_name in ("command", "args"):
        words: list[str] = []
        for part in container.get(field_name) or []:
            words.extend(_words(str(part)) if " " in str(part) else [str(part)])
        for value in _setcookie_values(words):
            if value and not _REFERENCE.match(value):
                found.append(
                    PlainCookie(
                        name, f"{field_name} (-setcookie)", Cookie(value, source=field_name)
                    )
                )
    return found


# -- file mounts --------------------------------------------------------------------------


def yaml_int(value: Any) -> int | None:
    """An integer as Kubernetes reads it: YAML 1.1, where `0400` is octal (256).

    ruamel (YAML 1.2) reads `0400` as 400 and keeps the leading zero only as a width.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        width = getattr(value, "_width", None)
        digits = str(int(value))
        if type(value).__name__ == "ScalarInt" and width and width > len(digits):
            try:
                return int(digits, 8)
            except ValueError:
                return int(value)
        return int(value)
    try:
        text = str(value).strip()
        return int(text, 8) if re.fullmatch(r"0[0-7]+", text) else int(text, 0)
    except ValueError:
        return None


@dataclass
class MountBinding:
    """How a container sees the cookie file at `path`.

    state: "secret" (our Secret and key, private mode), "secret-copy" (an emptyDir that an
    init container fills from our Secret), "bad-mode", "other-source", "missing". `mode` is the file's mode bits as the kubelet would set them (before fsGroup).
    """

    state: str
    volume: str | None = None
    mount_index: int | None = None
    mode: int | None = None
    source: str | None = None


def secret_volume_file(volume: Mapping, key: str) -> tuple[str, int | None] | None:
    """(path inside the volume, mode) of `key` in a Secret volume, or None if not projected."""
    source = volume.get("secret")
    if not isinstance(source, Mapping):
        return None
    default_mode = yaml_int(source.get("defaultMode"))
    default_mode = 0o644 if default_mode is None else default_mode
    items = source.get("items")
    if not items:
        return key, default_mode
    for item in items:
        if isinstance(item, Mapping) and item.get("key") == key:
            mode = yaml_int(item.get("mode"))
            return str(item.get("path")), default_mode if mode is None else mode
    return None


def volume_source(volume: Mapping) -> str:
    for kind in (
        "secret",
        "configMap",
        "emptyDir",
        "persistentVolumeClaim",
        "projected",
        "hostPath",
    ):
        if kind in volume:
            ref = volume[kind] if isinstance(volume[kind], Mapping) else {}
            name = ref.get("secretName") or ref.get("name") or ref.get("claimName") or ""
            return f"{kind} {name}".strip()
    return "volume"


def copied_by(spec: Mapping, volume: str, secret: str, key: str) -> str | None:
    """The init container that fills emptyDir `volume` from a Secret volume holding `key`
    (the copy pattern, for images that run as non-root or under fsGroup), if any."""
    volumes = {str(v.get("name")): v for v in spec.get("volumes") or [] if isinstance(v, Mapping)}
    for init in spec.get("initContainers") or []:
        if not isinstance(init, Mapping):
            continue
        names = {
            str(m.get("name")) for m in init.get("volumeMounts") or [] if isinstance(m, Mapping)
        }
        if volume not in names:
            continue
        for name in names:
            source = volumes.get(name) or {}
            if (
                isinstance(source.get("secret"), Mapping)
                and source["secret"].get("secretName") == secret
                and secret_volume_file(source, key) is not None
            ):
                return str(init.get("name"))
    return None


def mount_binding(
    spec: Mapping, container: Mapping, path: str, secret: str, key: str
) -> MountBinding:
    volumes = {str(v.get("name")): v for v in spec.get("volumes") or [] if isinstance(v, Mapping)}
    path = posixpath.normpath(path)
    best: MountBinding | None = None
    for index, mount in enumerate(container.get("volumeMounts") or []):
        if not isinstance(mount, Mapping):
            continue
        mount_path = posixpath.normpath(str(mount.get("mountPath", "")))
        sub_path = mount.get("subPath")
        volume = volumes.get(str(mount.get("name")))
        if mount_path == path and sub_path:
            inner = str(sub_path)
        elif mount_path == path and not sub_path:
            inner = None  # a whole volume mounted where the file should be
        elif path.startswith(mount_path.rstrip("/") + "/") and not sub_path:
            inner = path[len(mount_path.rstrip("/")) + 1 :]
        else:
            continue
        if volume is None:
            best = MountBinding(
                "other-source", str(mount.get("name")), index, source="missing volume"
            )
            continue
        source = volume_source(volume)
        if "emptyDir" in volume and inner is not None:
            copier = copied_by(spec, str(mount.get("name")), secret, key)
            if copier is not None:
                return MountBinding(
                    "secret-copy",
                    str(mount.get("name")),
                    index,
                    source=f"copied by init container {copier}",
                )
        if (
            isinstance(volume.get("secret"), Mapping)
            and volume["secret"].get("secretName") == secret
        ):
            projected = secret_volume_file(volume, key)
            if (
                projected
                and inner is not None
                and posixpath.normpath(projected[0]) == posixpath.normpath(inner)
            ):
                state = (
                    "secret"
                    if projected[1] is not None and projected[1] & 0o077 == 0
                    else "bad-mode"
                )
                return MountBinding(state, str(mount.get("name")), index, projected[1], source)
        best = MountBinding("other-source", str(mount.get("name")), index, source=source)
    return best or MountBinding("missing")


def run_as(spec: Mapping, container: Mapping) -> tuple[int | None, bool, int | None]:
    """(runAsUser, runAsNonRoot, fsGroup) in effect for a container."""
    pod_ctx = spec.get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    return (
        yaml_int(user) if user is not None else None,
        bool(non_root),
        yaml_int(pod_ctx.get("fsGroup")) if pod_ctx.get("fsGroup") is not None else None,
    )


def mount_permission_problem(spec: Mapping, container: Mapping) -> str | None:
    """Why a 0400 root-owned Secret file would not work as this container's cookie file."""
    user, non_root, fs_group = run_as(spec, container)
    if fs_group is not None:
        return (
            f"fsGroup {fs_group} makes the kubelet add group read to Secret files (0440), "
            "and Erlang refuses a cookie file that is not private to its owner"
        )
    if (user is not None and user != 0) or non_root:
        who = f"user {user}" if user is not None else "a non-root user"
        return (
            f"the container runs as {who}, but Secret files belong to root: a 0400 file "
            "is unreadable for it"
        )
    return None
