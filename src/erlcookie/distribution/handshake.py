"""The distribution handshake, version 6 (OTP 23+), initiator side, as a sans-IO state machine.

    hs = ClientHandshake(our_name, cookie, peer_name="app@host")
    send(hs.initiate())
    while not done:
        for event in hs.receive_data(read()):      # receive_data(b"") = end of stream
            SendData -> write it; HandshakeComplete / HandshakeFailed -> done

`receive_data` returns a list of `HandshakeEvent`: `SendData`, `StatusReceived`,
`HandshakeComplete` or `HandshakeFailed`.

We connect as a hidden node (no PUBLISHED flag) and never accept connections. The peer's
challenge ack is checked, so a server that merely echoes "ok" cannot pass for a node that
knows the cookie. Our digest is only sent after the peer has named itself as the node we
asked for, as OTP's own dist_util does. Failures carry one of the ping verdicts.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from typing import TypeAlias

from erlcookie.cookie.value import Cookie
from erlcookie.distribution.verdicts import NOT_ALLOWED, PROTOCOL_ERROR, REJECTED, Verdict

__all__ = [
    "ClientHandshake",
    "HandshakeEvent",
    "SendData",
    "StatusReceived",
    "HandshakeComplete",
    "HandshakeFailed",
    "State",
    "DEFAULT_FLAGS",
    "TLS_DETECTED",
    "gen_digest",
]

# Distribution flags (lib/kernel/include/dist.hrl).
DFLAG_PUBLISHED = 0x01
DFLAG_EXTENDED_REFERENCES = 0x04
DFLAG_DIST_MONITOR = 0x08
DFLAG_FUN_TAGS = 0x10
DFLAG_NEW_FUN_TAGS = 0x80
DFLAG_EXTENDED_PIDS_PORTS = 0x100
DFLAG_EXPORT_PTR_TAG = 0x200
DFLAG_BIT_BINARIES = 0x400
DFLAG_NEW_FLOATS = 0x800
DFLAG_DIST_HDR_ATOM_CACHE = 0x2000
DFLAG_SMALL_ATOM_TAGS = 0x4000
DFLAG_UTF8_ATOMS = 0x10000
DFLAG_MAP_TAG = 0x20000
DFLAG_BIG_CREATION = 0x40000
DFLAG_SEND_SENDER = 0x80000
DFLAG_FRAGMENTS = 0x800000
DFLAG_HANDSHAKE_23 = 0x1000000
DFLAG_UNLINK_ID = 0x2000000
DFLAG_MANDATORY_25_DIGEST = 0x4000000
DFLAG_SPAWN = 1 << 32
DFLAG_NAME_ME = 1 << 33
DFLAG_V4_NC = 1 << 34
DFLAG_ALIAS = 1 << 35

# What OTP's own C library (ei) sends, 0x407074F9C: every flag OTP 25..29 make mandatory,
# the OTP 25 digest bit, and no PUBLISHED bit (a hidden node) and no atom cache.
DEFAULT_FLAGS = (
    DFLAG_EXTENDED_REFERENCES
    | DFLAG_DIST_MONITOR
    | DFLAG_FUN_TAGS
    | DFLAG_NEW_FUN_TAGS
    | DFLAG_EXTENDED_PIDS_PORTS
    | DFLAG_EXPORT_PTR_TAG
    | DFLAG_BIT_BINARIES
    | DFLAG_NEW_FLOATS
    | DFLAG_SMALL_ATOM_TAGS
    | DFLAG_UTF8_ATOMS
    | DFLAG_MAP_TAG
    | DFLAG_BIG_CREATION
    | DFLAG_HANDSHAKE_23
    | DFLAG_UNLINK_ID
    | DFLAG_MANDATORY_25_DIGEST
    | DFLAG_V4_NC
)
assert DEFAULT_FLAGS == 0x407074F9C

MAX_HANDSHAKE_MESSAGE = 4096  # the largest real one is 'N' with a 255-byte name

TLS_DETECTED = (
    "the peer answered with TLS: it runs TLS distribution (-proto_dist inet_tls); "
    "give --tls-cert/--tls-key/--tls-ca"
)


def gen_digest(challenge: int, cookie: Cookie) -> bytes:
    """MD5(cookie ++ decimal text of the unsigned 32-bit challenge), as OTP's dist_util."""
    return hashlib.md5(cookie.as_bytes() + str(challenge & 0xFFFFFFFF).encode("ascii")).digest()


def random_creation() -> int:
    """A 32-bit creation; OTP reserves 0..3 for old small creations."""
    return 4 + int.from_bytes(os.urandom(8), "big") % (0xFFFFFFFF - 4)


class State(enum.Enum):
    START = "start"
    RECV_STATUS = "recv_status"
    RECV_CHALLENGE = "recv_challenge"
    RECV_ACK = "recv_ack"
    CONNECTED = "connected"
    FAILED = "failed"


