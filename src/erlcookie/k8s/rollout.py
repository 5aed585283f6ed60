"""Whether a workload finished rolling out, by the rules of `kubectl rollout status`.

Pure: reads a Deployment, StatefulSet or DaemonSet as the API returns it. Used by
`KubeApi.wait_rollout` (the rotation's `--restart`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RolloutState:
    done: bool
    failed: bool
    message: str


def rollout_state(obj: Mapping) -> RolloutState:
    """Whether a Deployment/StatefulSet/DaemonSet finished rolling out, by the rules of
    `kubectl rollout status`."""
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    st = obj.get("status") or {}
    name = meta.get("name")
    if (st.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return RolloutState(
            False,
            False,
            f"waiting for the {kind} controller to see generation {meta.get('generation')}",
        )
    if kind == "Deployment":
        for cond in st.get("conditions") or []:
            if (
                cond.get("type") == "Progressing"
                and cond.get("reason") == "ProgressDeadlineExceeded"
            ):
                return RolloutState(
                    False, True, f"deployment {name!r} exceeded its progress deadline"
                )
        want = spec.get("replicas", 1)
        updated = st.get("updatedReplicas") or 0
        if updated < want:
            return RolloutState(False, False, f"{updated} of {want} new replicas updated")
        if (st.get("replicas") or 0) > updated:
            return RolloutState(
                False,
                False,
                f"{(st.get('replicas') or 0) - updated} old replicas pending termination",
            )
        available = st.get("availableReplicas") or 0
        if available < updated:
            return RolloutState(
                False, False, f"{available} of {updated} updated replicas available"
            )
        return RolloutState(True, False, f"deployment {name!r} rolled out")
    if kind == "StatefulSet":
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type") == "OnDelete":
            return RolloutState(
                False, True, "updateStrategy OnDelete: pods change only when deleted"
            )
        want = spec.get("replicas", 1)
        ready = st.get("readyReplicas") or 0
        if ready < want:
            return RolloutState(False, False, f"{ready} of {want} pods ready")
        partition = (strategy.get("rollingUpdate") or {}).get("partition") or 0
        if partition:
            updated = st.get("updatedReplicas") or 0
            if updated < want - partition:
                return RolloutState(
                    False,
                    False,
                    f"{updated} of {want - partition} pods updated (partition {partition})",
                )
            return RolloutState(True, False, f"partitioned roll out complete: {updated} new pods")
        if st.get("updateRevision") != st.get("currentRevision"):
            return RolloutState(
                False,
                False,
                f"{st.get('updatedReplicas') or 0} of {want} pods at revision {st.get('updateRevision')}",
            )
        return RolloutState(True, False, f"statefulset {name!r} rolled out")
    if kind == "DaemonSet":
        if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
            return RolloutState(
                False, True, "updateStrategy OnDelete: pods change only when deleted"
            )
        want = st.get("desiredNumberScheduled") or 0
        updated = st.get("updatedNumberScheduled") or 0
        if updated < want:
            return RolloutState(False, False, f"{updated} of {want} updated pods scheduled")
        available = st.get("numberAvailable") or 0
        if available < want:
            return RolloutState(False, False, f"{available} of {want} updated pods available")
        return RolloutState(True, False, f"daemon set {name!r} rolled out")
    return RolloutState(False, True, f"cannot follow a rollout of a {kind}")
