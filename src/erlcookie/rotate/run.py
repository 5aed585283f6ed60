"""Putting a rotation together from its settings: discovery, ops, persister, restarter, journal.

The CLI turns options into a `RotateSettings` (no secrets) and hands it here with the two
cookies; the journal keeps the settings, so `--resume` and `--rollback` rebuild exactly the
same pieces without the original command line. The CLI only parses and renders the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.errors import ErlcookieError, OperationalError, UsageError
from erlcookie.rotate import journal as journal_mod
from erlcookie.rotate.engine import EngineOptions, PreflightReport, RotationEngine
from erlcookie.rotate.interfaces import Discovery, NodeOps, Persister, Restarter
from erlcookie.rotate.plan import NEW, OLD, PlanSummary, summarize
from erlcookie.rotate.settings import CommandStore, FileStore, RotateSettings, SecretStore

Emit = Callable[..., None]


@dataclass
class Components:
    """The rotation's pieces, each behind its interface (`erlcookie.rotate.interfaces`)."""

    ops: NodeOps
    discovery: Discovery | None
    persister: Persister | None
    restarter: Restarter | None = None
    closers: list = field(default_factory=list)

    async def close(self) -> None:
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):
                result = closer()
                if asyncio.iscoroutine(result):
                    await result


def _kube_api(settings: RotateSettings, namespace: str | None, cache: dict):
    if namespace not in cache:
        from erlcookie.k8s.api import KubeApi

        kube = settings.kube
        cache[namespace] = KubeApi.connect(
            kubeconfig=kube.kubeconfig,
            context=kube.context,
            namespace=namespace,
            in_cluster=kube.in_cluster,
            timeout=kube.request_timeout,
        )
    return cache[namespace]


