"""EPMD client codec, sans-IO: request bytes out, reply bytes in, results or errors out.

Requests carry a 2-byte length prefix; replies do not, and EPMD closes the connection after
each reply, so a parser learns that a reply is complete either from its own layout
(PORT_PLEASE2) or from end-of-stream (NAMES). Feed bytes with `receive_data(data)`, and
`receive_data(b"")` for end-of-stream, then read `result` (or catch `EpmdProtocolError`).
Each parser ends with one event: `PortPlease2Event` (`NodePort` or `NotRegistered`) or a
`NamesReply`; `EpmdEvent` is their union.
Every parser caps what it keeps, so a lying or endless EPMD costs bounded memory.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = [
    "EPMD_PORT",
    "EpmdEvent",
    "PortPlease2Event",
    "NodePort",
    "NotRegistered",
    "NamesReply",
    "PortPlease2Parser",
    "NamesParser",
    "EpmdProtocolError",
    "encode_names_req",
    "encode_port_please2_req",
]

EPMD_PORT = 4369  # where EPMD listens unless ERL_EPMD_PORT says otherwise

NAMES_REQ = 110
PORT_PLEASE2_REQ = 122
PORT2_RESP = 119

NODE_TYPE_NORMAL = 77
NODE_TYPE_HIDDEN = 72

MAX_NAMES_REPLY = 1024 * 1024  # about 25,000 registered nodes; EPMD allows far fewer
_NAME_LINE = re.compile(rb"^name (.+) at port (\d{1,5})$")


class EpmdProtocolError(Exception):
    """EPMD sent something that is not a valid reply (message says what, never secrets)."""


def _request(body: bytes) -> bytes:
    return struct.pack(">H", len(body)) + body


def encode_names_req() -> bytes:
    return _request(bytes([NAMES_REQ]))


def encode_port_please2_req(alive: str) -> bytes:
    name = alive.encode("utf-8")
    if not name or len(name) > 255:
        raise ValueError("a node's alive name is 1 to 255 bytes")
    return _request(bytes([PORT_PLEASE2_REQ]) + name)


@dataclass(frozen=True)
class NodePort:
    """PORT_PLEASE2's answer for a registered node."""

    name: str
    port: int
    node_type: int
    protocol: int
    high_version: int
    low_version: int
    extra: bytes = b""

    @property
    def hidden(self) -> bool:
        return self.node_type == NODE_TYPE_HIDDEN

    def speaks_version_6(self) -> bool:
        return self.low_version <= 6 <= self.high_version


@dataclass(frozen=True)
class NotRegistered:
    """PORT_PLEASE2 answered with a non-zero result: no node of that name on this host."""

    result: int


PortPlease2Event: TypeAlias = NodePort | NotRegistered


class PortPlease2Parser:
    """Parses one PORT2_RESP. `result` is a NodePort, a NotRegistered, or None (need more)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.result: PortPlease2Event | None = None

    def receive_data(self, data: bytes) -> PortPlease2Event | None:
        if self.result is not None:
            return self.result  # EPMD closes after replying; anything more is ignored
        if not data:
            raise EpmdProtocolError(
                f"EPMD closed the connection after {len(self._buf)} bytes of a port reply"
            )
        self._buf += data
        return self._try_parse()

    def _try_parse(self) -> PortPlease2Event | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        if buf[0] != PORT2_RESP:
            raise EpmdProtocolError(f"EPMD answered with message type {buf[0]}, not {PORT2_RESP}")
        if buf[1] != 0:
            self.result = NotRegistered(buf[1])
            return self.result
        # Port:16 NodeType:8 Proto:8 High:16 Low:16 NLen:16 Name ELen:16 Extra
        if len(buf) < 12:
            return None
        port, node_type, proto, high, low, nlen = struct.unpack_from(">HBBHHH", buf, 2)
        if len(buf) < 12 + nlen + 2:
            return None
        name = bytes(buf[12 : 12 + nlen])
        (elen,) = struct.unpack_from(">H", buf, 12 + nlen)
        end = 14 + nlen + elen
        if len(buf) < end:
            return None
        if port == 0:
            raise EpmdProtocolError("EPMD gave port 0 for the node")
        if low > high:
            raise EpmdProtocolError(f"EPMD gave a version range {low}..{high} that is empty")
        try:
            text = name.decode("utf-8")
        except UnicodeDecodeError:
            raise EpmdProtocolError("EPMD gave a node name that is not UTF-8") from None
        self.result = NodePort(text, port, node_type, proto, high, low, bytes(buf[14 + nlen : end]))
        return self.result


@dataclass(frozen=True)
class NamesReply:
    """NAMES' answer: EPMD's own port and the registered (name, port) pairs."""

    epmd_port: int
    nodes: list[tuple[str, int]] = field(default_factory=list)


EpmdEvent: TypeAlias = NodePort | NotRegistered | NamesReply


class NamesParser:
    """Parses a NAMES reply: `EPMDPort:32` then `name N at port P` lines until close."""

    def __init__(self, max_bytes: int = MAX_NAMES_REPLY) -> None:
        self._buf = bytearray()
        self._max = max_bytes
        self.result: NamesReply | None = None

    def receive_data(self, data: bytes) -> NamesReply | None:
        if self.result is not None:
            return self.result
        if data:
            if len(self._buf) + len(data) > self._max:
                raise EpmdProtocolError(f"EPMD names reply is larger than {self._max} bytes")
            self._buf += data
            return None
        # end of stream: the reply is complete
        if len(self._buf) < 4:
            raise EpmdProtocolError(f"EPMD closed after {len(self._buf)} bytes of a names reply")
        (port,) = struct.unpack_from(">I", self._buf, 0)
        nodes: list[tuple[str, int]] = []
        for line in bytes(self._buf[4:]).split(b"\n"):
            if not line:
                continue
            match = _NAME_LINE.match(line)
            if not match:
                raise EpmdProtocolError(
                    "EPMD names reply has a line that is not 'name N at port P'"
                )
            try:
                name = match.group(1).decode("utf-8")
            except UnicodeDecodeError:
                raise EpmdProtocolError("EPMD names reply has a name that is not UTF-8") from None
            node_port = int(match.group(2))
            if not 0 < node_port < 65536:
                raise EpmdProtocolError(f"EPMD names reply has port {node_port}, out of range")
            nodes.append((name, node_port))
        self.result = NamesReply(port, nodes)
        return self.result
