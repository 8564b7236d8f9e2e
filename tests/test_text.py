"""User text shown through markdown is escaped: no image, link or formula can be injected."""

from workbench.text import escape_markdown


def test_markdown_image_and_link_syntax_is_escaped():
    hostile = "cnn:![x](https://evil.example/p.png) [Log in](https://evil.example)"
    escaped = escape_markdown(hostile)
    assert "![" not in escaped and "](" not in escaped
    assert escaped.replace("\\", "") == hostile


def test_formulas_and_emphasis_are_escaped():
    assert escape_markdown("$x$ *a* _b_") == r"\$x\$ \*a\* \_b\_"


def test_long_user_values_are_clipped_with_an_ellipsis():
    from workbench.text import clip

    assert clip("short") == "short" and clip("x" * 40) == "x" * 40
    assert clip("x" * 300) == "x" * 40 + "…" and clip(12345, limit=3) == "123…"