def old_cookie_from_secret(settings: RotateSettings) -> Cookie:
    """The old cookie, read from the Secret being rotated (when no other source is given)."""
    import base64
    import binascii

    store = settings.persist
    if not isinstance(store, SecretStore):
        raise UsageError("the old cookie can be read from the store only with --secret")
    api = _kube_api(settings, store.namespace, {})
    try:
        secret = api.get_secret(store.name)
    finally:
        api.close()
    if secret is None:
        raise UsageError(f"Secret {store.name} does not exist in namespace {api.namespace}")
    data = (secret.get("data") or {}).get(store.key)
    if not data:
        raise UsageError(
            f"Secret {store.name} has no key {store.key!r}; "
            "give --secret-key or the old cookie (--cookie-file)"
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise OperationalError(f"Secret {store.name} key {store.key!r} is not base64") from None
    text = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
    return Cookie(text, source=f"Secret {api.namespace}/{store.name}")


def build(settings: RotateSettings, cookies: Mapping[str, Cookie]) -> Components:
    """The pieces a rotation needs, from its settings."""
    from erlcookie.rotate import discovery as disc
    from erlcookie.rotate import persist
    from erlcookie.rotate.ops_distribution import Dial, Dialer, DistOps

    dial = settings.dial
    fixed = {node: Dial(d.host, dial.epmd_port, d.dist_port) for node, d in dial.nodes.items()}
    dialer = Dialer(epmd_port=dial.epmd_port, default_host=dial.host, fixed=fixed)
    tls = None
    if dial.tls is not None:
        from dataclasses import asdict

        from erlcookie.distribution.tls import TlsOptions

        tls = TlsOptions(**asdict(dial.tls))
    ops = DistOps(cookies, dialer, timeout=dial.timeout, tls=tls)
    comps = Components(ops, None, None)
    comps.closers.append(ops.close)
    apis: dict = {}

    found = settings.discovery
    sources = []
    if found.nodes:
        sources.append(disc.StaticDiscovery(list(found.nodes)))
    if found.epmd_hosts:
        sources.append(disc.EpmdDiscovery(list(found.epmd_hosts), dialer, match=found.epmd_match))
    kube_disc = None
    kube = found.kubernetes
    if kube is not None:
        api = _kube_api(settings, kube.namespace, apis)
        forwards = None
        if kube.port_forward:
            forwards = disc.PortForwards(
                api.namespace, context=settings.kube.context, kubeconfig=settings.kube.kubeconfig
            )
            comps.closers.append(forwards.close)
        kube_disc = disc.KubeDiscovery(
            api,
            kube.selector,
            dialer,
            env_names=list(kube.env),
            template=kube.template,
            container=kube.container,
            port_forward=forwards,
            dial_by_name=kube.dial_by_name,
            epmd_port=dial.epmd_port,
        )
        sources.append(kube_disc)
    if not sources:
        raise UsageError(
            "no nodes to rotate: give --nodes, --epmd-host, or -l SELECTOR (Kubernetes)"
        )
    comps.discovery = sources[0] if len(sources) == 1 else disc.MultiDiscovery(sources)

    store = settings.persist
    if isinstance(store, SecretStore):
        api = _kube_api(settings, store.namespace, apis)
        comps.persister = persist.SecretPersister(
            api, store.name, cookies, key=store.key, previous_key=store.previous_key
        )
    elif isinstance(store, FileStore):
        comps.persister = persist.FilePersister(store.path, cookies, owner=store.owner)
    elif isinstance(store, CommandStore):
        comps.persister = persist.CommandPersister(store.command, cookies)
    else:
        comps.persister = persist.NoPersister()

    restart = settings.restart
    if restart.enabled:
        if kube_disc is None:
            raise UsageError("--restart needs Kubernetes discovery (-l SELECTOR)")
        comps.restarter = disc.KubeRestarter(
            kube_disc.api, kube_disc, targets=list(restart.targets), timeout=restart.timeout
        )
    for api in apis.values():
        comps.closers.append(api.close)
    return comps


def engine_options(settings: RotateSettings, crash_at: str | None) -> EngineOptions:
    return EngineOptions(
        concurrency=settings.concurrency,
        converge_timeout=settings.converge_timeout,
        converge_interval=settings.converge_interval,
        converge_settle=settings.converge_settle,
        crash_at=crash_at,
    )


@dataclass
class Outcome:
    status: str  # done, rolled_back, dry_run
    journal: journal_mod.Journal | None
    report: PreflightReport | None = None
    summary: PlanSummary | None = None


async def start(
    settings: RotateSettings | Mapping[str, Any],
    cookies: Mapping[str, Cookie],
    journal_path: Path,
    *,
    emit: Emit,
    dry_run: bool = False,
    keep_secrets_file: bool = True,
    crash_at: str | None = None,
    hook=None,
    components: Components | None = None,
) -> Outcome:
    """A new rotation: preflight, then (unless dry_run) journal, secrets file, phases.
    `settings` may also be given in the journal's form (a plain mapping)."""
    settings = RotateSettings.of(settings)
    comps = components or build(settings, cookies)
    try:
        engine = RotationEngine(
            comps.ops,
            comps.discovery,
            comps.persister,
            restarter=comps.restarter,
            emit=emit,
            options=engine_options(settings, crash_at),
            hook=hook,
        )
        report = await engine.preflight()
        summary = summarize(
            report.members,
            persist=comps.persister.description,
            restart=comps.restarter.description if comps.restarter else None,
            discovery=comps.discovery.description,
        )
        emit(
            event="plan",
            ts=round(time.time(), 3),
            members=report.members,
            store=report.store or "absent",
            steps=summary.lines(),
            pins=summary.pins,
            pairs=summary.pairs,
        )
        if dry_run:
            return Outcome("dry_run", None, report, summary)
        secrets_file = None
        if keep_secrets_file:
            secrets_file = str(journal_mod.secrets_path_for(journal_path))
            try:
                journal_mod.write_secrets(secrets_file, cookies[OLD], cookies[NEW])
            except (OSError, ErlcookieError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else str(exc)
                raise OperationalError(
                    f"cannot write the secrets file {secrets_file}: {reason}; nothing was changed"
                ) from None
        journal = journal_mod.Journal.create(
            journal_path,
            old_fingerprint=cookies[OLD].fingerprint(),
            new_fingerprint=cookies[NEW].fingerprint(),
            members=report.members,
            model=report.model,
            settings=settings,
            secrets_file=secrets_file,
        )
        try:
            engine.begin(journal)
        except BaseException:
            journal_mod.remove_secrets(secrets_file)  # nothing changed: no journal to resume
            raise
        try:
            status = await engine.drive(journal, fresh=True)
        finally:
            if journal.finished:
                journal_mod.remove_secrets(secrets_file)
        return Outcome(status, journal, report, summary)
    finally:
        if components is None:
            await comps.close()


async def resume(
    journal: journal_mod.Journal,
    cookies: Mapping[str, Cookie],
    *,
    emit: Emit,
    rollback: bool = False,
    crash_at: str | None = None,
    hook=None,
    components: Components | None = None,
) -> Outcome:
    """`--resume` (finish in the journal's direction) or `--rollback` (toward the old cookie)."""
    settings = journal.settings
    comps = components or build(settings, cookies)
    try:
        engine = RotationEngine(
            comps.ops,
            comps.discovery,
            comps.persister,
            restarter=comps.restarter,
            emit=emit,
            options=engine_options(settings, crash_at),
            hook=hook,
        )
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
