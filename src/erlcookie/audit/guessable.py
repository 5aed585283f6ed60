"""Is this cookie human-chosen, and how guessable is it? (zxcvbn's estimate, not entropy.)

Character-class entropy rates `put_some_random_string_here` or `AbCd3rl4ngC00k13WxYz` far
above 80 bits, yet both are words, keyboard runs and leetspeak that a dictionary attack
tries early. zxcvbn (Dropbox's estimator) models exactly that: dictionaries, l33t
substitutions, spatial and alphabetical sequences, repeats. It costs 1-40 ms per string in
pure Python, and a scan judges every literal, so a cheap screen goes first: the share of the
value covered by common words, BEAM words and alphabetical runs (0.1 ms). Random cookies from
every generator erlcookie knows stay far below the screen (measured in tests/audit), so
zxcvbn runs only on strings that look composed.

zxcvbn's word lists load on first use (about 8 ms) and its matcher only for a value that
passes the screen (about 50 ms more), never at CLI start-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

# The words of this domain: what people put in a cookie when they make one up.
BEAM_WORDS = frozenset(
    """
    erlang erl cookie cookies elixir beam otp rabbitmq rabbit couchdb couch ejabberd riak
    emqx vernemq mongooseim mnesia cluster node nodes release dist distributed secret secrets
    phoenix livebook docker kube kubernetes prod dev test demo app my mq ex
""".split()
)
SCREEN = 0.5  # share of the value covered by words before zxcvbn is asked
COMPOSED = 0.6  # share zxcvbn must explain (words, patterns, separators) to call it human-chosen
MIN_BITS = 80.0  # as audit.checks.MIN_BITS: below this, an offline guess is in reach
_SEPARATORS = frozenset("-_. ")
_L33T = str.maketrans("0134578@$!|", "oieaastasil")
_MAX_WORD = 16
_words: set[str] | None = None


def _common_words() -> set[str]:
    """Common English words, film/TV vocabulary and leaked passwords (zxcvbn's lists, the
    10,000 most frequent of each, 4+ letters), plus BEAM words."""
    global _words
    if _words is None:
        words = set(BEAM_WORDS)
        lists = _frequency_lists()  # ranked: most frequent first
        for name in ("english_wikipedia", "us_tv_and_film", "passwords"):
            words.update(w for w in lists[name][:10_000] if len(w) >= 4)
        _words = words
    return _words


def _frequency_lists() -> dict[str, list[str]]:
    """zxcvbn's word lists without importing zxcvbn: its package __init__ builds the whole
    matcher (about 20 ms more), which only a value that passes the screen needs."""
    import sys

    loaded = sys.modules.get("zxcvbn.frequency_lists")
    if loaded is not None:
        return cast("dict[str, list[str]]", loaded.FREQUENCY_LISTS)
    import importlib.util
    import os

    spec = importlib.util.find_spec("zxcvbn")  # locates the package without running it
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("zxcvbn is not installed (pip install zxcvbn)")
    path = os.path.join(os.path.dirname(spec.origin), "frequency_lists.py")
    module_spec = importlib.util.spec_from_file_location("_erlcookie_zxcvbn_words", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return cast("dict[str, list[str]]", module.FREQUENCY_LISTS)


def word_coverage(value: str, extra: Iterable[str] = ()) -> float:
    """Share of `value` covered by known words (after undoing l33t), alphabetical or numeric
    runs of 3+ (`abcd`, `WxYz`, `123`) and separators: the cheap screen."""
    s = value.lower().translate(_L33T)
    n = len(s)
    if n == 0:
        return 0.0
    words = _common_words()
    extra_words = {w.lower() for w in extra if len(w) >= 3}
    best = [0] * (n + 1)  # best[i]: most characters of s[:i] covered
    run = 1  # length of the alphabetical/numeric run ending at i-1 (on the raw value)
    raw = value.lower()
    for i in range(1, n + 1):
        b = best[i - 1] + (1 if s[i - 1] in _SEPARATORS else 0)
        if i >= 2 and abs(ord(raw[i - 1]) - ord(raw[i - 2])) == 1:
            run += 1
        else:
            run = 1
        if run >= 3:
            b = max(b, best[i - run] + run)
        for j in range(max(0, i - _MAX_WORD), i - 2):
            piece = s[j:i]
            if piece in words or piece in extra_words:
                b = max(b, best[j] + i - j)
        best[i] = b
    return best[n] / n


def _structure(token: str) -> int:
    """Characters of a token zxcvbn left to brute force that are structure all the same:
    separators, and alphabetical runs in mixed case (`AbCd`, `WxYz`) its matcher misses."""
    count, run, low = 0, 1, token.lower()
    for i, ch in enumerate(low):
        if ch in _SEPARATORS:
            count += 1
        run = run + 1 if i and ord(ch) - ord(low[i - 1]) == 1 else 1
        if run == 3:
            count += 3
        elif run > 3:
            count += 1
    return count


@dataclass(frozen=True)
class Guessability:
    bits: float  # log2 of zxcvbn's guess estimate
    composed: float  # share of the value zxcvbn explains by patterns (and separators)
    patterns: tuple[str, ...]  # kinds of pattern found: dictionary, l33t, spatial, sequence...

    @property
    def human_chosen(self) -> bool:
        return self.composed >= COMPOSED

    @property
    def weak(self) -> bool:
        return self.human_chosen and self.bits < MIN_BITS


def estimate(value: str, context: Iterable[str] = ()) -> Guessability | None:
    """zxcvbn's estimate for a value that looks composed of words, else None (random-looking:
    character-class entropy is the right measure there). `context` adds words an attacker
    would try first, such as the application's own name."""
    context = [w for w in context if w]
    if word_coverage(value, context) < SCREEN:
        return None
    from zxcvbn import zxcvbn

    result = zxcvbn(value[:72], user_inputs=sorted(BEAM_WORDS) + context)
    explained = 0
    kinds: list[str] = []
    for match in result["sequence"]:
        token = match["token"]
        pattern: str = match["pattern"]  # the stubs leave out "bruteforce", which it returns
        if pattern == "bruteforce":
            explained += _structure(token)
            continue
        explained += len(token)
        kind = "l33t" if match.get("l33t") else pattern
        if kind not in kinds:
            kinds.append(kind)
    bits = math.log2(max(float(result["guesses"]), 1.0))
    return Guessability(round(bits, 1), explained / len(value), tuple(kinds))
