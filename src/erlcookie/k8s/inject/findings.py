"""What `k8s inject` changed or saw, as findings of the shared layer (`erlcookie.findings`):
each edit it would make is a problem of the manifests (`k8s inject --check --format`,
`doctor`), each cookie it could not move a problem it leaves to a human."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from erlcookie.cookie.value import Cookie
from erlcookie.findings import rules
from erlcookie.findings.model import CookieInfo, Finding
from erlcookie.k8s.inject.model import InjectResult

__all__ = ["inject_findings", "locate"]


def locate(doc, workload: str | None, container: str | None, var: str | None) -> int:
    """1-based file line of an env entry, else of the container, else of the workload."""
    from erlcookie.k8s.workloads import iter_workloads, object_ref, pod_spec

    def line(node: Any, default: int) -> int:
        lc = getattr(node, "lc", None)  # a node an edit created has no position
        at = getattr(lc, "line", None)
        return doc.body_line + at + 1 if isinstance(at, int) else default

    best = doc.body_line + 1
    for obj in iter_workloads(doc.data):
        if workload is not None and object_ref(obj) != workload:
            continue
        best = line(obj, best)
        spec = pod_spec(obj) or {}
        for key in ("containers", "initContainers"):
            for c in spec.get(key) or []:
                if not isinstance(c, Mapping) or c.get("name") != container:
                    continue
                best = line(c, best)
                for entry in c.get("env") or []:
                    if isinstance(entry, Mapping) and entry.get("name") == var:
                        return line(entry, best)
                return best
        return best
    return best


def _info(cookie: Cookie | None) -> CookieInfo | None:
    return CookieInfo.of(cookie.reveal(), source=cookie.source) if cookie is not None else None


def inject_findings(
    result: InjectResult, told_elsewhere: Iterable[tuple[str, str, str | None, str | None]] = ()
) -> list[Finding]:
    """One finding per edit (fixable: inject makes it) and per problem inject reports
    (a cookie in clear it cannot move, a warning). `told_elsewhere`: (path, workload,
    container, variable) of added variables another finding already covers (envFrom)."""
    skip = set(told_elsewhere)
    envs = result.options.envs if result.options else ()
    by_fp: dict[str, Cookie] = {}
    for f in result.files:
        for cookie in f.secrets:
            by_fp.setdefault(cookie.fingerprint(), cookie)
    found: list[Finding] = []
    for f in result.files:
        for change in f.changes:
            doc = f.docs[change.document - 1]
            var = next((v for v in envs if re.search(rf"\b{re.escape(v)}\b", change.detail)), None)
            if (
                change.action == "add-env"
                and (f.path, change.workload, change.container, var) in skip
            ):
                continue
            where = change.workload + (f" container {change.container}" if change.container else "")
            cookie = by_fp.get(change.fingerprint) if change.fingerprint else None
            if change.action == "replace-env" and change.detail.startswith("replaced a literal"):
                rule = rules.K8S_ENV_LITERAL_COOKIE
                detail = f"{where}: {var or 'the cookie variable'} is a literal cookie"
            elif change.action == "replace-env" and "configMapKeyRef" in change.detail:
                rule = rules.K8S_CONFIGMAP_REF_COOKIE
                detail = f"{where}: {change.detail.split(' with ')[0].replace('replaced ', '')}"
            else:
                rule = rules.K8S_NOT_WIRED
                detail = f"{where}: not wired; inject's edit: {change.detail}"
            found.append(
                Finding(
                    rule,
                    f.path,
                    locate(doc, change.workload, change.container, var),
                    1,
                    detail=detail,
                    key=var,
                    fixable=True,
                    cookie=_info(cookie),
                    secret=cookie,
                )
            )
    for f in result.files:
        for x in f.findings:  # already findings of the shared layer (inject.model.finding)
            if x.code in ("configmap-cookie", "skipped"):
                continue  # the ConfigMap holding it is scan's finding; a skip is a note
            cookie = by_fp.get(x.fingerprint) if x.fingerprint else None
            where = " ".join(
                p for p in (x.workload, x.container and f"container {x.container}") if p
            )
            found.append(
                replace(
                    x,
                    detail=f"{where}: {x.message}",
                    cookie=_info(cookie) if cookie is not None else x.cookie,
                    secret=cookie,
                    workload=None,
                    document=None,
                    container=None,
                    code=None,
                )
            )
    return found
