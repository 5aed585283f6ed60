"""Text from outside is made safe before it reaches a terminal."""

from __future__ import annotations

from erlcookie.cli.common import markup_safe, render_table, safe_text


def test_control_sequences_become_visible_escapes():
    hostile = "node\x1b]0;pwned\x07@host\x1b[2K\rrow\nforged\u202eexe"
    shown = safe_text(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\n" not in shown
    assert "\r" not in shown and "\u202e" not in shown
    assert shown == "node\\x1b]0;pwned\\x07@host\\x1b[2K\\rrow\\nforged\\u202eexe"


def test_plain_text_and_unicode_names_are_unchanged():
    assert safe_text("app@web-1.prod.svc") == "app@web-1.prod.svc"
    assert safe_text("café/ノード.yaml") == "café/ノード.yaml"


def test_markup_is_escaped_for_rich():
    from rich.console import Console

    console = Console(record=True, width=200, color_system=None)
    console.print(markup_safe("evil[/bogus] [link=https://example.invalid]click[/link]"))
    assert (
        console.export_text().strip() == "evil[/bogus] [link=https://example.invalid]click[/link]"
    )


def test_plain_table_rows_cannot_be_forged(capsys):
    render_table(["node", "verdict"], [["a\nFORGED  accepted", "rejected"]])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("a\\nFORGED")
