"""The ordered "what to do next" of a diagnosis.

On a cluster that already runs, the order is what keeps it in one piece: the Secret must
hold the cookie the pods run today before any pod restarts with the Secret wired in (new
pods on a new cookie cannot talk to old pods on the literal one); only after the rollout
does `erlcookie rotate` change the cookie, live, with no failed connection.
"""

from __future__ import annotations

import os
import shlex

from erlcookie.doctor.model import Diagnosis

SECRET_DIR = ".erlcookie"


def secret_file(namespace: str | None, name: str) -> str:
    """Where `doctor --fix` keeps the adopted Secret manifest, relative to the project."""
    stem = f"{namespace}.{name}" if namespace else name
    return f"{SECRET_DIR}/{stem}.secret.yaml"


def _ns_flag(namespace: str | None) -> str:
    return f"-n {shlex.quote(namespace)}" if namespace else "-n NAMESPACE"


def _shown(root: str, rel: str) -> str:
    """A path as the user would type it from where they ran doctor."""
    full = os.path.join(root, rel)
    try:
        shown = os.path.relpath(full)
    except ValueError:
        shown = full
    return shlex.quote(full if shown.startswith("../../") else shown)


def next_steps(diagnosis: Diagnosis) -> list[str]:
    state = diagnosis.state
    options = state.options
    k8s = state.k8s
    steps: list[str] = []
    root_arg = _shown(diagnosis.root, ".")
    fixable = [i for i in diagnosis.items if i.doctor_fix]
    flags = (f" --name {options.secret}" if options.secret != "erlang-cookie" else "") + (
        f" --key {options.key}" if options.key != "cookie" else ""
    )
    if fixable:
        keep = ""
        if k8s.running:
            kept = ", ".join(
                secret_file(ns, options.secret) for ns in sorted(k8s.running, key=lambda n: n or "")
            )
            keep = (
                f"; the cookie the pods run today goes into {kept}, a file git ignores "
                "(or straight into the cluster with --apply)"
            )
        nowhere = ""
        if state.status is None and (k8s.running or k8s.movable):
            nowhere = (
                " --secret-dir DIR (PATH is in no git work tree, so DIR must be "
                "outside it; or --apply)"
            )
        steps.append(
            f"apply the {len(fixable)} offline fix(es): erlcookie doctor --fix "
            f"{root_arg}{nowhere} (it shows the diff first; --dry-run only shows "
            f"it){keep}"
        )
    namespaces = set(k8s.running) | set((k8s.result.namespaces if k8s.result else {}) or {})
    for namespace in sorted(namespaces, key=lambda n: (n is None, n or "")):
        running = k8s.running.get(namespace, [])
        ns = _ns_flag(namespace)
        app = k8s.apps.get(namespace) or "app=APP"
        where = f" in namespace {namespace}" if namespace else ""
        if running:
            first = running[0]
            others = "".join(
                f"; also running: {r.fingerprint} ({', '.join(r.where)})" for r in running[1:]
            )
            source = first.where[0].rsplit(" (", 1)[-1].rstrip(")") if first.where else "."
            source = os.path.dirname(source) or source  # the folder: its ConfigMaps too
            steps.append(
                f"before any pod restarts, create Secret {options.secret}{where} holding the "
                f"cookie the pods run today ({first.fingerprint}, from {first.where[0]}): "
                f"kubectl apply -f {_shown(diagnosis.root, secret_file(namespace, options.secret))}"
                f" after doctor --fix, or now: erlcookie k8s secret {ns}{flags} --adopt-from "
                f"{_shown(diagnosis.root, source)} --apply{others}"
            )
            steps.append(
                "roll out the edited manifests (kubectl apply -f ...) and wait for "
                "it: every pod keeps the same cookie, so the cluster does not split"
            )
            steps.append(
                f"then change it to a new strong cookie on the live cluster: "
                f"erlcookie rotate {ns} -l {app} --secret {options.secret}"
                + (f" --secret-key {options.key}" if options.key != "cookie" else "")
                + " --restart"
            )
        else:
            steps.append(
                f"create Secret {options.secret}{where}: erlcookie k8s secret {ns}"
                f"{flags} --apply (a new cookie: if running pods use another one, "
                "put that one in instead with --cookie-file, and rotate later)"
            )
    by_hand = [p for p in diagnosis.problems() if not p.doctor_fix]
    for problem in by_hand:
        places = [i.finding for i in problem.items if not i.doctor_fix]
        shown = ", ".join(f"{f.path}:{f.line}" for f in places[:4])
        more = f" and {len(places) - 4} more" if len(places) > 4 else ""
        steps.append(
            f"by hand ({problem.rule.id}): {problem.rule.short.rstrip('.')}: "
            f"{shown}{more}; see its fix above"
        )
    committed = sorted(
        {
            i.finding.fingerprint
            for i in diagnosis.items
            if i.finding.fingerprint and i.finding.git == "tracked"
        }
    )
    if committed:
        steps.append(
            f"cookies committed to git stay in its history ({', '.join(committed)}): "
            "once nothing runs them, rotate them (erlcookie rotate); "
            "erlcookie scan --history lists every commit"
        )
    if diagnosis.items:
        steps.append(f"run erlcookie doctor {root_arg} again: it exits 0 when nothing is left")
    return steps
