"""inject's editor: the round-trip edits of one document's workloads (env, mounts, the
init container that copies the cookie file), with the changes and findings they make."""

from __future__ import annotations

import copy
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.k8s import yamlstream
from erlcookie.k8s.inject.model import Change, FileResult, InjectOptions, finding, format_owner
from erlcookie.k8s.workloads import (
    ContainerRef,
    containers,
    env_binding,
    iter_workloads,
    mount_binding,
    mount_permission_problem,
    object_ref,
    plain_cookies,
    pod_spec,
    pod_template_labels,
    run_as,
    secret_volume_file,
    volume_source,
    yaml_int,
)

SECRET_FILE_MODE = 0o400
# With --init-copy the Secret volume is mounted only into the copying init container, which
# may run as any user without fsGroup: its files must be readable to that user.
STAGING_FILE_MODE = 0o444
COPY_DIR_SECRET = "/erlcookie/secret"
COPY_DIR_FILE = "/erlcookie/cookie"
# Where a new `env:` goes in a container: after the first of these keys it has (last wins).
_ENV_AFTER = ("name", "image", "imagePullPolicy", "command", "args", "workingDir")


@dataclass
class EditContext:
    """What the edits of every document share: the options, the input's ConfigMaps, and
    what was seen so far."""

    options: InjectOptions
    configmaps: dict[tuple[str | None, str], Mapping]
    named_seen: set[str] = field(default_factory=set)
    workloads: int = 0
    namespaces: dict[str | None, dict[str, set[str]]] = field(default_factory=dict)


def configmaps_in(files: list[FileResult]) -> dict[tuple[str | None, str], Mapping]:
    """(namespace, name) -> data of every ConfigMap in the input, to fingerprint a replaced
    configMapKeyRef."""
    found: dict[tuple[str | None, str], Mapping] = {}
    for result in files:
        for doc in result.docs:
            for obj in _objects(doc.data):
                if obj.get("kind") == "ConfigMap":
                    meta = obj.get("metadata") or {}
                    found[(meta.get("namespace"), str(meta.get("name")))] = obj.get("data") or {}
    return found


def _objects(data: Any):
    if isinstance(data, Mapping):
        yield data
        if str(data.get("kind", "")).endswith("List") and isinstance(data.get("items"), list):
            for item in data["items"]:
                yield from _objects(item)


def _cm_value(
    ctx: EditContext, namespace: str | None, name: str | None, key: str | None
) -> Cookie | None:
    """The value of a ConfigMap key, when that ConfigMap is among the inputs."""
    data = ctx.configmaps.get((namespace, str(name)))
    if data is None and namespace is not None:
        data = ctx.configmaps.get((None, str(name)))
    if data is None or key is None or data.get(key) in (None, ""):
        return None
    return Cookie(str(data[key]), source=f"ConfigMap {name}")


def _octal(mode: int) -> str:
    return oct(mode)[2:].zfill(4)


def _plain(node: Any) -> Any:
    """A ruamel node as plain JSON data, to compare structures regardless of style."""
    return json.loads(json.dumps(node, default=str))


def _list_at(mapping, key: str, position: int | None = None):
    """The block list at `mapping[key]`, created (at `position`, default last) if absent or
    null; an empty flow list (`env: []`) turns into a block list as it grows."""
    from ruamel.yaml.comments import CommentedSeq

    value = mapping.get(key)
    if isinstance(value, CommentedSeq):
        if not value and value.fa.flow_style():
            value.fa.set_block_style()
        return value
    if isinstance(value, list):
        return value
    value = CommentedSeq()
    if key in mapping:
        mapping[key] = value
    else:
        mapping.insert(len(mapping) if position is None else position, key, value)
    return value


_COPY_OWNER = re.compile(r'chown (\d+)(?::(\d+))? "\$1\.tmp"')


def _copy_script(owner: tuple[int, int | None] | None) -> str:
    """The init container's `sh -c` script; "$0" is the Secret's file, "$1" the copy."""
    chown = f'chown {format_owner(owner)} "$1.tmp" && ' if owner else ""
    return f'umask 077 && cp "$0" "$1.tmp" && {chown}chmod 0400 "$1.tmp" && mv -f "$1.tmp" "$1"'


