"""Loading recorded exchanges (tests/distribution/fixtures/*.json, made by fixtures/record.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from erlcookie.cookie.value import Cookie
from erlcookie.distribution import handshake as hs

FIXTURES = Path(__file__).parent / "fixtures"
KINDS = ("otp25", "otp27")


@dataclass
class Recording:
    data: dict

    @property
    def chunks(self) -> list[tuple[str, bytes]]:
        return [(e["dir"], bytes.fromhex(e["hex"])) for e in self.data["exchange"]]

    def incoming(self) -> list[bytes]:
        return [b for d, b in self.chunks if d == "in"]

    def outgoing(self) -> list[bytes]:
        return [b for d, b in self.chunks if d == "out"]

    def machine(self, **overrides) -> hs.ClientHandshake:
        d = self.data
        options = dict(
            peer_name=d["peer_name"],
            flags=d["flags"],
            creation=d["creation"],
            challenge=d["challenge"],
            length_bytes=d.get("length_bytes", 2),
        )
        options.update(overrides)
        return hs.ClientHandshake(d["our_name"], Cookie(d["replay_secret"]), **options)


def load(kind: str, label: str) -> Recording:
    return Recording(json.loads((FIXTURES / f"{kind}-{label}.json").read_text()))
