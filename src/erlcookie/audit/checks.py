"""Plain functions that judge one cookie. Nothing here prints or logs the value.

Verdicts, worst first: `invalid` (breaks deployments), `predictable` (an output of OTP's
own generator, proven), `weak` (known value, template leftover, too little entropy), `ok`.
"""

from __future__ import annotations

import math
import os
import re
import stat
import string
from dataclasses import dataclass, field

from erlcookie.audit.otp_generator import GeneratorMatch, recover
from erlcookie.cookie.value import MAX_ATOM_LENGTH, Cookie

VERDICT_ORDER = ("ok", "weak", "predictable", "invalid")
MIN_BITS = 80.0  # below this an offline guess against a captured handshake is in reach
RECOMMENDED_BITS = 128.0

# Values seen in templates, docs, tutorials and old defaults. Compared case-insensitively.
KNOWN_WEAK = frozenset({
    "cookie", "secret", "changeme", "change_me", "changeit", "monster", "nocookie", "erlang",
    "erlangcookie", "erlang_cookie", "erlang-cookie", "elixir", "elixir_cookie", "mycookie",
    "my_cookie", "my-cookie", "secretcookie", "secret_cookie", "supersecret", "super_secret",
    "supersecretcookie", "super_secret_cookie", "password", "passw0rd", "test", "testing",
    "testcookie", "test_cookie", "default", "demo", "example", "abc123", "123456", "rabbit",
    "rabbitmq", "rabbitmq_cookie", "couchdb", "couchdb_cookie", "ejabberd", "riak", "riak_cookie",
    "emqx", "emqxsecretcookie", "vernemq", "yaws", "mongooseim", "cluster", "cluster_cookie",
    "node", "nodes", "distributed", "release_cookie", "the_cookie", "my_secret_cookie",
    "secret_erlang_cookie", "sample", "foo", "bar", "foobar", "dev", "prod", "local",
    "kubernetes", "k8s", "docker", "phoenix", "app", "myapp", "my_app",
})
# relx's template default is `{{name}}_cookie`: rendered as `myapp_cookie`, or left raw.
RELX_TEMPLATE = re.compile(r"^(\{\{\s*\w+\s*\}\}|[a-z][a-z0-9_]*)_cookie$")
TEMPLATE_LEFTOVER = re.compile(r"\{\{.*\}\}|<%.*%>|\$\{[^}]*\}|%\w+%")

# Characters that an unquoted shell word, .env line, vm.args line or vm.args.src
# ${VAR} expansion would mangle or cut.
MANGLED = {
    " ": "a space", "\t": "a tab", "'": "a single quote", '"': "a double quote",
    "`": "a backtick", "$": "a dollar sign ($ starts an expansion in shells and vm.args.src)",
    "\\": "a backslash", "#": "a hash (starts a comment in vm.args, shells and .env)",
    ";": "a semicolon", "&": "an ampersand", "|": "a pipe", "<": "a less-than sign",
    ">": "a greater-than sign", "(": "a parenthesis", ")": "a parenthesis", "*": "a glob star",
    "?": "a glob question mark", "[": "a bracket", "]": "a bracket", "{": "a brace",
    "}": "a brace", "~": "a tilde", "!": "an exclamation mark (history expansion)",
}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    verdict: str = "weak"  # the verdict this reason leads to; "ok" for advice only

    def to_dict(self) -> dict:
        return {"code": self.code, "verdict": self.verdict, "message": self.message}


@dataclass
class AuditResult:
    verdict: str
    bits: float
    length: int
    alphabet: str
    reasons: list[Reason] = field(default_factory=list)
    generator: GeneratorMatch | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def to_dict(self, *, reveal_state: bool = False) -> dict:
        data = {"verdict": self.verdict, "bits": self.bits, "length": self.length,
                "alphabet": self.alphabet, "reasons": [r.to_dict() for r in self.reasons]}
        if self.generator is not None:
            proof = {"generator": "OTP auth.erl 36-bit LCG", "regenerated_exact_cookie": True}
            if reveal_state:  # the seed regenerates the cookie: it is as secret as the cookie
                proof.update(self.generator.to_dict())
            data["predictable"] = proof
        return data


def _alphabet(value: str) -> tuple[int, str]:
    """Size and name of the smallest common alphabet the value fits in."""
    chars = set(value)
    if chars <= set("0123456789abcdef") or chars <= set("0123456789ABCDEF"):
        return 16, "hex"
    if chars <= set(string.ascii_uppercase):
        return 26, "A-Z"
    if chars <= set(string.ascii_uppercase + "234567"):
        return 32, "base32"
    size, parts = 0, []
    for name, group in (("a-z", string.ascii_lowercase), ("A-Z", string.ascii_uppercase),
                        ("0-9", string.digits), ("-_", "-_")):
        if chars & set(group):
            size += len(group)
            parts.append(name)
    other = chars - set(string.ascii_letters + string.digits + "-_")
    if other:
        size += max(len(other), 32)
        parts.append("symbols")
    if parts == ["a-z", "A-Z", "0-9", "-_"] or (set(parts) <= {"a-z", "A-Z", "0-9", "-_"}
                                                 and len(parts) >= 3):
        return 64, "base64url"
    return size, "+".join(parts)


