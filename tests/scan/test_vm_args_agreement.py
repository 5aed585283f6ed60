"""`scan` and `release check` read vm.args with one reader, so they name the same cookie."""

from __future__ import annotations

from erlcookie.release import check
from erlcookie.scan.detectors import detect
from tests.release.conftest import FIXTURES

TRICKY = [
    # quotes group words and are removed; `#` starts a comment even after a word
    '-setcookie "dev shop cookie" # quoted, with a space\n',
    "-setcookie 'single quoted'#comment\n",
    "-setcookie back\\ slashed\n",
    "-name a@b -setcookie notAtLineStart1\n",
    "-setcookie peer@host perNodeCookie9\n",
]


def test_scan_reads_the_words_erl_reads():
    from erlcookie.release import vmargs

    for text in TRICKY:
        [flag] = vmargs.find(vmargs.flags(text), "-setcookie")
        expected = (flag.args[0] if len(flag.args) == 1 else flag.args[1]).value
        found = detect("config/vm.args", text)
        assert [d.value == expected for d in found] == [True], text.strip()
        assert [d.rule_id for d in found] == ["EC001"]


def test_commented_and_unreadable_lines_are_still_scanned():
    text = '## old\n# -setcookie oldCommentedCookie1\n-setcookie "unterminated\n-setcookie good2\n'
    assert sorted(d.value for d in detect("rel/vm.args", text)) == ["good2", "oldCommentedCookie1"]


def test_same_cookie_as_release_check_on_a_fixture():
    from erlcookie.cookie.fingerprint import fingerprint

    root = FIXTURES / "rebar3_commented"
    text = (root / "config" / "vm.args").read_text()
    scanned = {fingerprint(d.value) for d in detect("config/vm.args", text)}
    released = {
        f.cookie.fingerprint
        for f in check(root).findings
        if f.path == "config/vm.args" and f.cookie
    }
    assert released and scanned == released
