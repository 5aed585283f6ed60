"""Hostile file names in scan's text report: no escape sequence reaches the terminal, no
newline forges a row, rich markup stays text (issue: terminal and markup injection)."""

from __future__ import annotations

from tests.scan.conftest import fresh_cookie

HOSTILE = [
    "esc\x1b[2Jclear.env",  # ESC: erase the screen
    "osc\x1b]0;owned\x07title.env",  # OSC: set the window title
    "row\nhigh      EC001 forged.env",  # a newline that would forge a row
    "[link=ftp:evil]click[b].env",
]


def test_scan_text_report_neutralises_hostile_paths(tmp_path, run_scan):
    for name in HOSTILE:
        (tmp_path / name).write_text(f"RELEASE_COOKIE={fresh_cookie()}\n")
    big = tmp_path / "big\x1b]0;t\x07\nfake line.yaml"
    big.write_text("a" * 4096)
    result = run_scan(["--max-size", "1K", "."], cwd=tmp_path)
    assert result.exit_code == 1
    out = result.stdout
    assert "\x1b" not in out and "\x07" not in out
    rows = [line for line in out.splitlines() if line.startswith(("high", "critical"))]
    assert len(rows) == len(HOSTILE), out
    assert not any(line.startswith("high      EC001 forged") for line in out.splitlines())
    assert "row\\nhigh" in out and "esc\\x1b[2Jclear.env" in out
    assert "[link=ftp:evil]click[b].env" in out  # shown as text
    # the skip warning names the oversized file safely, on one line
    [skipped] = [line for line in out.splitlines() if line.startswith("Skipped")]
    assert "big\\x1b]0;t\\x07\\nfake line.yaml" in skipped
