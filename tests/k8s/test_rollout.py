"""Rollout completion by `kubectl rollout status` rules (erlcookie.k8s.rollout)."""

from __future__ import annotations

import pytest

from erlcookie.k8s.rollout import rollout_state


@pytest.mark.parametrize(
    "obj, done, failed",
    [
        (
            {
                "kind": "Deployment",
                "metadata": {"generation": 2},
                "spec": {"replicas": 2},
                "status": {"observedGeneration": 1},
            },
            False,
            False,
        ),
        (
            {
                "kind": "Deployment",
                "metadata": {"generation": 2},
                "spec": {"replicas": 2},
                "status": {
                    "observedGeneration": 2,
                    "updatedReplicas": 2,
                    "replicas": 3,
                    "availableReplicas": 2,
                },
            },
            False,
            False,
        ),
        (
            {
                "kind": "Deployment",
                "metadata": {"generation": 2},
                "spec": {"replicas": 2},
                "status": {
                    "observedGeneration": 2,
                    "updatedReplicas": 2,
                    "replicas": 2,
                    "availableReplicas": 2,
                },
            },
            True,
            False,
        ),
        (
            {
                "kind": "Deployment",
                "metadata": {"generation": 2},
                "spec": {"replicas": 2},
                "status": {
                    "observedGeneration": 2,
                    "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}],
                },
            },
            False,
            True,
        ),
        (
            {
                "kind": "StatefulSet",
                "metadata": {"generation": 1},
                "spec": {"replicas": 3},
                "status": {
                    "observedGeneration": 1,
                    "readyReplicas": 3,
                    "currentRevision": "a",
                    "updateRevision": "b",
                },
            },
            False,
            False,
        ),
        (
            {
                "kind": "StatefulSet",
                "metadata": {"generation": 1},
                "spec": {"replicas": 3},
                "status": {
                    "observedGeneration": 1,
                    "readyReplicas": 3,
                    "currentRevision": "b",
                    "updateRevision": "b",
                },
            },
            True,
            False,
        ),
        (
            {
                "kind": "StatefulSet",
                "metadata": {"generation": 1},
                "spec": {"replicas": 3, "updateStrategy": {"type": "OnDelete"}},
                "status": {"observedGeneration": 1},
            },
            False,
            True,
        ),
        (
            {
                "kind": "DaemonSet",
                "metadata": {"generation": 1},
                "spec": {},
                "status": {
                    "observedGeneration": 1,
                    "desiredNumberScheduled": 2,
                    "updatedNumberScheduled": 2,
                    "numberAvailable": 1,
                },
            },
            False,
            False,
        ),
        (
            {
                "kind": "DaemonSet",
                "metadata": {"generation": 1},
                "spec": {},
                "status": {
                    "observedGeneration": 1,
                    "desiredNumberScheduled": 2,
                    "updatedNumberScheduled": 2,
                    "numberAvailable": 2,
                },
            },
            True,
            False,
        ),
    ],
)
def test_rollout_state(obj, done, failed):
    state = rollout_state(obj)
    assert (state.done, state.failed) == (done, failed), state.message
