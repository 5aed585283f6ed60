"""Distribution traffic after the handshake, sans-IO: 4-byte packets, ticks, control terms.

Each packet is `Len:32` + data. An empty packet is a tick (keep-alive). Since we never
negotiate the atom cache, every data packet starts with the pass-through byte 112, then a
control term, then for message-carrying operations a message term.

`DistFraming.receive_data` returns a list of `FramingEvent`: `Tick`, `DistMessage` or
`Closed`. Each packet's terms are decoded within a `terms.TermBudget`, so one packet costs
bounded time and memory whatever the peer put into it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, TypeAlias

from erlcookie.distribution import terms

__all__ = [
    "FramingEvent",
    "Tick",
    "DistMessage",
    "Closed",
    "DistFraming",
    "FramingError",
    "encode_packet",
    "encode_reg_send",
    "encode_tick",
    "MAX_PACKET",
    "TICK",
]

PASS_THROUGH = 112
TICK = b"\x00\x00\x00\x00"
MAX_PACKET = 8 * 1024 * 1024  # far above any rpc answer erlcookie asks for

# Control message operations (erl_dist_protocol.md).
LINK = 1
SEND = 2
EXIT = 3
UNLINK = 4
REG_SEND = 6
GROUP_LEADER = 7
EXIT2 = 8
SEND_TT = 12
REG_SEND_TT = 16
MONITOR_P = 19
DEMONITOR_P = 20
MONITOR_P_EXIT = 21
SEND_SENDER = 22
SEND_SENDER_TT = 23
PAYLOAD_EXIT = 24
PAYLOAD_EXIT2 = 26
ALIAS_SEND = 33

# operation -> index in the control tuple of the destination pid, for sends to a pid
_PID_SENDS = {SEND: 2, SEND_TT: 2, SEND_SENDER: 2, SEND_SENDER_TT: 2}


class FramingError(Exception):
    """The peer broke the packet layer (message says how, never quotes the data)."""


@dataclass(frozen=True)
class Tick:
    """An empty packet: the peer's keep-alive (answer it with one)."""


@dataclass(frozen=True)
class DistMessage:
    """A pass-through packet: the control tuple and, for sends, the message term."""

    control: tuple[Any, ...]
    message: Any = None
    has_message: bool = False

    @property
    def op(self) -> int:
        op: int = self.control[0]
        return op

    @property
    def to_pid(self) -> Any:
        """The destination pid of a send to a pid, else None."""
        index = _PID_SENDS.get(self.op)
        return self.control[index] if index is not None and len(self.control) > index else None


@dataclass(frozen=True)
class Closed:
    """The peer closed the connection between packets."""


FramingEvent: TypeAlias = Tick | DistMessage | Closed


def encode_tick() -> bytes:
    return TICK


def encode_packet(
    control: tuple[Any, ...], message: Any = None, *, with_message: bool = True
) -> bytes:
    body = bytes([PASS_THROUGH]) + terms.encode(control)
    if with_message:
        body += terms.encode(message)
    return struct.pack(">I", len(body)) + body


def encode_reg_send(from_pid: terms.OtpErlangPid, to_name: str, message: Any) -> bytes:
    """REG_SEND: {6, FromPid, '', ToName} then the message."""
    return encode_packet((REG_SEND, from_pid, terms.atom(""), terms.atom(to_name)), message)


class DistFraming:
    """Splits the byte stream into Tick / DistMessage / Closed events."""

    def __init__(
        self, max_packet: int = MAX_PACKET, budget: terms.TermBudget = terms.DEFAULT_BUDGET
    ) -> None:
        self._buf = bytearray()
        self._max = max_packet
        self._budget = budget
        self.closed = False

    @property
    def buffered(self) -> int:
        """Bytes held of a packet not yet complete."""
        return len(self._buf)

    def receive_data(self, data: bytes) -> list[FramingEvent]:
        if self.closed:
            return []
        if not data:
            self.closed = True
            if self._buf:
                raise FramingError(f"connection closed inside a packet ({len(self._buf)} bytes)")
            return [Closed()]
        self._buf += data
        events: list[FramingEvent] = []
        while len(self._buf) >= 4:
            (length,) = struct.unpack_from(">I", self._buf, 0)
            if length > self._max:
                raise FramingError(f"packet of {length} bytes exceeds the {self._max}-byte limit")
            if len(self._buf) < 4 + length:
                break
            body = bytes(self._buf[4 : 4 + length])
            del self._buf[: 4 + length]
            events.append(Tick() if length == 0 else self._parse(body))
        return events

    def _parse(self, body: bytes) -> DistMessage:
        if body[0] != PASS_THROUGH:
            raise FramingError(f"packet starts with {body[0]}, not the pass-through byte 112")
        try:
            found = terms.decode_all(body, 1, limit=2, budget=self._budget)
        except terms.TermError as exc:
            raise FramingError(f"bad term in packet: {exc}") from None
        control = found[0] if found else None
        if not isinstance(control, tuple) or not control or not isinstance(control[0], int):
            raise FramingError("control message is not a tuple starting with an operation number")
        if control[0] in _PID_SENDS and len(found) != 2:
            raise FramingError(f"send operation {control[0]} without a message term")
        return DistMessage(control, found[1] if len(found) == 2 else None, len(found) == 2)
