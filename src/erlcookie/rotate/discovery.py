"""Finding the members of a cluster: a static list, EPMD hosts, or Kubernetes pods.

Whatever the source, the engine then adds every visible peer the members report
(`nodes()`), transitively, so naming one node is enough and nothing the cluster knows is
missed. Sources also tell the `Dialer` how to reach what they found (a pod's IP, a
port-forward), so node names never have to resolve from where the tool runs.

Kubernetes: a pod's node name comes from its container env (`RELEASE_NODE` by default),
resolved as the kubelet would: plain values, downward-API `fieldRef`s (status.podIP,
metadata.name, ...) and `$(VAR)` references to earlier variables; or from
`--node-template` such as `chat@{pod_ip}`. Pods not yet running (or without an IP) are
reported as pending, so the converge phase waits for them.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from erlcookie.errors import OperationalError, UsageError
from erlcookie.rotate.interfaces import Found
from erlcookie.rotate.ops_distribution import EPMD_PORT, Dial, Dialer
from erlcookie.rotate.settings import DEFAULT_NODE_ENV


def parse_nodes(text: str) -> list[str]:
    """`a@h,b@h` (also whitespace-separated) into checked node names."""
    from erlcookie.distribution.nodename import NodeName

    names = [part for part in re.split(r"[,\s]+", text or "") if part]
    if not names:
        raise UsageError("--nodes is empty")
    return [str(NodeName.parse(n)) for n in names]


def parse_host_map(items: Iterable[str]) -> dict[str, Dial]:
    """`--host NODE=ADDR[:DISTPORT]`: dial ADDR for NODE (a port-forward gives the port)."""
    from erlcookie.distribution.nodename import NodeName

    out: dict[str, Dial] = {}
    for item in items:
        node, sep, target = item.partition("=")
        if not sep or not target:
            raise UsageError(f"--host {item!r}: write NODE=ADDRESS or NODE=ADDRESS:DISTPORT")
        name = str(NodeName.parse(node))
        host, port = target, None
        if target.count(":") == 1 or (target.startswith("[") and "]:" in target):
            host, _, port_text = target.rpartition(":")
            host = host.strip("[]")
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise UsageError(f"--host {item!r}: {port_text!r} is not a port")
            port = int(port_text)
        out[name] = Dial(host, EPMD_PORT, port)
    return out


def parse_epmd_host(text: str, default_port: int = EPMD_PORT) -> tuple[str, int, str]:
    """`HOST[:PORT][=NAMEHOST]` -> (host to ask, EPMD port, host part of the node names)."""
    where, _, name_host = text.partition("=")
    host, port = where, default_port
    if where.count(":") == 1:
        host, _, port_text = where.partition(":")
        if not port_text.isdigit():
            raise UsageError(f"--epmd-host {text!r}: {port_text!r} is not a port")
        port = int(port_text)
    if not host:
        raise UsageError(f"--epmd-host {text!r} names no host")
    return host, port, name_host or host


class StaticDiscovery:
    def __init__(self, nodes: Sequence[str]) -> None:
        self.nodes = tuple(nodes)
        self.description = f"--nodes ({len(self.nodes)} given, plus their peers)"

    def config(self) -> dict:
        return {"kind": "static", "nodes": list(self.nodes)}

    async def discover(self) -> Found:
        return Found(self.nodes)


class EpmdDiscovery:
    """Every node registered in the EPMD of some hosts (optionally matching a glob)."""

    def __init__(
        self,
        hosts: Sequence[tuple[str, int, str]],
        dialer: Dialer,
        *,
        match: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.hosts = list(hosts)
        self.dialer = dialer
        self.match = match
        self.timeout = timeout
        self.description = "EPMD at " + ", ".join(f"{h}:{p}" for h, p, _ in self.hosts)

    def config(self) -> dict:
        return {"kind": "epmd", "hosts": [list(h) for h in self.hosts], "match": self.match}

    async def discover(self) -> Found:
        from erlcookie.distribution.client import epmd_names
        from erlcookie.distribution.errors import DistError

        async def one(host, port, name_host):
            try:
                reply = await epmd_names(host, epmd_port=port, timeout=self.timeout)
            except DistError as exc:
                raise OperationalError(f"EPMD at {host}:{port}: {exc.detail}") from None
            names = []
            for alive, _dist_port in reply.nodes:
                if alive.startswith("erlcookie-"):
                    continue
                if self.match and not fnmatch.fnmatchcase(alive, self.match):
                    continue
                node = f"{alive}@{name_host}"
                self.dialer.learn(node, Dial(host if host != name_host else None, port))
                names.append(node)
            return names

        results = await asyncio.gather(*(one(*h) for h in self.hosts))
        return Found(tuple(sorted({n for names in results for n in names})))


class MultiDiscovery:
    def __init__(self, sources: Sequence[Any]) -> None:
        self.sources = list(sources)
        self.description = " + ".join(s.description for s in self.sources)

    def config(self) -> dict:
        return {"kind": "multi", "sources": [s.config() for s in self.sources]}

    async def discover(self) -> Found:
        found = await asyncio.gather(*(s.discover() for s in self.sources))
        return Found(
            tuple(sorted({n for f in found for n in f.nodes})),
            tuple(sorted({n for f in found for n in f.pending})),
        )


# -- Kubernetes ----------------------------------------------------------------------------------
_FIELD_PATHS = {
    "status.podIP": lambda p: (p.get("status") or {}).get("podIP"),
    "status.hostIP": lambda p: (p.get("status") or {}).get("hostIP"),
    "metadata.name": lambda p: (p.get("metadata") or {}).get("name"),
    "metadata.namespace": lambda p: (p.get("metadata") or {}).get("namespace"),
    "metadata.uid": lambda p: (p.get("metadata") or {}).get("uid"),
    "spec.nodeName": lambda p: (p.get("spec") or {}).get("nodeName"),
    "spec.serviceAccountName": lambda p: (p.get("spec") or {}).get("serviceAccountName"),
}
_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def _field(pod: Mapping, path: str) -> str | None:
    if path in _FIELD_PATHS:
        return _FIELD_PATHS[path](pod)
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if m:
        return ((pod.get("metadata") or {}).get(m.group(1)) or {}).get(m.group(2))
    return None


def _expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: known names are replaced, unknown ones kept, `$$`
    is a literal `$`."""

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)

    return _REF.sub(sub, value)