def _copy_owner(init: Any) -> tuple[int, int | None] | None:
    """The owner an init container we wrote earlier gives the copy, if any."""
    command = init.get("command") if isinstance(init, Mapping) else None
    found = (
        _COPY_OWNER.search(str(command[2]))
        if isinstance(command, list) and len(command) > 2
        else None
    )
    if found is None:
        return None
    return int(found[1]), int(found[2]) if found[2] is not None else None


def _namespace(obj: Mapping) -> str | None:
    namespace = (obj.get("metadata") or {}).get("namespace")
    return None if namespace in (None, "") else str(namespace)


class DocumentEditor:
    """Plans and applies the edits for one document, recording changes and findings."""

    def __init__(self, ctx: EditContext, result: FileResult, doc: yamlstream.Document):
        self.ctx, self.result, self.doc = ctx, result, doc
        self.opt = ctx.options
        self.touched = False

    # bookkeeping
    def change(self, obj, container, action, detail, fingerprint=None):
        self.touched = True
        self.ctx.namespaces.setdefault(_namespace(obj), {})
        self.result.changes.append(
            Change(
                self.result.path,
                self.doc.index + 1,
                object_ref(obj),
                container,
                action,
                detail,
                fingerprint,
            )
        )

    def finding(self, obj, container, code, message, fingerprint=None, severity="error"):
        from erlcookie.k8s.inject.findings import locate

        workload = object_ref(obj) if obj is not None else None
        var = re.search(r"\bin env ([A-Za-z_][A-Za-z0-9_]*)", message)
        line = locate(self.doc, workload, container, var.group(1) if var else None)
        self.result.findings.append(
            finding(
                self.result.path,
                line,
                self.doc.index + 1,
                workload,
                container,
                code,
                message,
                fingerprint,
                severity,
            )
        )

    def running_cookie(self, obj, cookie: str) -> None:
        """An edit replaced the cookie the pods run today (`cookie`: its fingerprint, or
        where it came from when its value is not in the input): the Secret must hold the
        same one until every pod runs the new spec, or the rollout splits the cluster."""
        running = self.ctx.namespaces[_namespace(obj)]
        running.setdefault(cookie, set()).add(object_ref(obj))

    def mounted_cookie(self, obj, spec: Mapping, mount: Mapping) -> str | None:
        """The fingerprint (ConfigMap in the input) or the source of the cookie file that
        `mount` gives the container today; None for our own Secret or no such volume."""
        volume = next(
            (
                v
                for v in spec.get("volumes") or []
                if isinstance(v, Mapping) and v.get("name") == mount.get("name")
            ),
            None,
        )
        inner = mount.get("subPath") or None
        for kind, name_key in (("configMap", "name"), ("secret", "secretName")):
            source = volume.get(kind) if isinstance(volume, Mapping) else None
            if not isinstance(source, Mapping) or inner is None:
                continue
            name = source.get(name_key)
            if kind == "secret" and name == self.opt.secret:
                return None
            items = [i for i in source.get("items") or [] if isinstance(i, Mapping)]
            key = next(
                (
                    str(i.get("key"))
                    for i in items
                    if posixpath.normpath(str(i.get("path"))) == posixpath.normpath(str(inner))
                ),
                None if items else str(inner),
            )
            if key is None:
                return None
            if kind == "configMap":
                cookie = _cm_value(self.ctx, _namespace(obj), name, key)
                if cookie is not None:
                    self.result.secrets.append(cookie)
                    return cookie.fingerprint()
            return f"{'ConfigMap' if kind == 'configMap' else 'Secret'} {name} key {key}"
        return None

    def mark_secret(self, node, key, cookie: Cookie | None) -> None:
        """Remember a value being removed and its lines, to redact them from --diff."""
        if cookie is not None:
            self.result.secrets.append(cookie)
        try:
            line, col = node.lc.key(key)
        except (AttributeError, KeyError, TypeError):
            return
        first = self.doc.body_line + line
        lines = self.doc.text.splitlines()
        self.result.secret_lines.add(first)
        rel = line + (self.doc.body_line - self.doc.line)
        for k in range(rel + 1, len(lines)):  # continuation lines of a block or folded value
            text = lines[k]
            if text.strip() and len(text) - len(text.lstrip()) <= col:
                break
            self.result.secret_lines.add(self.doc.line + k)

    # the walk
    def run(self) -> None:
        for obj in iter_workloads(self.doc.data):
            self.workload(obj)
        if self.touched:
            yamlstream.render(self.doc)

    def workload(self, obj: Mapping) -> None:
        spec = pod_spec(obj)
        if spec is None:
            return
        if self.opt.selector is not None and not self.opt.selector.matches(
            pod_template_labels(obj)
        ):
            return
        refs = self.pick_containers(obj, spec)
        if not refs:
            return
        self.ctx.workloads += 1
        self.ctx.named_seen.update(ref.name for ref in refs)
        namespace = (obj.get("metadata") or {}).get("namespace")
        if self.opt.mount is not None:
            volume = self.ensure_volume(obj, spec)
            if volume is not None and self.opt.init_copy:
                volume = self.ensure_copy(obj, spec, refs, volume)
        for ref in refs:
            added = 0
            for var in self.opt.envs:  # new entries keep the order the variables were given
                added += self.wire_env(obj, ref, namespace, var, at=added)
            if self.opt.mount is not None and volume is not None:
                self.wire_mount(obj, spec, ref, volume)
            for plain in plain_cookies(ref.container, skip_env=self.opt.envs):
                self.result.secrets.append(plain.cookie)
                hint = (
                    f"wire that variable instead (--env {plain.where[4:]})"
                    if plain.where.startswith("env ") and "(" not in plain.where
                    else "move it to the Secret and remove it"
                )
                self.finding(
                    obj,
                    ref.name,
                    "plain-cookie",
                    f"a cookie in clear in {plain.where}: {hint}",
                    plain.cookie.fingerprint(),
                )
        wired = {id(ref.container) for ref in refs}
        for key in ("containers", "initContainers"):
            for container in spec.get(key) or []:
                if not isinstance(container, Mapping) or id(container) in wired:
                    continue
                for plain in plain_cookies(container):
                    self.result.secrets.append(plain.cookie)
                    self.finding(
                        obj,
                        str(container.get("name")),
                        "plain-cookie",
                        f"a cookie in clear in {plain.where} of a container left alone "
                        f"(--container {container.get('name')} wires it)",
                        plain.cookie.fingerprint(),
                    )

    def pick_containers(self, obj: Mapping, spec: Mapping) -> list[ContainerRef]:
        """The containers to wire: those named by --container; else the app containers that
        already deal with the cookie; else the only app container; else all of them (with a
        warning, since a sidecar that is no Erlang node should not get the secret)."""
        refs = containers(spec, self.opt.containers)
        if self.opt.containers is not None or len(refs) <= 1:
            return refs
        involved = [ref for ref in refs if self.mentions_cookie(spec, ref.container)]
        if involved:
            return involved
        self.finding(
            obj,
            None,
            "all-containers",
            f"none of its {len(refs)} app containers mentions the cookie yet, so all "
            f"were wired; name the Erlang ones with --container",
            severity="warning",
        )
        return refs

    def mentions_cookie(self, spec: Mapping, container: Mapping) -> bool:
        opt = self.opt
        for var in opt.envs:
            if env_binding(container, var, opt.secret, opt.key).state != "missing":
                return True
            words = [str(w) for k in ("command", "args") for w in container.get(k) or []]
            if any(f"$({var})" in w for w in words):
                return True
        if (
            opt.mount is not None
            and mount_binding(spec, container, opt.mount, opt.secret, opt.key).state != "missing"
        ):
            return True
        return bool(plain_cookies(container))

    # env mode
    def _secret_ref(self):
        from ruamel.yaml.comments import CommentedMap

        ref = CommentedMap()
        ref["name"] = self.opt.secret
        ref["key"] = self.opt.key
        value_from = CommentedMap()
        value_from["secretKeyRef"] = ref
        return value_from

    def wire_env(
        self, obj: Mapping, ref: ContainerRef, namespace: str | None, var: str, at: int = 0
    ) -> int:
        """Set `var` from the Secret in one container; 1 when a new entry went in at `at`."""
        from ruamel.yaml.comments import CommentedMap

        opt, container = self.opt, ref.container
        binding = env_binding(container, var, opt.secret, opt.key)
        env = container.get("env")
        where = f"{var} from Secret {opt.secret} key {opt.key}"
        if binding.state in ("missing", "envfrom-secret", "envfrom-configmap"):
            if (
                binding.state == "envfrom-secret"
                and binding.reference == opt.secret
                and binding.key == opt.key
                and not binding.optional
            ):
                return 0  # envFrom of our Secret, whose key is the variable's name
            cookie = None
            if binding.state == "envfrom-configmap":
                cookie = _cm_value(self.ctx, namespace, binding.reference, binding.key)
                if cookie is not None:
                    self.finding(
                        obj,
                        ref.name,
                        "configmap-cookie",
                        f"ConfigMap {binding.reference} key {binding.key} still holds "
                        f"the cookie (envFrom); the new env entry overrides it, but "
                        f"remove it from the ConfigMap",
                        cookie.fingerprint(),
                        "warning",
                    )
            item = CommentedMap()
            item["name"] = var
            item["valueFrom"] = self._secret_ref()
            keys = list(container.keys())
            env = _list_at(
                container,
                "env",
                max((keys.index(k) + 1 for k in _ENV_AFTER if k in keys), default=len(keys)),
            )
            env.insert(at, item)  # first, so `$(VAR)` in later entries can expand it
            self.change(obj, ref.name, "add-env", f"added {where}")
            if binding.state == "envfrom-configmap" and cookie is not None:
                self.running_cookie(obj, cookie.fingerprint())
            return 1
        elif binding.state == "secret":
            item = env[binding.index]
            if binding.optional:
                del item["valueFrom"]["secretKeyRef"]["optional"]
                self.change(
                    obj,
                    ref.name,
                    "not-optional",
                    f"removed `optional: true` from {var}: without the Secret the "
                    "node would start with another cookie",
                )
        else:
            item = env[binding.index]
            fingerprint = None
            if binding.state == "literal":
                self.mark_secret(item, "value", binding.literal)
                if binding.literal is None:
                    detail = f"replaced an empty value of {var}"
                elif binding.expands:
                    detail = f"replaced a $(...) reference in {var}"
                else:
                    fingerprint = binding.literal.fingerprint()
                    detail = f"replaced a literal value of {var} ({fingerprint})"
                del item["value"]
            elif binding.state == "configmap":
                cookie = _cm_value(self.ctx, namespace, binding.reference, binding.key)
                fingerprint = cookie.fingerprint() if cookie else None
                detail = f"replaced configMapKeyRef {binding.reference}/{binding.key}" + (
                    f" ({fingerprint})" if fingerprint else ""
                )
                if cookie is not None:
                    self.finding(
                        obj,
                        ref.name,
                        "configmap-cookie",
                        f"ConfigMap {binding.reference} key {binding.key} still holds "
                        "the cookie: remove it once nothing else reads it",
                        fingerprint,
                        "warning",
                    )
                del item["valueFrom"]
            elif binding.state == "other-secret":
                detail = f"repointed {var} from Secret {binding.reference} key {binding.key}"
                del item["valueFrom"]
            else:
                detail = f"replaced a fieldRef/resourceFieldRef in {var}"
                del item["valueFrom"]
            item["valueFrom"] = self._secret_ref()
            self.change(obj, ref.name, "replace-env", f"{detail} with {where}", fingerprint)
            source = {
                "configmap": f"ConfigMap {binding.reference} key {binding.key}",
                "other-secret": f"Secret {binding.reference} key {binding.key}",
            }
            if fingerprint is not None or binding.state in source:
                self.running_cookie(obj, fingerprint or source[binding.state])
        for index in reversed(binding.duplicates):
            dup = env[index]
            fingerprint = None
            if "value" in dup and dup.get("value"):
                cookie = Cookie(str(dup["value"]))
                self.mark_secret(dup, "value", cookie)
                fingerprint = cookie.fingerprint()
            del env[index]
            self.change(
                obj,
                ref.name,
                "remove-duplicate",
                f"removed an earlier duplicate {var} entry (the kubelet uses the last)",
                fingerprint,
            )
        return 0

    # mount mode
    def ensure_volume(self, obj: Mapping, spec: Mapping) -> str | None:
        """The name of a Secret volume projecting our key privately; None on a name clash."""
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        opt = self.opt
        want = STAGING_FILE_MODE if opt.init_copy else SECRET_FILE_MODE
        volumes = _list_at(spec, "volumes")
        ours = [
            v
            for v in volumes
            if isinstance(v, Mapping)
            and isinstance(v.get("secret"), Mapping)
            and v["secret"].get("secretName") == opt.secret
        ]
        named = next(
            (v for v in volumes if isinstance(v, Mapping) and v.get("name") == opt.volume_name),
            None,
        )
        if named is not None and named not in ours:
            self.finding(
                obj,
                None,
                "volume-name-taken",
                f"volume name {opt.volume_name!r} is already used by {volume_source(named)}; "
                "choose another with --volume-name",
            )
            return None
        volume = named if named is not None else (ours[0] if ours else None)
        if volume is None:
            source = CommentedMap()
            source["secretName"] = opt.secret
            source["defaultMode"] = want
            source.yaml_add_eol_comment(_octal(want), "defaultMode")
            item = CommentedMap()
            item["key"] = opt.key
            item["path"] = opt.file_name
            source["items"] = CommentedSeq([item])
            volume = CommentedMap()
            volume["name"] = opt.volume_name
            volume["secret"] = source
            volumes.append(volume)
            self.change(
                obj,
                None,
                "add-volume",
                f"added volume {opt.volume_name} (Secret {opt.secret}, key {opt.key} as "
                f"{opt.file_name}, mode {_octal(want)})",
            )
            return opt.volume_name
        source = volume["secret"]
        projected = secret_volume_file(volume, opt.key)
        if projected is None or (
            source.get("items") and posixpath.normpath(projected[0]) != opt.file_name
        ):
            items = source.get("items")
            if not isinstance(items, list):
                items = CommentedSeq()
                source["items"] = items
            item = next(
                (i for i in items if isinstance(i, Mapping) and i.get("key") == opt.key), None
            )
            if item is None:
                item = CommentedMap()
                item["key"] = opt.key
                items.append(item)
            item["path"] = opt.file_name
            self.change(
                obj,
                None,
                "fix-volume",
                f"volume {volume['name']}: project key {opt.key} as {opt.file_name}",
            )
        elif not source.get("items"):
            source["items"] = CommentedSeq(
                [CommentedMap([("key", opt.key), ("path", opt.file_name)])]
            )
            self.change(
                obj,
                None,
                "fix-volume",
                f"volume {volume['name']}: project key {opt.key} as {opt.file_name}",
            )

        def wrong(mode: int | None) -> bool:
            if mode is None:
                return True
            return (mode & 0o444) != 0o444 if opt.init_copy else bool(mode & 0o077)

        mode = yaml_int(source.get("defaultMode"))
        if wrong(mode):
            source["defaultMode"] = want
            source.yaml_add_eol_comment(_octal(want), "defaultMode")
            was = "unset (0644)" if mode is None else _octal(mode)
            self.change(
                obj,
                None,
                "fix-volume",
                f"volume {volume['name']}: defaultMode {was} -> {_octal(want)}",
            )
        for item in source.get("items") or []:
            if isinstance(item, Mapping) and item.get("key") == opt.key and "mode" in item:
                if wrong(yaml_int(item.get("mode"))):
                    item["mode"] = want
                    self.change(
                        obj,
                        None,
                        "fix-volume",
                        f"volume {volume['name']}: item mode of {opt.key} -> {_octal(want)}",
                    )
        return str(volume["name"])

    def ensure_copy(
        self, obj: Mapping, spec: Mapping, refs: list[ContainerRef], secret_volume: str
    ) -> str | None:
        """An in-memory emptyDir and an init container that copies the Secret's file into it
        as the app's user with mode 0400 (what Erlang demands of a cookie file, and what a
        Secret volume cannot give a non-root container or one under fsGroup)."""
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        opt = self.opt
        file_volume, init_name = f"{opt.volume_name}-file", f"{opt.volume_name}-copy"
        volumes = _list_at(spec, "volumes")
        existing = next(
            (v for v in volumes if isinstance(v, Mapping) and v.get("name") == file_volume), None
        )
        if existing is None:
            empty_dir = CommentedMap([("medium", "Memory")])
            volumes.append(CommentedMap([("name", file_volume), ("emptyDir", empty_dir)]))
            self.change(
                obj,
                None,
                "add-volume",
                f"added volume {file_volume} (emptyDir in memory) for the copied cookie file",
            )
        elif "emptyDir" not in existing:
            self.finding(
                obj,
                None,
                "volume-name-taken",
                f"volume name {file_volume!r} is already used by {volume_source(existing)}; "
                "choose another --volume-name",
            )
            return None
        app = refs[0].container
        contexts = {
            json.dumps(r.container.get("securityContext"), sort_keys=True, default=str)
            for r in refs
        }
        if len({str(r.container.get("image")) for r in refs}) > 1 or len(contexts) > 1:
            self.finding(
                obj,
                None,
                "copy-owner",
                f"the cookie file is copied as the user of container {refs[0].name}; the other "
                "wired containers run differently and may not read it",
                severity="warning",
            )
        keys = list(spec.keys())
        inits = _list_at(
            spec, "initContainers", keys.index("containers") if "containers" in keys else None
        )
        index = next(
            (
                i
                for i, c in enumerate(inits)
                if isinstance(c, Mapping) and c.get("name") == init_name
            ),
            None,
        )
        # an owner chosen on an earlier run stays until another is given
        owner = opt.init_copy_owner or (_copy_owner(inits[index]) if index is not None else None)
        self.check_copy_owner(obj, spec, refs[0], owner)
        source, target = f"{COPY_DIR_SECRET}/{opt.file_name}", f"{COPY_DIR_FILE}/{opt.file_name}"
        desired = CommentedMap()
        desired["name"] = init_name
        desired["image"] = app.get("image")
        if app.get("imagePullPolicy"):
            desired["imagePullPolicy"] = app["imagePullPolicy"]
        desired["command"] = CommentedSeq(["sh", "-c", _copy_script(owner), source, target])
        if app.get("securityContext") is not None:
            desired["securityContext"] = copy.deepcopy(app["securityContext"])
        desired["volumeMounts"] = CommentedSeq(
            [
                CommentedMap(
                    [("name", secret_volume), ("mountPath", COPY_DIR_SECRET), ("readOnly", True)]
                ),
                CommentedMap([("name", file_volume), ("mountPath", COPY_DIR_FILE)]),
            ]
        )
        if index is None:
            inits.insert(0, desired)
            who = f"owned by {format_owner(owner)}" if owner else f"as the user of {refs[0].name}"
            self.change(
                obj,
                None,
                "add-init-container",
                f"added init container {init_name}: copies key {opt.key} to {opt.file_name} "
                f"with mode 0400 {who}",
            )
        elif _plain(inits[index]) != _plain(desired):
            inits[index] = desired
            self.change(obj, None, "fix-init-container", f"updated init container {init_name}")
        return file_volume

    def check_copy_owner(
        self, obj: Mapping, spec: Mapping, app: ContainerRef, owner: tuple[int, int | None] | None
    ) -> None:
        """The copy belongs to whoever the init container runs as (the app's securityContext).
        Without a runAsUser that is the image's default user, root for many images whose
        entrypoint then drops to a server user (the official RabbitMQ image: uid 999), who
        cannot read a root-owned 0400 file. A chown needs root (CAP_CHOWN)."""
        user, non_root, _ = run_as(spec, app.container)
        if owner is None:
            if user is None and not non_root:
                self.finding(
                    obj,
                    app.name,
                    "copy-as-root",
                    "no runAsUser in the pod or container: the init container copies "
                    "the cookie file as the image's default user (root for the official "
                    "RabbitMQ image), and a server that drops to its own user (RabbitMQ: "
                    "uid 999) cannot read a 0400 file that is not its own; give "
                    "--init-copy-owner UID[:GID] (e.g. 999:999) or set runAsUser",
                    severity="warning",
                )
            return
        if (user is not None and user not in (0, owner[0])) or (user is None and non_root):
            who = f"user {user}" if user is not None else "a non-root user (runAsNonRoot)"
            self.finding(
                obj,
                app.name,
                "copy-chown",
                f"the init container runs as {who} (the securityContext of container "
                f"{app.name}) and cannot chown the copy to {format_owner(owner)}: drop "
                "--init-copy-owner (the copy is already that user's) or fix runAsUser",
            )
            return
        caps = (app.container.get("securityContext") or {}).get("capabilities") or {}
        dropped = {str(c).upper() for c in caps.get("drop") or []}
        added = {str(c).upper() for c in caps.get("add") or []}
        if user != owner[0] and dropped & {"ALL", "CHOWN"} and "CHOWN" not in added:
            self.finding(
                obj,
                app.name,
                "copy-chown",
                f"container {app.name} drops CAP_CHOWN, which the init container (same "
                f"securityContext) needs to chown the copy to {format_owner(owner)}",
                severity="warning",
            )

    def wire_mount(self, obj: Mapping, spec: Mapping, ref: ContainerRef, volume: str) -> None:
        from ruamel.yaml.comments import CommentedMap

        opt, container = self.opt, ref.container
        binding = mount_binding(spec, container, opt.mount, opt.secret, opt.key)
        problem = None if opt.init_copy else mount_permission_problem(spec, container)
        if problem:
            self.finding(
                obj,
                ref.name,
                "mount-permissions",
                f"{problem}; use --init-copy (an init container copies it as the app's "
                "user with mode 0400)",
                severity="warning",
            )
        if (
            binding.state == ("secret-copy" if opt.init_copy else "secret")
            and binding.volume == volume
        ):
            return
        mounts = _list_at(container, "volumeMounts")
        new = CommentedMap()
        new["name"] = volume
        new["mountPath"] = opt.mount
        new["subPath"] = opt.file_name
        new["readOnly"] = True
        how = "a 0400 copy of " if opt.init_copy else ""
        old = mounts[binding.mount_index] if binding.mount_index is not None else None
        exact = old is not None and posixpath.normpath(str(old.get("mountPath", ""))) == opt.mount
        if exact:
            running = self.mounted_cookie(obj, spec, old)
            if running is not None:
                self.running_cookie(obj, running)
            old_volume = str(old.get("name"))
            mounts[binding.mount_index] = new
            self.change(
                obj,
                ref.name,
                "replace-mount",
                f"replaced the mount of {binding.source} at {opt.mount} with {how}Secret "
                f"{opt.secret} key {opt.key} (subPath, read-only)",
            )
            self.drop_unused_volume(obj, spec, old_volume)
        else:
            mounts.append(new)
            self.change(
                obj,
                ref.name,
                "add-mount",
                f"mounted {how}Secret {opt.secret} key {opt.key} at {opt.mount} (subPath, read-only)",
            )

    def drop_unused_volume(self, obj: Mapping, spec: Mapping, name: str) -> None:
        if name == self.opt.volume_name:
            return
        for key in ("containers", "initContainers", "ephemeralContainers"):
            for container in spec.get(key) or []:
                if any(
                    isinstance(m, Mapping) and m.get("name") == name
                    for m in container.get("volumeMounts") or []
                ):
                    return
        volumes = spec.get("volumes") or []
        for index, volume in enumerate(volumes):
            if isinstance(volume, Mapping) and volume.get("name") == name:
                source = volume_source(volume)
                secret = volume.get("secret")
                if isinstance(secret, Mapping) and secret.get("secretName") == self.opt.secret:
                    return
                del volumes[index]
                self.change(
                    obj,
                    None,
                    "remove-volume",
                    f"removed volume {name} ({source}), no longer mounted",
                )
                if "configMap" in volume:
                    self.finding(
                        obj,
                        None,
                        "configmap-cookie",
                        f"{source} was the cookie's source: remove the cookie from it",
                        severity="warning",
                    )
                return
