"""Putting a rotation together from settings: discovery, ops, persister, restarter, journal.

Settings are plain JSON (no secrets) so the journal can carry them: `--resume` and
`--rollback` rebuild exactly the same pieces without the original command line. The CLI
only turns options into settings and renders the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from erlcookie.cookie.value import Cookie
from erlcookie.errors import UsageError
from erlcookie.rotate import journal as journal_mod
from erlcookie.rotate.engine import EngineOptions, PreflightReport, RotationEngine
from erlcookie.rotate.plan import NEW, OLD, PlanSummary, summarize

Emit = Callable[..., None]


@dataclass
class Components:
    ops: Any
    discovery: Any
    persister: Any
    restarter: Any = None
    closers: list = field(default_factory=list)

    async def close(self) -> None:
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):
                result = closer()
                if asyncio.iscoroutine(result):
                    await result


def _kube_api(settings: Mapping[str, Any], namespace: str | None, cache: dict):
    key = namespace
    if key not in cache:
        from erlcookie.k8s.api import KubeApi

        kube = settings.get("kube") or {}
        cache[key] = KubeApi.connect(kubeconfig=kube.get("kubeconfig"), context=kube.get("context"),
                                     namespace=namespace, in_cluster=kube.get("in_cluster"))
    return cache[key]


def build(settings: Mapping[str, Any], cookies: Mapping[str, Cookie]) -> Components:
    """The pieces a rotation needs, from journal-able settings."""
    from erlcookie.rotate import discovery as disc
    from erlcookie.rotate import persist
    from erlcookie.distribution.epmd import EPMD_PORT
    from erlcookie.rotate.ops_distribution import Dial, Dialer, DistOps

    dial = settings.get("dial") or {}
    fixed = {node: Dial(d.get("host"), dial.get("epmd_port", EPMD_PORT), d.get("dist_port"))
             for node, d in (dial.get("nodes") or {}).items()}
    dialer = Dialer(epmd_port=dial.get("epmd_port", EPMD_PORT), default_host=dial.get("host"),
                    fixed=fixed)
    tls = None
    if dial.get("tls"):
        from erlcookie.distribution.tls import TlsOptions

        tls = TlsOptions(**dial["tls"])
    ops = DistOps(cookies, dialer, timeout=float(settings.get("timeout", 5.0)), tls=tls)
    comps = Components(ops, None, None)
    comps.closers.append(ops.close)
    apis: dict = {}

    found = settings.get("discovery") or {}
    sources = []
    if found.get("nodes"):
        sources.append(disc.StaticDiscovery(found["nodes"]))
    if found.get("epmd_hosts"):
        sources.append(disc.EpmdDiscovery([tuple(h) for h in found["epmd_hosts"]], dialer,
                                          match=found.get("epmd_match")))
    kube_disc = None
    kube = found.get("kubernetes")
    if kube:
        api = _kube_api(settings, kube.get("namespace"), apis)
        forwards = None
        if kube.get("port_forward"):
            k = settings.get("kube") or {}
            forwards = disc.PortForwards(api.namespace, context=k.get("context"),
                                         kubeconfig=k.get("kubeconfig"))
            comps.closers.append(forwards.close)
        kube_disc = disc.KubeDiscovery(api, kube["selector"], dialer,
                                       env_names=kube.get("env") or disc.DEFAULT_NODE_ENV,
                                       template=kube.get("template"),
                                       container=kube.get("container"),
                                       port_forward=forwards,
                                       dial_by_name=bool(kube.get("dial_by_name")),
                                       epmd_port=dial.get("epmd_port", EPMD_PORT))
        sources.append(kube_disc)
    if not sources:
        raise UsageError("no nodes to rotate: give --nodes, --epmd-host, or -l SELECTOR "
                         "(Kubernetes)")
    comps.discovery = sources[0] if len(sources) == 1 else disc.MultiDiscovery(sources)

    store = settings.get("persist") or {"kind": "none"}
    kind = store.get("kind")
    if kind == "secret":
        api = _kube_api(settings, store.get("namespace"), apis)
        comps.persister = persist.SecretPersister(api, store["name"], cookies,
                                                  key=store.get("key") or persist.DEFAULT_SECRET_KEY,
                                                  previous_key=store.get("previous_key"))
    elif kind == "file":
        comps.persister = persist.FilePersister(store["path"], cookies)
    elif kind == "command":
        comps.persister = persist.CommandPersister(store["command"], cookies)
    elif kind == "none":
        comps.persister = persist.NoPersister()
    else:
        raise UsageError(f"unknown persist kind {kind!r} in the settings")

    restart = settings.get("restart") or {}
    if restart.get("enabled"):
        if kube_disc is None:
            raise UsageError("--restart needs Kubernetes discovery (-l SELECTOR)")
        comps.restarter = disc.KubeRestarter(kube_disc.api, kube_disc,
                                             targets=[tuple(t) for t in restart.get("targets") or []],
                                             timeout=float(restart.get("timeout", 600)))
    for api in apis.values():
        comps.closers.append(api.close)
    return comps


def engine_options(settings: Mapping[str, Any], crash_at: str | None) -> EngineOptions:
    return EngineOptions(concurrency=int(settings.get("concurrency", 32)),
                         converge_timeout=float(settings.get("converge_timeout", 60)),
                         converge_interval=float(settings.get("converge_interval", 0.3)),
                         converge_settle=float(settings.get("converge_settle", 1.0)),
                         crash_at=crash_at)


@dataclass
class Outcome:
    status: str                  # done, rolled_back, dry_run
    journal: journal_mod.Journal | None
    report: PreflightReport | None = None
    summary: PlanSummary | None = None


async def start(settings: Mapping[str, Any], cookies: Mapping[str, Cookie], journal_path: Path,
                *, emit: Emit, dry_run: bool = False, keep_secrets_file: bool = True,
                crash_at: str | None = None, hook=None,
                components: Components | None = None) -> Outcome:
    """A new rotation: preflight, then (unless dry_run) journal, secrets file, phases."""
    comps = components or build(settings, cookies)
    try:
        engine = RotationEngine(comps.ops, comps.discovery, comps.persister,
                                restarter=comps.restarter, emit=emit,
                                options=engine_options(settings, crash_at), hook=hook)
        report = await engine.preflight()
        summary = summarize(report.members, persist=comps.persister.description,
                            restart=comps.restarter.description if comps.restarter else None,
                            discovery=comps.discovery.description)
        emit(event="plan", ts=round(time.time(), 3), members=report.members, store=report.store or "absent",
             steps=summary.lines(), pins=summary.pins, pairs=summary.pairs)
        if dry_run:
            return Outcome("dry_run", None, report, summary)
        secrets_file = None
        if keep_secrets_file:
            secrets_file = str(journal_mod.secrets_path_for(journal_path))
            journal_mod.write_secrets(secrets_file, cookies[OLD], cookies[NEW])
        journal = journal_mod.Journal.create(
            journal_path, old_fingerprint=cookies[OLD].fingerprint(),
            new_fingerprint=cookies[NEW].fingerprint(), members=report.members,
            model=report.model, settings=settings, secrets_file=secrets_file)
        engine.begin(journal)
        try:
            status = await engine.drive(journal, fresh=True)
        finally:
            if journal.finished:
                journal_mod.remove_secrets(secrets_file)
        return Outcome(status, journal, report, summary)
    finally:
        if components is None:
            await comps.close()


async def resume(journal: journal_mod.Journal, cookies: Mapping[str, Cookie], *, emit: Emit,
                 rollback: bool = False, crash_at: str | None = None, hook=None,
                 components: Components | None = None) -> Outcome:
    """`--resume` (finish in the journal's direction) or `--rollback` (toward the old cookie)."""
    comps = components or build(journal.settings, cookies)
    try:
        engine = RotationEngine(comps.ops, comps.discovery, comps.persister,
                                restarter=comps.restarter, emit=emit,
                                options=engine_options(journal.settings, crash_at), hook=hook)
        try:
            if rollback:
                status = await engine.rollback(journal)
            else:
                status = await engine.drive(journal)
        finally:
            if journal.finished:
                journal_mod.remove_secrets(journal.secrets_file)
        return Outcome(status, journal)
    finally:
        if components is None:
            await comps.close()