def container_env(pod: Mapping, container: Mapping) -> dict[str, str]:
    """The env a container sees, as far as the pod spec tells (values, fieldRefs, $(VAR)).
    Values from Secrets/ConfigMaps are not read (they are left out)."""
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        name = item.get("name")
        if not name:
            continue
        if "value" in item:
            env[name] = _expand(str(item.get("value") or ""), env)
        else:
            ref = ((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
            if ref:
                value = _field(pod, ref)
                if value is not None:
                    env[name] = value
    return env


def pod_node_name(
    pod: Mapping,
    *,
    env_names: Sequence[str] = DEFAULT_NODE_ENV,
    template: str | None = None,
    container: str | None = None,
) -> str | None:
    """The Erlang node name a pod runs under, or None if the spec does not say."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    if container:
        containers = [c for c in containers if c.get("name") == container]
    for c in containers:
        env = container_env(pod, c)
        for name in env_names:
            value = env.get(name)
            if value and "@" in value and "$(" not in value:
                return value
    if template:
        ip = (pod.get("status") or {}).get("podIP") or ""
        values = {
            "pod_ip": ip,
            "pod_ip_dashed": ip.replace(".", "-"),
            "pod_name": meta.get("name", ""),
            "namespace": meta.get("namespace", ""),
            "hostname": spec.get("hostname") or meta.get("name", ""),
            "subdomain": spec.get("subdomain", ""),
        }
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            raise UsageError(
                f"--node-template {template!r}: use only "
                + ", ".join("{" + k + "}" for k in values)
            ) from None
    return None


def pod_ready_address(pod: Mapping) -> str | None:
    """The pod's IP if it runs and is not being deleted; None while it is pending."""
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return None
    if status.get("phase") != "Running":
        return None
    return status.get("podIP") or None


def pod_waiting_reason(pod: Mapping) -> str:
    """Why a pod runs no node yet, as `kubectl get pods` would hint: its phase and the
    scheduler's or the kubelet's reason."""
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return f"{phase}: {cond.get('reason') or 'not scheduled'}"
    for cstatus in status.get("containerStatuses") or []:
        waiting = (cstatus.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return f"{phase}: {waiting['reason']}"
    return phase if status.get("podIP") or phase != "Running" else f"{phase}: no IP yet"


class KubeDiscovery:
    """Pods matching a selector; each dialled at its pod IP, or through port-forwards."""

    def __init__(
        self,
        api,
        selector: str,
        dialer: Dialer,
        *,
        env_names: Sequence[str] = DEFAULT_NODE_ENV,
        template: str | None = None,
        container: str | None = None,
        port_forward: PortForwards | None = None,
        dial_by_name: bool = False,
        epmd_port: int = EPMD_PORT,
    ) -> None:
        if not selector:
            raise UsageError("Kubernetes discovery needs a label selector (-l app=NAME)")
        self.api = api
        self.selector = selector
        self.dialer = dialer
        self.env_names = tuple(env_names)
        self.template = template
        self.container = container
        self.port_forward = port_forward
        self.dial_by_name = dial_by_name
        self.epmd_port = epmd_port
        self.description = f"pods -l {selector} in namespace {api.namespace}"
        self.pods: dict[str, dict] = {}  # node name -> pod (latest discovery)

    def config(self) -> dict:
        return {
            "kind": "kubernetes",
            "namespace": self.api.namespace,
            "selector": self.selector,
            "env": list(self.env_names),
            "template": self.template,
            "container": self.container,
            "port_forward": self.port_forward is not None,
        }

    async def discover(self) -> Found:
        pods = await asyncio.to_thread(self.api.list_pods, self.selector)
        nodes, pending = [], []
        unnamed = []
        self.pods = {}
        for pod in pods:
            pod_name = (pod.get("metadata") or {}).get("name", "?")
            ip = pod_ready_address(pod)
            if ip is None:
                if not (pod.get("metadata") or {}).get("deletionTimestamp") and (
                    pod.get("status") or {}
                ).get("phase") in (None, "Pending", "Running"):
                    pending.append(f"pod/{pod_name} ({pod_waiting_reason(pod)})")
                continue
            node = pod_node_name(
                pod, env_names=self.env_names, template=self.template, container=self.container
            )
            if node is None:
                unnamed.append(pod_name)
                continue
            self.pods[node] = pod
            if self.port_forward is not None:
                dial = await self.port_forward.dial(pod_name, node)
            elif self.dial_by_name:
                dial = Dial(None, self.epmd_port)
            else:
                dial = Dial(ip, self.epmd_port)
            self.dialer.learn(node, dial)
            nodes.append(node)
        if not pods and await asyncio.to_thread(self.api.namespace_exists) is False:
            raise OperationalError(f"namespace {self.api.namespace!r} does not exist")
        if unnamed:
            raise UsageError(
                f"pod(s) {', '.join(unnamed[:3])} set none of "
                f"{', '.join(self.env_names)} to a node name; give --node-env VAR "
                "or --node-template (e.g. 'app@{pod_ip}')"
            )
        return Found(tuple(sorted(nodes)), tuple(sorted(pending)))

    def owners(self) -> list[tuple[str, str]]:
        """(kind, name) of the workloads owning the discovered pods (ReplicaSets resolved
        to their Deployment through the API)."""
        owners: set[tuple[str, str]] = set()
        for pod in self.pods.values():
            for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
                if ref.get("controller") is False:
                    continue
                owners.add((ref.get("kind"), ref.get("name")))
        resolved: set[tuple[str, str]] = set()
        for kind, name in owners:
            if kind == "ReplicaSet":
                rs = self.api.get("ReplicaSet", name) or {}
                for ref in (rs.get("metadata") or {}).get("ownerReferences") or []:
                    if ref.get("kind") == "Deployment":
                        resolved.add(("Deployment", ref["name"]))
                        break
                else:
                    resolved.add((kind, name))
            else:
                resolved.add((kind, name))
        return sorted(resolved)


class PortForwards:
    """`kubectl port-forward` per pod: one to EPMD, one to the distribution port it names.

    For running the tool from a laptop; the processes live until `close()`.
    """

    _LINE = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")

    def __init__(
        self,
        namespace: str,
        *,
        kubectl: str = "kubectl",
        context: str | None = None,
        kubeconfig: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        if shutil.which(kubectl) is None:
            raise UsageError(f"--port-forward needs {kubectl!r} on PATH")
        self.namespace = namespace
        self.kubectl = kubectl
        self.context = context
        self.kubeconfig = kubeconfig
        self.timeout = timeout
        self.procs: list[subprocess.Popen] = []
        self._dials: dict[str, Dial] = {}

    async def _forward(self, pod: str, remote: int) -> int:
        cmd = [self.kubectl, "port-forward", "-n", self.namespace, "--address", "127.0.0.1"]
        if self.context:
            cmd += ["--context", self.context]
        if self.kubeconfig:
            cmd += ["--kubeconfig", self.kubeconfig]
        cmd += [f"pod/{pod}", f":{remote}"]
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        self.procs.append(proc)
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    line = await proc.stdout.readline()
                    if not line:
                        err = (await proc.stderr.read()).decode("utf-8", "replace").strip()
                        raise OperationalError(
                            f"kubectl port-forward to pod/{pod}:{remote} failed: {err[-200:]}"
                        )
                    m = self._LINE.search(line.decode("utf-8", "replace"))
                    if m:
                        return int(m.group(1))
        except TimeoutError:
            raise OperationalError(
                f"kubectl port-forward to pod/{pod}:{remote} did not start within {self.timeout:g}s"
            ) from None

    async def dial(self, pod: str, node: str) -> Dial:
        """Forward EPMD, ask it for the node's port, forward that: a Dial to 127.0.0.1."""
        from erlcookie.distribution.client import epmd_port_please
        from erlcookie.distribution.epmd import NotRegistered

        if pod in self._dials:
            return self._dials[pod]
        epmd_local = await self._forward(pod, EPMD_PORT)
        answer = await epmd_port_please(
            "127.0.0.1", node.split("@", 1)[0], epmd_port=epmd_local, timeout=self.timeout
        )
        if isinstance(answer, NotRegistered):
            raise OperationalError(f"pod/{pod}: its EPMD knows no node {node!r}")
        dist_local = await self._forward(pod, answer.port)
        dial = Dial("127.0.0.1", epmd_local, dist_local)
        self._dials[pod] = dial
        return dial

    async def close(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
        self.procs.clear()


class KubeRestarter:
    """`--restart`: rollout restart of the workloads owning the pods, then wait for them."""

    def __init__(
        self,
        api,
        discovery: KubeDiscovery,
        *,
        targets: Sequence[tuple[str, str]] = (),
        timeout: float = 600.0,
    ) -> None:
        self.api = api
        self.discovery = discovery
        self.targets = list(targets)
        self.timeout = timeout
        self.description = "rollout restart of the pods' workloads"

    def _workloads(self) -> list[tuple[str, str]]:
        if self.targets:
            return self.targets
        owners = self.discovery.owners()
        bad = [f"{k}/{n}" for k, n in owners if k not in ("Deployment", "StatefulSet", "DaemonSet")]
        if bad:
            raise UsageError(
                f"cannot rollout-restart {', '.join(bad)}; name the workload with "
                "--restart-target KIND/NAME"
            )
        return owners

    async def check(self) -> None:
        """The workloads exist and we may patch them (rollout restart) and read them
        (waiting): proven now, before anything changes."""
        if not self.targets:
            await self.discovery.discover()
        workloads = self._workloads()
        if not workloads:
            raise UsageError("--restart: no Deployment/StatefulSet/DaemonSet owns the pods")
        for kind, name in workloads:
            if await asyncio.to_thread(self.api.get_workload, kind, name) is None:
                raise UsageError(f"--restart: {kind}/{name} does not exist")
        needs = [(verb, kind, name) for kind, name in workloads for verb in ("get", "patch")]
        missing = await asyncio.to_thread(self.api.missing_permissions, needs)
        if missing:
            from erlcookie.k8s.api import MissingPermissions

            raise MissingPermissions(
                missing, self.api.namespace, "to restart the workloads at the end (--restart)"
            )
        self.description = "rollout restart " + ", ".join(f"{k}/{n}" for k, n in workloads)

    async def restart(
        self, emit, stamps: dict | None = None, save: Callable[[], None] | None = None
    ) -> list[str]:
        """Stamp each workload's pod template (what `kubectl rollout restart` does) and wait
        for the rollouts. `stamps` (kept in the journal) records each stamp before it is
        sent: a resumed run whose stamp is already on the workload only waits, instead of
        starting yet another rollout."""
        stamps = {} if stamps is None else stamps
        if not self.targets:
            await self.discovery.discover()  # owners of the pods as they are now
        workloads = self._workloads()
        if not workloads:
            raise OperationalError("no Deployment/StatefulSet/DaemonSet owns the pods")
        for kind, name in workloads:
            ref = f"{kind}/{name}"
            stamp = stamps.get(ref)
            if stamp and await asyncio.to_thread(self.api.restart_stamp, kind, name) == stamp:
                emit(
                    "node",
                    phase="restart",
                    node=ref,
                    action="restart",
                    result="ok",
                    detail=f"already requested at {stamp}; waiting for it",
                )
                continue
            from erlcookie.k8s.api import now_rfc3339

            stamps[ref] = now_rfc3339()
            if save is not None:
                save()
            await asyncio.to_thread(self.api.rollout_restart, kind, name, stamps[ref])
            emit(
                "node",
                phase="restart",
                node=ref,
                action="restart",
                result="ok",
                detail=f"requested at {stamps[ref]}",
            )
        for kind, name in workloads:
            await asyncio.to_thread(
                self.api.wait_rollout,
                kind,
                name,
                timeout=self.timeout,
                progress=lambda msg, k=kind, n=name: emit(
                    "node",
                    phase="restart",
                    node=f"{k}/{n}",
                    action="wait",
                    result="progress",
                    detail=msg,
                ),
            )
        return [f"{k}/{n}" for k, n in workloads]


def parse_restart_target(text: str) -> tuple[str, str]:
    kind, sep, name = text.partition("/")
    kinds = {
        "deployment": "Deployment",
        "deploy": "Deployment",
        "statefulset": "StatefulSet",
        "sts": "StatefulSet",
        "daemonset": "DaemonSet",
        "ds": "DaemonSet",
    }
    if not sep or not name or kind.lower() not in kinds:
        raise UsageError(
            f"--restart-target {text!r}: write KIND/NAME with KIND one of "
            "deployment, statefulset, daemonset"
        )
    return kinds[kind.lower()], name