# What a driver waits for in each state (for timeout messages).
WAITING_FOR = {
    State.RECV_STATUS: "waiting for the node's answer to our name",
    State.RECV_CHALLENGE: "waiting for the node's challenge",
    State.RECV_ACK: "waiting for the node's challenge ack",
}


@dataclass(frozen=True)
class SendData:
    """Bytes the driver must write to the peer."""

    data: bytes


@dataclass(frozen=True)
class StatusReceived:
    """The peer's status answer to our name ('ok', 'not_allowed', ...)."""

    status: str


@dataclass(frozen=True)
class HandshakeComplete:
    """Both digests checked: the connection is authenticated."""

    peer_name: str
    peer_flags: int
    peer_creation: int
    trailing: bytes = b""  # bytes that arrived after the ack: the first distribution packets


@dataclass(frozen=True)
class HandshakeFailed:
    """The handshake ended without a connection; `verdict` says how."""

    verdict: Verdict
    detail: str


HandshakeEvent: TypeAlias = SendData | StatusReceived | HandshakeComplete | HandshakeFailed


def _looks_like_tls(buf: bytes | bytearray) -> bool:
    # A TLS record: content type 20..23 (alert 21, handshake 22), then version 3.x.
    return len(buf) >= 2 and buf[0] in (21, 22) and buf[1] == 3


