"""Thin helpers over erlang-py (module `erlang`) for the external term format.

erlang-py does the encoding and decoding. What it lacks for bytes from the network, this
module adds: `term_extent` walks one encoded term without building it, to split a packet
into its control and message terms and to refuse, before erlang-py sees them, the shapes
that would cost unbounded time or memory (deep nesting, huge bignums, zlib bombs, counts
larger than the bytes that could hold them).

Every decode is held to a budget (`TermBudget`): a number of terms (elements) and of
bytes, where a compressed term's *declared* size counts before anything is inflated. A
peer that completed the handshake can still send a 16 KiB zlib bomb that would inflate to
a list of 16 million elements and cost gigabytes and minutes to build; the budget refuses
it after a bounded walk, before erlang-py builds a single object.

Cookies may travel inside terms we send (`erlang:set_cookie(Node, Cookie)`): pass the
`Cookie` object itself and it becomes an atom only in the encoded bytes; `redact` and
`safe_repr` keep its text out of anything shown to people.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import erlang
from erlang import OtpErlangAtom, OtpErlangBinary, OtpErlangList, OtpErlangPid, OtpErlangReference

from erlcookie.cookie.value import Cookie

__all__ = [
    "TermBudget",
    "TermError",
    "DEFAULT_BUDGET",
    "atom",
    "binary",
    "pid",
    "reference",
    "encode",
    "decode",
    "decode_all",
    "term_extent",
    "secrets_in",
    "redact",
    "format_term",
    "safe_repr",
    "atom_text",
    "text",
    "to_python",
    "OtpErlangAtom",
    "OtpErlangBinary",
    "OtpErlangList",
    "OtpErlangPid",
    "OtpErlangReference",
    "MAX_ELEMENTS",
    "MAX_DECOMPRESSED",
    "MAX_DEPTH",
    "MAX_BIG_BYTES",
]

VERSION = 131
MAX_DEPTH = 200  # erlang-py recurses about two frames per level
MAX_BIG_BYTES = 4096  # bignums of up to 32768 bits; erlang-py's loop is quadratic
MAX_DECOMPRESSED = 1024 * 1024  # a compressed term's declared size; rpc answers are never
# compressed by OTP unless asked, so this is plenty
MAX_ELEMENTS = 65536  # terms in one decoded term (nodes() of a huge cluster fits)

REDACTED = "<redacted>"


class TermError(ValueError):
    """Bytes that are not one acceptable term (the message never quotes the bytes)."""


@dataclass(frozen=True)
class TermBudget:
    """What one decode may cost: terms built (`max_elements`) and bytes inflated.

    erlang-py spends microseconds and some hundred bytes per element it builds, so the
    element count bounds both time and memory; `max_inflated` bounds a compressed term's
    declared size, checked before inflating.
    """

    max_elements: int = MAX_ELEMENTS
    max_inflated: int = MAX_DECOMPRESSED
    max_depth: int = MAX_DEPTH


DEFAULT_BUDGET = TermBudget()


# -- building terms ----------------------------------------------------------------------
def atom(name: str) -> OtpErlangAtom:
    return OtpErlangAtom(name)


def binary(data: bytes) -> OtpErlangBinary:
    return OtpErlangBinary(bytes(data))


def pid(node: str, ident: int, serial: int, creation: int) -> OtpErlangPid:
    """A NEW_PID_EXT pid of node `node`."""
    return OtpErlangPid(
        atom(node), struct.pack(">I", ident), struct.pack(">I", serial), struct.pack(">I", creation)
    )


def reference(node: str, words: Iterable[int], creation: int) -> OtpErlangReference:
    return OtpErlangReference(
        atom(node), b"".join(struct.pack(">I", w) for w in words), struct.pack(">I", creation)
    )


def _prepare(term: Any) -> Any:
    """Turn Cookie objects into atoms, deep; everything else goes to erlang-py as is."""
    if isinstance(term, Cookie):
        return OtpErlangAtom(term.reveal())
    if isinstance(term, tuple):
        return tuple(_prepare(t) for t in term)
    if isinstance(term, list):
        return [_prepare(t) for t in term]
    if isinstance(term, OtpErlangList):
        return OtpErlangList([_prepare(t) for t in term.value], improper=term.improper)
    if isinstance(term, dict):
        return {_prepare(k): _prepare(v) for k, v in term.items()}
    return term


def encode(term: Any) -> bytes:
    """term_to_binary, with Cookie objects encoded as atoms."""
    try:
        data: bytes = erlang.term_to_binary(_prepare(term))
        return data
    except (erlang.OutputException, TypeError, ValueError) as exc:
        raise TermError(
            f"cannot encode a {type(term).__name__} as an Erlang term: {type(exc).__name__}"
        ) from None


def secrets_in(term: Any) -> set[bytes]:
    """The cookie texts carried by Cookie objects anywhere inside `term`."""
    found: set[bytes] = set()

    def walk(t: Any) -> None:
        if isinstance(t, Cookie):
            found.add(t.as_bytes())
        elif isinstance(t, (tuple, list)):
            for x in t:
                walk(x)
        elif isinstance(t, OtpErlangList):
            walk(t.value)
        elif isinstance(t, dict):
            for k, v in t.items():
                walk(k)
                walk(v)

    walk(term)
    return found


# -- reading terms -------------------------------------------------------------------------
def _need(data: bytes, pos: int, n: int) -> None:
    if n < 0 or pos + n > len(data):
        raise TermError("term is truncated")


def _skip_atom(data: bytes, pos: int) -> int:
    _need(data, pos, 1)
    tag = data[pos]
    if tag in (118, 100):  # ATOM_UTF8_EXT, ATOM_EXT
        _need(data, pos + 1, 2)
        end = pos + 3 + int.from_bytes(data[pos + 1 : pos + 3], "big")
    elif tag in (119, 115):  # SMALL_ATOM_UTF8_EXT, SMALL_ATOM_EXT
        _need(data, pos + 1, 1)
        end = pos + 2 + data[pos + 1]
    else:
        raise TermError(f"expected an atom, found tag {tag}")
    _need(data, end, 0)
    return end


def term_extent(data: bytes, pos: int = 0, *, budget: TermBudget = DEFAULT_BUDGET) -> int:
    """Where the term starting at data[pos] (version byte 131 included) ends.

    Raises TermError for a truncated term or one outside the budget. Linear in the size
    of the term (and stops once the budget is spent), no recursion, builds nothing.
    """
    return _extent(data, pos, budget, budget.max_elements)[0]


def _extent(data: bytes, pos: int, budget: TermBudget, elements: int) -> tuple[int, int]:
    """(end offset, elements used) of the term at data[pos], within `elements` terms."""
    _need(data, pos, 2)
    if data[pos] != VERSION:
        raise TermError(f"term does not start with version byte 131 (found {data[pos]})")
    pos += 1
    if data[pos] == 80:  # COMPRESSED: only legal right after the version byte
        _need(data, pos + 1, 4)
        size = int.from_bytes(data[pos + 1 : pos + 5], "big")
        if size == 0 or size > budget.max_inflated:  # before inflating a single byte
            raise TermError(
                f"compressed term claims {size} bytes (at most {budget.max_inflated} are accepted)"
            )
        inflater = zlib.decompressobj()
        try:
            inner = inflater.decompress(data[pos + 5 :], size + 1)
        except zlib.error:
            raise TermError("compressed term is not valid zlib") from None
        if len(inner) != size or not inflater.eof:
            raise TermError("compressed term's size does not match its contents")
        end, used = _walk(b"\x83" + inner, 1, budget.max_depth, elements)
        if end != size + 1:
            raise TermError("compressed term has trailing bytes")
        return len(data) - len(inflater.unused_data), used
    return _walk(data, pos, budget.max_depth, elements)


def _walk(data: bytes, pos: int, max_depth: int, elements: int) -> tuple[int, int]:
    # `pending` holds, per open container, how many terms are still to read in it.
    pending: list[int] = []
    remaining = 1
    left = elements
    while True:
        while remaining == 0:
            if not pending:
                return pos, elements - left
            remaining = pending.pop()
        remaining -= 1
        left -= 1
        if left < 0:
            raise TermError(f"term has more than {elements} elements")
        _need(data, pos, 1)
        tag = data[pos]
        pos += 1
        children = 0
        if tag == 97:  # SMALL_INTEGER
            pos += 1
        elif tag == 98:  # INTEGER
            pos += 4
        elif tag == 70:  # NEW_FLOAT
            pos += 8
        elif tag == 99:  # FLOAT (old text float)
            pos += 31
        elif tag in (118, 100, 119, 115):
            pos = _skip_atom(data, pos - 1)
        elif tag == 106:  # NIL
            pass
        elif tag == 107:  # STRING: bytes
            _need(data, pos, 2)
            pos += 2 + int.from_bytes(data[pos : pos + 2], "big")
        elif tag == 109:  # BINARY
            _need(data, pos, 4)
            pos += 4 + int.from_bytes(data[pos : pos + 4], "big")
        elif tag == 77:  # BIT_BINARY
            _need(data, pos, 5)
            pos += 5 + int.from_bytes(data[pos : pos + 4], "big")
        elif tag in (110, 111):  # SMALL_BIG, LARGE_BIG
            width = 1 if tag == 110 else 4
            _need(data, pos, width)
            n = int.from_bytes(data[pos : pos + width], "big")
            if n > MAX_BIG_BYTES:
                raise TermError(f"bignum of {n} bytes is beyond {MAX_BIG_BYTES}")
            pos += width + 1 + n
        elif tag in (104, 105):  # SMALL_TUPLE, LARGE_TUPLE
            width = 1 if tag == 104 else 4
            _need(data, pos, width)
            children = int.from_bytes(data[pos : pos + width], "big")
            pos += width
        elif tag == 108:  # LIST: n elements and a tail
            _need(data, pos, 4)
            children = int.from_bytes(data[pos : pos + 4], "big") + 1
            pos += 4
        elif tag == 116:  # MAP: n key/value pairs
            _need(data, pos, 4)
            children = 2 * int.from_bytes(data[pos : pos + 4], "big")
            pos += 4
        elif tag in (88, 103):  # NEW_PID, PID
            pos = _skip_atom(data, pos) + (12 if tag == 88 else 9)
        elif tag in (89, 102, 120):  # NEW_PORT, PORT, V4_PORT
            pos = _skip_atom(data, pos) + {89: 8, 102: 5, 120: 12}[tag]
        elif tag == 101:  # REFERENCE (old)
            pos = _skip_atom(data, pos) + 5
        elif tag in (90, 114):  # NEWER_REFERENCE, NEW_REFERENCE
            _need(data, pos, 2)
            words = int.from_bytes(data[pos : pos + 2], "big")
            if words > 5:
                raise TermError(f"reference of {words} words")
            pos = _skip_atom(data, pos + 2) + (4 if tag == 90 else 1) + 4 * words
        elif tag == 112:  # NEW_FUN: Size:32 counts itself and the rest
            _need(data, pos, 4)
            size = int.from_bytes(data[pos : pos + 4], "big")
            if size < 4:
                raise TermError("fun term with a size below its own header")
            pos += size
        elif tag == 113:  # EXPORT: module atom, function atom, arity small int
            pos = _skip_atom(data, _skip_atom(data, pos))
            _need(data, pos, 2)
            if data[pos] != 97:
                raise TermError("export fun without a small-integer arity")
            pos += 2
        else:  # atom cache refs, LOCAL_EXT, old FUN_EXT, nested compression, junk
            raise TermError(f"unsupported term tag {tag}")
        _need(data, pos, 0)
        if children:
            if children > len(data) - pos:  # every term needs at least one byte
                raise TermError("container claims more elements than bytes follow")
            if children > left:  # refused before walking a single one of them
                raise TermError(
                    f"term has more than {elements} elements (a container claims {children})"
                )
            pending.append(remaining)
            if len(pending) >= max_depth:
                raise TermError(f"term nests deeper than {max_depth}")
            remaining = children


def decode(data: bytes, pos: int = 0, *, budget: TermBudget = DEFAULT_BUDGET) -> tuple[Any, int]:
    """Decode the term at data[pos:] with erlang-py; return (term, end offset)."""
    term, end, _ = _decode(data, pos, budget, budget.max_elements)
    return term, end


def _decode(data: bytes, pos: int, budget: TermBudget, elements: int) -> tuple[Any, int, int]:
    end, used = _extent(data, pos, budget, elements)
    try:
        return erlang.binary_to_term(bytes(data[pos:end])), end, used
    except Exception as exc:  # erlang-py raises many types on odd input; all are "bad term"
        raise TermError(f"undecodable term ({type(exc).__name__})") from None


def decode_all(
    data: bytes, pos: int = 0, *, limit: int = 2, budget: TermBudget = DEFAULT_BUDGET
) -> list[Any]:
    """Decode consecutive terms (a control term and an optional message term).

    The terms share one budget: together they hold at most `budget.max_elements`.
    """
    terms: list[Any] = []
    elements = budget.max_elements
    while pos < len(data):
        if len(terms) == limit:
            raise TermError(f"more than {limit} terms in one packet")
        term, pos, used = _decode(data, pos, budget, elements)
        elements -= used
        terms.append(term)
    return terms


# -- showing terms ---------------------------------------------------------------------------
def _is_secret(value: Any, secrets: set[bytes]) -> bool:
    if isinstance(value, OtpErlangAtom):
        raw = value.value
        raw = raw.encode("utf-8") if isinstance(raw, str) else raw
        return isinstance(raw, bytes) and raw in secrets
    if isinstance(value, OtpErlangBinary):
        return value.value in secrets
    if isinstance(value, bytes):
        return value in secrets
    if isinstance(value, str):
        return value.encode("utf-8") in secrets
    return False


def redact(term: Any, secrets: set[bytes]) -> Any:
    """A copy of `term` in which every atom, binary or string equal to a secret is replaced."""
    if isinstance(term, Cookie):
        return atom(REDACTED)
    if secrets and _is_secret(term, secrets):
        return atom(REDACTED)
    if isinstance(term, tuple):
        return tuple(redact(t, secrets) for t in term)
    if isinstance(term, list):
        return [redact(t, secrets) for t in term]
    if isinstance(term, OtpErlangList):
        return OtpErlangList([redact(t, secrets) for t in term.value], improper=term.improper)
    if isinstance(term, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in term.items()}
    return term


def format_term(term: Any) -> str:
    """Erlang-like text for a decoded term (for messages and tables)."""
    if isinstance(term, OtpErlangAtom) or term is True or term is False or term is None:
        name = atom_text(term)
        return (
            name
            if name.replace("_", "a").replace("@", "a").isalnum() and name[:1].islower()
            else "'" + name.replace("'", "\\'") + "'"
        )
    if isinstance(term, bytes):  # STRING_EXT comes back as bytes
        if all(32 <= b < 127 for b in term):
            return '"' + term.decode("ascii").replace("\\", "\\\\").replace('"', '\\"') + '"'
        return "[" + ",".join(str(b) for b in term) + "]"
    if isinstance(term, OtpErlangBinary):
        inner = format_term(bytes(term.value)) if term.value else ""
        return "<<" + (inner[1:-1] if inner.startswith("[") else inner) + ">>"
    if isinstance(term, tuple):
        return "{" + ",".join(format_term(t) for t in term) + "}"
    if isinstance(term, list):
        return "[" + ",".join(format_term(t) for t in term) + "]"
    if isinstance(term, OtpErlangList):
        *head, tail = term.value
        return "[" + ",".join(format_term(t) for t in head) + "|" + format_term(tail) + "]"
    if isinstance(term, dict):
        return (
            "#{" + ",".join(f"{format_term(k)} => {format_term(v)}" for k, v in term.items()) + "}"
        )
    if isinstance(term, OtpErlangPid):
        return f"<pid on {format_term(term.node)}>"
    if isinstance(term, OtpErlangReference):
        return f"#Ref<on {format_term(term.node)}>"
    return repr(term)


def safe_repr(term: Any, secrets: AbstractSet[bytes] = frozenset(), limit: int = 300) -> str:
    """Short Erlang-like text of `term` with secrets replaced, for errors and logs."""
    text = format_term(redact(term, set(secrets)))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- to Python -------------------------------------------------------------------------------
def atom_text(term: Any) -> str:
    """The name of an atom (true/false/undefined come back from erlang-py as Python values)."""
    if term is True:
        return "true"
    if term is False:
        return "false"
    if term is None:
        return "undefined"
    if isinstance(term, OtpErlangAtom):
        value = term.value
        name: str = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        return name
    raise TermError(f"expected an atom, got {type(term).__name__}")


def text(term: Any) -> str:
    """A charlist, binary or atom as str (charlists of small chars arrive as bytes)."""
    if isinstance(term, bytes):
        return term.decode("latin-1")
    if isinstance(term, OtpErlangBinary):
        return bytes(term.value).decode("utf-8", errors="replace")
    if isinstance(term, list) and all(isinstance(c, int) and 0 <= c < 0x110000 for c in term):
        return "".join(chr(c) for c in term)
    return atom_text(term)


def to_python(term: Any) -> Any:
    """Plain Python data: atoms and charlists become str, binaries bytes, containers copied.

    Pids, references, ports and funs stay erlang-py objects.
    """
    if isinstance(term, OtpErlangAtom):
        return atom_text(term)
    if isinstance(term, bytes):
        return term.decode("latin-1")
    if isinstance(term, OtpErlangBinary):
        return term.value
    if isinstance(term, tuple):
        return tuple(to_python(t) for t in term)
    if isinstance(term, list):
        return [to_python(t) for t in term]
    if isinstance(term, OtpErlangList):
        return [to_python(t) for t in term.value]
    if isinstance(term, dict):
        return {_hashable(to_python(k)): to_python(v) for k, v in term.items()}
    return term


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _hashable(v)) for k, v in value.items()))
    return value
