"""Plain functions that judge one cookie. Nothing here prints or logs the value.

Verdicts, worst first: `invalid` (breaks deployments), `predictable` (an output of OTP's
own generator, proven), `weak` (known value, template leftover, human-chosen and guessable,
too little entropy), `ok`.
"""

from __future__ import annotations

import enum
import os
import re
import stat
from dataclasses import dataclass, field

from erlcookie.audit.otp_generator import GeneratorMatch, recover
from erlcookie.cookie.strength import estimate_strength
from erlcookie.cookie.value import MAX_ATOM_LENGTH, Cookie


class Verdict(enum.StrEnum):
    """What a cookie is fit for, best first; the strings are the JSON and CLI spelling."""

    OK = "ok"
    WEAK = "weak"
    PREDICTABLE = "predictable"
    INVALID = "invalid"

    @property
    def rank(self) -> int:
        """Higher is worse: the verdict of a cookie is the worst of its reasons'."""
        return VERDICT_ORDER.index(self)


VERDICT_ORDER: tuple[Verdict, ...] = tuple(Verdict)
MIN_BITS = 80.0  # below this an offline guess against a captured handshake is in reach
RECOMMENDED_BITS = 128.0

# Values seen in templates, docs, tutorials and old defaults. Compared case-insensitively.
KNOWN_WEAK = frozenset(
    {
        "cookie",
        "secret",
        "changeme",
        "change_me",
        "changeit",
        "monster",
        "nocookie",
        "erlang",
        "erlangcookie",
        "erlang_cookie",
        "erlang-cookie",
        "elixir",
        "elixir_cookie",
        "mycookie",
        "my_cookie",
        "my-cookie",
        "secretcookie",
        "secret_cookie",
        "supersecret",
        "super_secret",
        "supersecretcookie",
        "super_secret_cookie",
        "password",
        "passw0rd",
        "test",
        "testing",
        "testcookie",
        "test_cookie",
        "default",
        "demo",
        "example",
        "abc123",
        "123456",
        "rabbit",
        "rabbitmq",
        "rabbitmq_cookie",
        "couchdb",
        "couchdb_cookie",
        "ejabberd",
        "riak",
        "riak_cookie",
        "emqx",
        "emqxsecretcookie",
        "vernemq",
        "yaws",
        "mongooseim",
        "cluster",
        "cluster_cookie",
        "node",
        "nodes",
        "distributed",
        "release_cookie",
        "the_cookie",
        "my_secret_cookie",
        "secret_erlang_cookie",
        "sample",
        "foo",
        "bar",
        "foobar",
        "dev",
        "prod",
        "local",
        "kubernetes",
        "k8s",
        "docker",
        "phoenix",
        "app",
        "myapp",
        "my_app",
    }
)
# relx's template default is `{{name}}_cookie`: rendered as `myapp_cookie`, or left raw.
RELX_TEMPLATE = re.compile(r"^(\{\{\s*\w+\s*\}\}|[a-z][a-z0-9_]*)_cookie$")
TEMPLATE_LEFTOVER = re.compile(r"\{\{.*\}\}|<%.*%>|\$\{[^}]*\}|%\w+%")

# Bytes that were not UTF-8 when read are kept as these surrogate escapes (PEP 383).
_NOT_UTF8, _NOT_UTF8_END = "\udc80", "\udcff"

# Characters that an unquoted shell word, .env line, vm.args line or vm.args.src
# ${VAR} expansion would mangle or cut.
MANGLED = {
    " ": "a space",
    "\t": "a tab",
    "'": "a single quote",
    '"': "a double quote",
    "`": "a backtick",
    "$": "a dollar sign ($ starts an expansion in shells and vm.args.src)",
    "\\": "a backslash",
    "#": "a hash (starts a comment in vm.args, shells and .env)",
    ";": "a semicolon",
    "&": "an ampersand",
    "|": "a pipe",
    "<": "a less-than sign",
    ">": "a greater-than sign",
    "(": "a parenthesis",
    ")": "a parenthesis",
    "*": "a glob star",
    "?": "a glob question mark",
    "[": "a bracket",
    "]": "a bracket",
    "{": "a brace",
    "}": "a brace",
    "~": "a tilde",
    "!": "an exclamation mark (history expansion)",
}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    verdict: Verdict = Verdict.WEAK  # the verdict this reason leads to; OK for advice only

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "verdict": self.verdict, "message": self.message}