def _pattern_cap(value: str, alphabet_size: int) -> float | None:
    """Bits implied by a low-entropy shape (repetition, few distinct symbols), if any."""
    n = len(value)
    for unit in range(1, n // 2 + 1):
        if n % unit == 0 and value[:unit] * (n // unit) == value:
            return unit * math.log2(max(len(set(value)), 2))
    distinct = len(set(value))
    # Far fewer distinct symbols than a random string of this length and alphabet would
    # show (random ones use nearly all of min(n, alphabet)): the alphabet is not what it seems.
    if n >= 8 and distinct * 3 <= min(n, alphabet_size):
        return n * math.log2(max(distinct, 2))
    return None


def strength_bits(value: str) -> tuple[float, str]:
    if not value:
        return 0.0, "empty"
    size, name = _alphabet(value)
    bits = len(value) * math.log2(size)
    cap = _pattern_cap(value, size)
    if cap is not None:
        bits = min(bits, cap)
    return round(bits, 1), name


def _deployment_problems(value: str) -> list[Reason]:
    problems = []
    if not value:
        return [Reason("empty", "the cookie is empty", "invalid")]
    if len(value) > MAX_ATOM_LENGTH:
        problems.append(Reason("too-long", f"{len(value)} characters: an Erlang atom holds at most "
                                           f"{MAX_ATOM_LENGTH}, so nodes cannot use it", "invalid"))
    if value != value.strip():
        problems.append(Reason("edge-whitespace", "leading or trailing whitespace: files, env "
                                                  "and vm.args disagree on it", "invalid"))
    seen = []
    for ch in value:
        if ch in MANGLED and MANGLED[ch] not in seen:
            seen.append(MANGLED[ch])
    if seen:
        problems.append(Reason("shell-unsafe", "contains " + ", ".join(seen) + ": mangled unquoted "
                               "in shells, .env files, vm.args or ${VAR} expansion", "invalid"))
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        problems.append(Reason("control-chars", "contains control characters", "invalid"))
    if any(ord(ch) > 127 for ch in value):
        problems.append(Reason("non-ascii", "contains non-ASCII characters: encodings differ "
                                            "between shells, files and nodes", "invalid"))
    return problems


def _weakness(value: str, bits: float) -> list[Reason]:
    reasons = []
    lowered = value.lower()
    if lowered in KNOWN_WEAK:
        reasons.append(Reason("known-value", "a well-known default or example value; it is the "
                                             "first thing anyone tries"))
    elif RELX_TEMPLATE.match(value):
        reasons.append(Reason("relx-template", "looks like relx's template default "
                                               "`<name>_cookie`: guessable from the app name"))
    if TEMPLATE_LEFTOVER.search(value):
        reasons.append(Reason("template-leftover", "contains an unrendered template or variable "
                                                   "placeholder"))
    if bits < MIN_BITS:
        reasons.append(Reason("low-entropy", f"about {bits:g} bits; use at least "
                                             f"{RECOMMENDED_BITS:g} (erlcookie generate)"))
    elif bits < RECOMMENDED_BITS:
        reasons.append(Reason("below-recommended", f"about {bits:g} bits; {RECOMMENDED_BITS:g} "
                                                   "or more is recommended", "ok"))
    return reasons


def audit_text(value: str) -> AuditResult:
    """Judge a cookie given as text (the scanner's entry point; prefer `audit_cookie`)."""
    bits, alphabet = strength_bits(value)
    reasons = _deployment_problems(value)
    generator = recover(value)
    if generator is not None:
        bits = 36.0
        reasons.append(Reason(
            "otp-generator", "made by OTP's own cookie generator (auth.erl, 36-bit LCG): the "
            "generator state was recovered and regenerates this exact cookie, so anyone can "
            "compute it from a guess of the node's start time", "predictable"))
    reasons.extend(_weakness(value, bits) if generator is None else [])
    verdict = "ok"
    for reason in reasons:
        if VERDICT_ORDER.index(reason.verdict) > VERDICT_ORDER.index(verdict):
            verdict = reason.verdict
    return AuditResult(verdict=verdict, bits=bits, length=len(value), alphabet=alphabet,
                       reasons=reasons, generator=generator)


def file_mode_problems(path: str) -> list[Reason]:
    """OTP refuses to start with a cookie file others can access (auth.erl check_attributes)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return []
    if mode & 0o077:
        return [Reason("file-mode", f"cookie file mode is {mode:04o}: OTP refuses to start "
                                    "with a cookie file that group or others can access "
                                    "(chmod 400)", "invalid")]
    return []


def audit_cookie(cookie: Cookie, *, path: str | None = None) -> AuditResult:
    """Judge a cookie; with `path` (the file it came from) also check what OTP checks."""
    result = audit_text(cookie.reveal())
    if path is not None:
        problems = file_mode_problems(path)
        if problems:
            result.reasons[:0] = problems
            result.verdict = "invalid"
    return result
