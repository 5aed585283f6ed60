"""The tree scanner: walking, skipping, suppression, severity, identities, parallelism."""

from __future__ import annotations

import os
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erlcookie.audit.otp_generator import otp_cookie
from erlcookie.scan import engine
from erlcookie.scan.detectors import detect
from erlcookie.scan.engine import ScanOptions, scan_text, scan_tree
from erlcookie.scan.walker import Excluder
from tests.scan.conftest import fresh_cookie

pytestmark = pytest.mark.timeout(120)


def write(root, rel, text, mode="w"):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_tree_scan_finds_and_skips(tmp_path):
    c = fresh_cookie()
    write(tmp_path, "rel/vm.args", f"-setcookie {c}\n")
    write(tmp_path, ".git/config", f"RELEASE_COOKIE={fresh_cookie()}\n")  # never scanned
    write(tmp_path, "image.png", b"\x89PNG\0\0RELEASE_COOKIE=" + c.encode(), mode="wb")
    write(tmp_path, "big.yaml", "x: " + "a" * 3000 + f"\nRELEASE_COOKIE: {c}\n")
    write(tmp_path, "vendor/lib/env.sh", f"export RELEASE_COOKIE={fresh_cookie()}\n")
    write(tmp_path, "clean.txt", "nothing here\n")
    os.symlink(tmp_path / "rel", tmp_path / "link-to-rel")
    report = scan_tree(
        [str(tmp_path)], ScanOptions(excludes=["vendor"], max_size=2048), cwd=str(tmp_path)
    )
    assert [(f.rule_id, f.path) for f in report.findings] == [("EC001", "rel/vm.args")]
    assert report.binary_files == 1
    assert [(s.path, s.reason) for s in report.skipped] == [("big.yaml", "too-large")]
    assert report.files_scanned == 2  # vm.args and clean.txt
    assert report.skipped[0].size and report.skipped[0].size > 2048


def test_paths_relative_to_cwd_and_explicit_files(tmp_path):
    c = fresh_cookie()
    write(tmp_path, "a/rel/vm.args", f"-setcookie {c}\n")
    report = scan_tree([str(tmp_path / "a" / "rel" / "vm.args")], ScanOptions(), cwd=str(tmp_path))
    assert [f.path for f in report.findings] == ["a/rel/vm.args"]
    (tmp_path / "b").mkdir()
    elsewhere = scan_tree([str(tmp_path / "a")], ScanOptions(), cwd=str(tmp_path / "b"))
    assert elsewhere.findings[0].path == str(tmp_path / "a" / "rel" / "vm.args")
    below = scan_tree([str(tmp_path / "a")], ScanOptions(), cwd=str(tmp_path / "a" / "rel"))
    assert below.findings[0].path == "vm.args"


@pytest.mark.parametrize(
    "pattern,path,excluded",
    [
        ("vendor", "vendor/x/env.sh", True),
        ("vendor", "src/vendor/env.sh", True),
        ("vendor", "src/vendored/env.sh", False),
        ("deploy/*.yaml", "deploy/a.yaml", True),
        ("deploy/*.yaml", "other/deploy/a.yaml", False),
        ("**/fixtures/**", "tests/fixtures/a/b.sh", True),
        ("**/fixtures/**", "fixtures/b.sh", True),
        ("*.md", "docs/guide.md", True),
        ("./docs/", "docs/guide.md", True),
        ("docs", "src/docs.py", False),
    ],
)
def test_exclude_globs(pattern, path, excluded):
    assert Excluder([pattern]).excluded(path) is excluded


def test_inline_allow_same_line_and_line_above():
    c1, c2, c3 = fresh_cookie(), fresh_cookie(), fresh_cookie()
    text = (
        f"export RELEASE_COOKIE={c1}  # erlcookie:allow test fixture\n"
        f"# erlcookie:allow: documented example below\n"
        f"export ERLANG_COOKIE={c2}\n"
        f"export RABBITMQ_ERLANG_COOKIE={c3}\n"
    )
    found, suppressed = scan_text("env.sh", text)
    assert [f.key for f in found] == ["RABBITMQ_ERLANG_COOKIE"]
    assert sorted(f.key for f in suppressed) == ["ERLANG_COOKIE", "RELEASE_COOKIE"]


def test_allow_on_the_key_line_of_a_multiline_finding():
    c = fresh_cookie()
    text = (
        "kind: Deployment\nspec:\n  containers:\n    - env:\n"
        "        - name: RELEASE_COOKIE  # erlcookie:allow local dev only\n"
        f"          value: {c}\n"
    )
    found, suppressed = scan_text("k8s/dev.yaml", text)
    assert not found and len(suppressed) == 1