class ClientHandshake:
    """One initiator handshake. Not reusable; `state` tells where it is."""

    __slots__ = (
        "_cookie",
        "our_name",
        "peer_name",
        "flags",
        "creation",
        "_challenge",
        "_length_bytes",
        "_buf",
        "state",
        "peer_flags",
        "peer_creation",
        "peer_challenge",
        "peer_actual_name",
    )

    def __init__(
        self,
        our_name: str,
        cookie: Cookie,
        *,
        peer_name: str | None = None,
        flags: int = DEFAULT_FLAGS,
        creation: int | None = None,
        challenge: int | None = None,
        length_bytes: int = 2,
    ) -> None:
        if length_bytes not in (2, 4):
            raise ValueError("length prefix is 2 bytes (TCP) or 4 bytes (TLS distribution)")
        if flags & DFLAG_PUBLISHED:
            raise ValueError("erlcookie connects as a hidden node; PUBLISHED must stay unset")
        self._cookie = cookie
        self.our_name = our_name
        self.peer_name = peer_name
        self.flags = flags
        self.creation = random_creation() if creation is None else creation
        self._challenge = int.from_bytes(os.urandom(4), "big") if challenge is None else challenge
        self._length_bytes = length_bytes
        self._buf = bytearray()
        self.state = State.START
        self.peer_flags: int | None = None
        self.peer_creation: int | None = None
        self.peer_challenge: int | None = None
        self.peer_actual_name: str | None = None

    def __repr__(self) -> str:
        return f"<ClientHandshake {self.our_name} -> {self.peer_name} {self.state.value}>"

    # -- framing of handshake messages -----------------------------------------------------
    def _frame(self, body: bytes) -> bytes:
        fmt = ">H" if self._length_bytes == 2 else ">I"
        return struct.pack(fmt, len(body)) + body

    def _next_message(self) -> bytes | HandshakeFailed | None:
        n = self._length_bytes
        if len(self._buf) < n:
            return None
        if self.state is State.RECV_STATUS and _looks_like_tls(self._buf):
            return HandshakeFailed(PROTOCOL_ERROR, TLS_DETECTED)
        length = int.from_bytes(self._buf[:n], "big")
        if length == 0:
            return HandshakeFailed(PROTOCOL_ERROR, "empty handshake message")
        if length > MAX_HANDSHAKE_MESSAGE:
            return HandshakeFailed(
                PROTOCOL_ERROR, f"handshake message length {length} is beyond any real one"
            )
        if len(self._buf) < n + length:
            return None
        msg = bytes(self._buf[n : n + length])
        del self._buf[: n + length]
        return msg

    # -- public API ----------------------------------------------------------------------
    def initiate(self) -> bytes:
        """The 'N' message: flags, creation and our name."""
        if self.state is not State.START:
            raise RuntimeError("initiate() is called once, first")
        name = self.our_name.encode("utf-8")
        self.state = State.RECV_STATUS
        return self._frame(b"N" + struct.pack(">QIH", self.flags, self.creation, len(name)) + name)

    def receive_data(self, data: bytes) -> list[HandshakeEvent]:
        """Feed bytes from the peer (b"" for end-of-stream); returns the resulting events."""
        if self.state in (State.CONNECTED, State.FAILED):
            return []
        if self.state is State.START:
            raise RuntimeError("call initiate() before receive_data()")
        if not data:
            return [self._fail(*self._eof_verdict())]
        self._buf += data
        events: list[HandshakeEvent] = []
        while self.state not in (State.CONNECTED, State.FAILED):
            msg = self._next_message()
            if msg is None:
                break
            if isinstance(msg, HandshakeFailed):
                events.append(self._fail(msg.verdict, msg.detail))
                break
            events.extend(self._handle(msg))
        return events

    # -- internals -------------------------------------------------------------------------
    def _fail(self, verdict: Verdict, detail: str) -> HandshakeFailed:
        self.state = State.FAILED
        self._buf.clear()
        return HandshakeFailed(verdict, detail)

    def _eof_verdict(self) -> tuple[Verdict, str]:
        if self.state is State.RECV_STATUS:
            if self._buf:
                return PROTOCOL_ERROR, "the peer closed the connection in the middle of a message"
            return NOT_ALLOWED, (
                "the peer closed the connection before answering our name "
                "(it refused our name, flags or address)"
            )
        if self.state is State.RECV_CHALLENGE:
            return PROTOCOL_ERROR, "the peer closed the connection before sending its challenge"
        # RECV_ACK: a node that got a wrong digest logs "Invalid challenge reply" and closes.
        return REJECTED, "the node closed the connection after our challenge reply: wrong cookie"

    def _handle(self, msg: bytes) -> list[HandshakeEvent]:
        if self.state is State.RECV_STATUS:
            return self._on_status(msg)
        if self.state is State.RECV_CHALLENGE:
            return self._on_challenge(msg)
        return self._on_ack(msg)

    def _on_status(self, msg: bytes) -> list[HandshakeEvent]:
        if msg[:1] != b"s":
            return [self._fail(PROTOCOL_ERROR, f"expected a status message 's', got tag {msg[0]}")]
        try:
            status = msg[1:].decode("ascii")
        except UnicodeDecodeError:
            return [self._fail(PROTOCOL_ERROR, "status message is not ASCII")]
        event = StatusReceived(status)
        if status in ("ok", "ok_simultaneous"):
            self.state = State.RECV_CHALLENGE
            return [event]
        if status == "not_allowed":
            return [
                event,
                self._fail(NOT_ALLOWED, "the node refused our name or flags (not_allowed)"),
            ]
        if status == "nok":
            return [
                event,
                self._fail(
                    NOT_ALLOWED,
                    "the node is connecting to a node of our name at the same moment (nok)",
                ),
            ]
        if status == "alive":
            # We hold no earlier connection under this fresh name: tell it so and stop.
            return [
                event,
                SendData(self._frame(b"sfalse")),
                self._fail(
                    NOT_ALLOWED,
                    "the node already has a connection from a node with our name (alive)",
                ),
            ]
        if status.startswith("named:"):
            return [
                event,
                self._fail(PROTOCOL_ERROR, "the node assigned us a name, which we never asked for"),
            ]
        return [event, self._fail(PROTOCOL_ERROR, f"unknown handshake status {status[:40]!r}")]

    def _on_challenge(self, msg: bytes) -> list[HandshakeEvent]:
        if msg[:1] == b"n":
            return [
                self._fail(
                    PROTOCOL_ERROR, "the node speaks handshake version 5 only (OTP 22 or older)"
                )
            ]
        if msg[:1] != b"N" or len(msg) < 19:
            return [self._fail(PROTOCOL_ERROR, "expected a challenge message 'N'")]
        flags, challenge, creation, nlen = struct.unpack_from(">QIIH", msg, 1)
        if len(msg) < 19 + nlen:
            return [self._fail(PROTOCOL_ERROR, "challenge message is shorter than its name length")]
        try:
            name = msg[19 : 19 + nlen].decode("utf-8")
        except UnicodeDecodeError:
            return [self._fail(PROTOCOL_ERROR, "the node's name is not UTF-8")]
        self.peer_actual_name = name
        if self.peer_name is not None and name != self.peer_name:
            # As OTP: never send our digest to a node that is not the one we asked for.
            return [
                self._fail(
                    PROTOCOL_ERROR,
                    f"the node at this address is {name[:255]!r}, not {self.peer_name!r}",
                )
            ]
        self.peer_flags, self.peer_challenge, self.peer_creation = flags, challenge, creation
        reply = b"r" + struct.pack(">I", self._challenge) + gen_digest(challenge, self._cookie)
        self.state = State.RECV_ACK
        return [SendData(self._frame(reply))]

    def _on_ack(self, msg: bytes) -> list[HandshakeEvent]:
        if msg[:1] != b"a" or len(msg) != 17:
            return [
                self._fail(PROTOCOL_ERROR, "expected a challenge ack 'a' with a 16-byte digest")
            ]
        if not hmac.compare_digest(msg[1:], gen_digest(self._challenge, self._cookie)):
            return [
                self._fail(
                    PROTOCOL_ERROR,
                    "the node's challenge ack is wrong: it does not hold "
                    "our cookie, yet claimed to accept it (impostor?)",
                )
            ]
        self.state = State.CONNECTED
        trailing = bytes(self._buf)
        self._buf.clear()
        return [
            HandshakeComplete(
                self.peer_actual_name or "", self.peer_flags or 0, self.peer_creation or 0, trailing
            )
        ]