@dataclass
class AuditResult:
    verdict: Verdict
    bits: float
    length: int
    alphabet: str
    reasons: list[Reason] = field(default_factory=list)
    generator: GeneratorMatch | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK

    def to_dict(self, *, reveal_state: bool = False) -> dict[str, object]:
        data: dict[str, object] = {
            "verdict": self.verdict,
            "bits": self.bits,
            "length": self.length,
            "alphabet": self.alphabet,
            "reasons": [r.to_dict() for r in self.reasons],
        }
        if self.generator is not None:
            proof: dict[str, object] = {
                "generator": "OTP auth.erl 36-bit LCG",
                "regenerated_exact_cookie": True,
            }
            if reveal_state:  # the seed regenerates the cookie: it is as secret as the cookie
                proof.update(self.generator.to_dict())
            data["predictable"] = proof
        return data


def strength_bits(value: str) -> tuple[float, str]:
    """Estimated bits and the alphabet they were counted over (the estimate `generate` shows)."""
    strength = estimate_strength(value)
    return strength.bits, strength.alphabet


def _deployment_problems(value: str) -> list[Reason]:
    problems = []
    if not value:
        return [Reason("empty", "the cookie is empty", Verdict.INVALID)]
    if len(value) > MAX_ATOM_LENGTH:
        problems.append(
            Reason(
                "too-long",
                f"{len(value)} characters: an Erlang atom holds at most "
                f"{MAX_ATOM_LENGTH}, so nodes cannot use it",
                Verdict.INVALID,
            )
        )
    if value != value.strip():
        problems.append(
            Reason(
                "edge-whitespace",
                "leading or trailing whitespace: files, env and vm.args disagree on it",
                Verdict.INVALID,
            )
        )
    if value.startswith("-"):
        # seen on OTP 25: `erl -setcookie -x...` and `-setcookie ${RELEASE_COOKIE}` in
        # vm.args.src take the value for the next flag and start on ~/.erlang.cookie
        problems.append(
            Reason(
                "leading-dash",
                "starts with '-': erl and vm.args take it for a "
                "flag, so the node silently runs on "
                "~/.erlang.cookie instead",
                Verdict.INVALID,
            )
        )
    seen = []
    for ch in value:
        if ch in MANGLED and MANGLED[ch] not in seen:
            seen.append(MANGLED[ch])
    if seen:
        problems.append(
            Reason(
                "shell-unsafe",
                "contains " + ", ".join(seen) + ": mangled unquoted "
                "in shells, .env files, vm.args or ${VAR} expansion",
                Verdict.INVALID,
            )
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        problems.append(Reason("control-chars", "contains control characters", Verdict.INVALID))
    if any(_NOT_UTF8 <= ch <= _NOT_UTF8_END for ch in value):
        problems.append(
            Reason(
                "not-utf8",
                "contains bytes that are not UTF-8 text: tools "
                "that decode it (shells, YAML, JSON) will change "
                "or reject it",
                Verdict.INVALID,
            )
        )
    elif any(ord(ch) > 127 for ch in value):
        problems.append(
            Reason(
                "non-ascii",
                "contains non-ASCII characters: encodings differ between shells, files and nodes",
                Verdict.INVALID,
            )
        )
    return problems


def _guessable(value: str, context: tuple[str, ...]) -> tuple[Reason, float] | None:
    """A human-chosen value that zxcvbn guesses in fewer than MIN_BITS (guessable.py), and
    zxcvbn's bits for it."""
    from erlcookie.audit.guessable import estimate

    guess = estimate(value, context)
    if guess is None or not guess.weak:
        return None
    kinds = {
        "dictionary": "dictionary words",
        "l33t": "leetspeak",
        "spatial": "keyboard patterns",
        "sequence": "sequences",
        "repeat": "repeats",
        "date": "dates",
        "regex": "years",
    }
    what = ", ".join(kinds.get(k, k) for k in guess.patterns) or "patterns"
    return Reason(
        "guessable",
        f"human-chosen: made of {what}; a guessing attack finds it in "
        f"about 2^{guess.bits:g} tries (zxcvbn's estimate), use "
        f"{RECOMMENDED_BITS:g} random bits (erlcookie generate)",
    ), guess.bits


def _weakness(value: str, bits: float, context: tuple[str, ...] = ()) -> tuple[list[Reason], float]:
    """Reasons the value is weak, and its strength in bits (zxcvbn's estimate when it is
    human-chosen, which character-class entropy overrates)."""
    reasons = []
    lowered = value.lower()
    if lowered in KNOWN_WEAK:
        reasons.append(
            Reason(
                "known-value",
                "a well-known default or example value; it is the first thing anyone tries",
            )
        )
    elif RELX_TEMPLATE.match(value):
        reasons.append(
            Reason(
                "relx-template",
                "looks like relx's template default `<name>_cookie`: guessable from the app name",
            )
        )
    if TEMPLATE_LEFTOVER.search(value):
        reasons.append(
            Reason("template-leftover", "contains an unrendered template or variable placeholder")
        )
    guessable = None if reasons else _guessable(value, context)
    if guessable is not None:
        reasons.append(guessable[0])
        bits = min(bits, guessable[1])
    elif bits < MIN_BITS:
        reasons.append(
            Reason(
                "low-entropy",
                f"about {bits:g} bits; use at least {RECOMMENDED_BITS:g} (erlcookie generate)",
            )
        )
    elif bits < RECOMMENDED_BITS:
        reasons.append(
            Reason(
                "below-recommended",
                f"about {bits:g} bits; {RECOMMENDED_BITS:g} or more is recommended",
                Verdict.OK,
            )
        )
    return reasons, bits


def audit_text(value: str, *, context: tuple[str, ...] = ()) -> AuditResult:
    """Judge a cookie given as text (the scanner's entry point; prefer `audit_cookie`).

    `context`: words an attacker would try first (the application's name, say)."""
    bits, alphabet = strength_bits(value)
    reasons = _deployment_problems(value)
    generator = recover(value)
    if generator is not None:
        bits = 36.0
        reasons.append(
            Reason(
                "otp-generator",
                "made by OTP's own cookie generator (auth.erl, 36-bit LCG): the "
                "generator state was recovered and regenerates this exact cookie, so anyone can "
                "compute it from a guess of the node's start time",
                Verdict.PREDICTABLE,
            )
        )
    if generator is None:
        weak, bits = _weakness(value, bits, context)
        reasons.extend(weak)
    verdict = max((reason.verdict for reason in reasons), key=lambda v: v.rank, default=Verdict.OK)
    return AuditResult(
        verdict=verdict,
        bits=bits,
        length=len(value),
        alphabet=alphabet,
        reasons=reasons,
        generator=generator,
    )


def file_mode_problems(path: str) -> list[Reason]:
    """OTP refuses to start with a cookie file others can access (auth.erl check_attributes)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return []
    if mode & 0o077:
        return [
            Reason(
                "file-mode",
                f"cookie file mode is {mode:04o}: OTP refuses to start "
                "with a cookie file that group or others can access "
                "(chmod 400)",
                Verdict.INVALID,
            )
        ]
    return []


def audit_cookie(cookie: Cookie, *, path: str | None = None) -> AuditResult:
    """Judge a cookie; with `path` (the file it came from) also check what OTP checks."""
    result = audit_text(cookie.reveal())
    if path is not None:
        problems = file_mode_problems(path)
        if problems:
            result.reasons[:0] = problems
            result.verdict = Verdict.INVALID
    return result