def test_severity_rises_for_weak_and_predictable_cookies():
    strong = fresh_cookie(32)
    weak = "changeme"
    predictable = otp_cookie(404289480)
    text = (
        f"export RELEASE_COOKIE={strong}\nexport ERLANG_COOKIE={weak}\n"
        f"export RABBITMQ_ERLANG_COOKIE={predictable}\n"
        f"SESSION_COOKIE_SIGNING_KEY=Ab{strong}\n"
    )
    found, _ = scan_text("env.sh", text)
    got = {f.key: (f.verdict, f.severity) for f in found}
    assert got["RELEASE_COOKIE"] == ("ok", "high")
    assert got["ERLANG_COOKIE"] == ("weak", "critical")
    assert got["RABBITMQ_ERLANG_COOKIE"] == ("predictable", "critical")
    assert got["SESSION_COOKIE_SIGNING_KEY"] == ("ok", "medium")
    weak_generic, _ = scan_text(
        ".env", "MY_COOKIE_SECRET=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1\n"
    )
    # too few distinct characters to look like a secret: not even a finding
    assert weak_generic == []
    low_entropy_generic, _ = scan_text(".env", "MY_COOKIE_SECRET=0123456789abcdef\n")
    assert [(f.verdict, f.severity) for f in low_entropy_generic] == [("weak", "high")]


def test_same_cookie_everywhere_has_one_fingerprint(tmp_path):
    c = fresh_cookie()
    write(tmp_path, "rel/vm.args", f"-setcookie {c}\n")
    write(tmp_path, "Dockerfile", f"ENV RELEASE_COOKIE={c}\n")
    write(tmp_path, "k8s/cm.yaml", f"kind: ConfigMap\ndata:\n  RELEASE_COOKIE: {c}\n")
    write(tmp_path, ".erlang.cookie", c)
    report = scan_tree([str(tmp_path)], ScanOptions(), cwd=str(tmp_path))
    assert len(report.findings) == 4 and report.distinct_cookies() == 1
    assert len({f.fingerprint for f in report.findings}) == 1
    assert report.findings[0].fingerprint.startswith("fp1:")


def test_fingerprint_and_audit_computed_once_per_distinct_cookie(monkeypatch, tmp_path):
    calls = []
    import erlcookie.cookie.fingerprint as fpmod

    real = fpmod.fingerprint
    monkeypatch.setattr(fpmod, "fingerprint", lambda v: calls.append(1) or real(v))
    monkeypatch.setattr(engine, "_JUDGED", {})
    c = fresh_cookie()
    for i in range(30):
        write(tmp_path, f"svc{i}/env.sh", f"export RELEASE_COOKIE={c}\n")
    report = scan_tree([str(tmp_path)], ScanOptions(jobs=1), cwd=str(tmp_path))
    assert len(report.findings) == 30 and len(calls) == 1


def test_identity_ignores_line_moves_and_counts_repeats():
    c, other = fresh_cookie(), fresh_cookie()
    before, _ = scan_text("env.sh", f"export RELEASE_COOKIE={c}\nexport RELEASE_COOKIE={c}\n")
    after, _ = scan_text(
        "env.sh",
        "# a new header\n\n" + f"export ERLANG_COOKIE={other}\n"
        f"export RELEASE_COOKIE={c}\n\nexport RELEASE_COOKIE={c}\n",
    )
    ids_before = [f.identity for f in before]
    ids_after = [f.identity for f in after if f.key == "RELEASE_COOKIE"]
    assert ids_before == ids_after and ids_before[0] != ids_before[1]
    assert [f.line for f in before] != [f.line for f in after if f.key == "RELEASE_COOKIE"]
    moved, _ = scan_text("other.sh", f"export RELEASE_COOKIE={c}\n")
    assert moved[0].identity != before[0].identity  # the path is part of the identity


