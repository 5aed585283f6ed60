"""`k8s secret --apply`: create the cookie Secret, or leave an existing one alone.

An existing Secret is never overwritten unless asked (`replace=True`): overwriting a live
cluster's cookie splits it on the next pod restart; rotating it safely is the rotation
command's job. A replacement is a JSON patch that tests the key's value as read: writes
to anything else (labels by a controller, other keys) do not disturb it, and when the key
itself changed meanwhile the decision is taken again on fresh data.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass

from erlcookie.cookie.value import Cookie
from erlcookie.k8s.api import Conflict, KubeApi, KubeError, NotFound, SecretEdit
from erlcookie.k8s.manifests import cookie_annotations, secret_value, stamp_annotations


@dataclass
class ApplyOutcome:
    """action: "created", "unchanged" (same cookie), "kept" (different cookie or missing
    key, not replaced), "replaced"."""

    action: str
    namespace: str
    name: str
    key: str
    fingerprint: str  # of the cookie we were asked to apply
    live_fingerprint: str | None  # in the cluster after the call
    key_missing: bool = False
    conflicts: int = 0

    @property
    def matches(self) -> bool:
        return self.live_fingerprint == self.fingerprint

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "namespace": self.namespace,
            "name": self.name,
            "key": self.key,
            "fingerprint": self.fingerprint,
            "live_fingerprint": self.live_fingerprint,
            "matches": self.matches,
            "key_missing": self.key_missing,
            "conflicts": self.conflicts,
        }


def apply_secret(
    api: KubeApi,
    manifest: dict,
    cookie: Cookie,
    *,
    key: str,
    replace: bool = False,
    attempts: int = 5,
) -> ApplyOutcome:
    name = manifest["metadata"]["name"]
    fp = cookie.fingerprint()
    races = 0
    for _ in range(attempts):
        if api.get_secret(name) is None:
            try:
                created = api.create_secret(stamp_annotations(copy.deepcopy(manifest), cookie))
            except Conflict as exc:
                if exc.reason != "AlreadyExists":
                    raise
                races += 1  # created by someone else meanwhile: decide again on theirs
                continue
            return ApplyOutcome(
                "created", api.namespace, name, key, fp, _live_fp(created, key), conflicts=races
            )
        seen: dict = {}

        def decide(live: dict, seen: dict = seen) -> SecretEdit | None:
            seen["fp"] = _live_fp(live, key)
            seen["key_missing"] = secret_value(live, key).problem == "missing"
            if seen["fp"] == fp or not replace:
                return None
            if live.get("immutable"):
                raise KubeError(
                    f"Secret {name!r} is immutable: the API cannot change it in "
                    "place; delete it and apply again (pods keep their cookie until "
                    "restarted)"
                )
            return SecretEdit(
                {key: base64.b64encode(cookie.as_bytes()).decode("ascii")},
                cookie_annotations(cookie),
            )

        try:
            result, conflicts = api.edit_secret(name, decide)
        except NotFound:
            races += 1  # deleted meanwhile
            continue
        races += conflicts
        if seen["fp"] == fp:
            action = "unchanged"
        elif not replace:
            action = "kept"
        else:
            action = "replaced"
        return ApplyOutcome(
            action, api.namespace, name, key, fp, _live_fp(result, key), seen["key_missing"], races
        )
    raise KubeError(
        f"Secret {name!r} kept appearing and disappearing under us: gave up after {races} races"
    )


def _live_fp(secret: dict, key: str) -> str | None:
    value = secret_value(secret, key)
    return value.cookie.fingerprint() if value.cookie is not None else None