def test_parallel_scan_equals_sequential(monkeypatch, tmp_path):
    cookies = [fresh_cookie() for _ in range(4)]  # few distinct: scrypt is the slow part
    for i in range(60):
        c = cookies[i % 4]
        write(tmp_path, f"d{i % 7}/f{i}.sh", f"echo hi\nexport RELEASE_COOKIE={c}\n")
        write(tmp_path, f"d{i % 7}/noise{i}.txt", "lorem ipsum\n" * 50)
    monkeypatch.setattr(engine, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(engine, "BATCH", 7)
    parallel = scan_tree([str(tmp_path)], ScanOptions(jobs=2), cwd=str(tmp_path))
    sequential = scan_tree([str(tmp_path)], ScanOptions(jobs=1), cwd=str(tmp_path))
    key = lambda r: [(f.path, f.line, f.identity, f.fingerprint) for f in r.findings]  # noqa: E731
    assert key(parallel) == key(sequential) and len(parallel.findings) == 60
    assert parallel.files_scanned == sequential.files_scanned == 120
    assert parallel.bytes_scanned == sequential.bytes_scanned


def test_non_utf8_files_are_scanned():
    c = fresh_cookie()
    found, _ = engine.scan_bytes(
        "env.sh", b"# caf\xe9\nexport RELEASE_COOKIE=" + c.encode() + b"\n"
    )
    assert len(found) == 1 and found[0].line == 2


_TEXT = st.text(alphabet=string.printable + "é€\u00a0", max_size=400)
_SNIPPETS = st.sampled_from(
    [
        "-setcookie ",
        "--cookie ",
        "RELEASE_COOKIE=",
        "cookie: ",
        "Node.set_cookie(",
        "erl_call -c ",
        "erlang:set_cookie(",
        "- name: RELEASE_COOKIE\n  value: ",
        "kind: Secret\ndata:\n  cookie: ",
        "ENV RELEASE_COOKIE ",
        "${RELEASE_COOKIE:-",
        '"',
        "'",
        "<%",
        "{{",
        "\\\n",
        "[env]\n",
        "echo x > .erlang.cookie",
        "- ",
        ":",
        "#",
        "\n",
        "  ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.one_of(_TEXT, _SNIPPETS), max_size=25),
    path=st.sampled_from(
        [
            "rel/vm.args",
            "mix.exs",
            "Dockerfile",
            "k8s/a.yaml",
            "fly.toml",
            "env.sh",
            ".erlang.cookie",
            "lib/a.ex",
            "src/a.erl",
            "x.json",
        ]
    ),
)
def test_detectors_never_crash_or_hang_on_arbitrary_text(parts, path):
    text = "".join(parts)
    for d in detect(path, text):
        assert 0 <= d.start <= d.end <= len(text)
        assert d.value and "\n" not in d.value


def test_options_carry_the_severity_floor_and_the_baseline(tmp_path):
    """The engine applies --min-severity and --baseline (ScanOptions); the CLI only renders."""
    from erlcookie.errors import UsageError
    from erlcookie.findings import Severity
    from erlcookie.scan import baseline

    write(tmp_path, "rel/vm.args", f"-setcookie {fresh_cookie()}\n")  # EC001, high
    write(tmp_path, "app.env", f"SESSION_COOKIE_KEY={fresh_cookie(40)}\n")  # EC100, medium
    everything = scan_tree([str(tmp_path)], ScanOptions(), cwd=str(tmp_path))
    assert sorted(str(f.severity) for f in everything.findings) == ["high", "medium"]

    high = scan_tree([str(tmp_path)], ScanOptions(min_severity=Severity.HIGH), cwd=str(tmp_path))
    assert [f.rule_id for f in high.findings] == ["EC001"] and high.below_floor == 1

    base = tmp_path / "baseline.json"
    baseline.write(str(base), [f for f in everything.findings if f.rule_id == "EC001"])
    write(tmp_path, "later/vm.args", f"-setcookie {fresh_cookie()}\n")
    accepted = scan_tree([str(tmp_path)], ScanOptions(baseline=str(base)), cwd=str(tmp_path))
    assert [f.path for f in accepted.accepted] == ["rel/vm.args"]
    assert sorted(f.path for f in accepted.findings) == ["app.env", "later/vm.args"]

    with pytest.raises(UsageError):  # a missing baseline fails before any file is read
        engine.scan([str(tmp_path)], ScanOptions(baseline=str(tmp_path / "nope.json")))


def test_the_projects_own_name_makes_a_cookie_guessable(tmp_path):
    """`<app>-cookie-<app>` is guessable once the app's name is known: the scan passes the
    project's names (directory, mix app, relx release, chart, fly app) to the audit."""
    value = "zorblaxqwm-cookie-zorblaxqwm"
    plain = tmp_path / "plain"
    write(plain, ".env", f"RELEASE_COOKIE={value}\n")
    (f,) = scan_tree([str(plain)], ScanOptions(jobs=1), cwd=str(plain)).findings
    assert f.verdict == "ok"
    named = tmp_path / "named"
    write(named, "mix.exs", 'def project, do: [app: :zorblaxqwm, version: "0.1.0"]\n')
    write(named, ".env", f"RELEASE_COOKIE={value}\n")
    (f,) = scan_tree([str(named)], ScanOptions(jobs=1), cwd=str(named)).findings
    assert f.verdict == "weak" and "guessable" in f.reasons
    assert "zorblaxqwm" in engine.project_words([str(named)])
    (tmp_path / "my-shop").mkdir()
    assert engine.project_words([str(tmp_path / "my-shop")]) == ("my-shop", "shop")
