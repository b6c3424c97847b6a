"""Article HTML is sanitised: formatting survives, active content never does."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from kefu.helpcenter import rendering
from kefu.helpcenter.content import load_sources
from kefu.helpcenter.rendering import render_markdown, rendered_html

HOSTILE = """## Title

<script>alert("x")</script>
<img src="x" onerror="alert(1)">
<a href="javascript:alert(1)">click</a> [md link](javascript:alert(2)) [data](data:text/html,hi)
<a href="https://example.com" onclick="steal()" target="_blank">ok</a>
<style>body { display: none }</style><iframe src="https://evil.example"></iframe>
<p style="color:red" class="x">styled</p>
"""


def test_scripts_handlers_styles_and_javascript_urls_are_removed():
    html = str(render_markdown(HOSTILE))
    lowered = html.lower()
    for bad in (
        "<script",
        "onerror",
        "onclick",
        "javascript:",
        "data:text",
        "<style",
        "<iframe",
        "style=",
        "<img",
    ):
        assert bad not in lowered, bad
    assert "alert(" not in html  # script bodies go with their tags
    assert '<a href="https://example.com" rel="noopener nofollow">ok</a>' in html
    assert "<h2>Title</h2>" in html and "styled" in html


def test_formatting_survives():
    text = (
        "## Steps\n\n1. **Open** the app\n2. *Tap* [Help](https://help.example)\n\n"
        "> Quote\n\n| A | B |\n|:--|--:|\n| 1 | 2 |\n\n`code` and\n\n```\nblock <b>\n```\n- item\n"
    )
    html = str(render_markdown(text))
    for fragment in (
        "<h2>Steps</h2>",
        "<ol>",
        "<strong>Open</strong>",
        "<em>Tap</em>",
        'href="https://help.example" rel="noopener nofollow"',
        "<blockquote>",
        "<table>",
        '<th align="left">A</th>',
        "<code>code</code>",
        "<pre><code>block &lt;b&gt;",
        "<ul>",
    ):
        assert fragment in html, fragment


def test_every_bundled_article_renders():
    for source in load_sources():
        html = str(render_markdown(source.body_markdown))
        assert "<h2>" in html and "<script" not in html, source.slug


def test_rendered_html_is_cached_per_version(monkeypatch):
    calls = []
    real = rendering.render_markdown
    monkeypatch.setattr(rendering, "render_markdown", lambda text: calls.append(text) or real(text))
    cache.clear()
    assert rendered_html("# One") == rendered_html("# One")
    assert len(calls) == 1
    assert "Two" in rendered_html("# Two") and len(calls) == 2


@pytest.mark.parametrize("text", ["", "plain", "<", "[x](", "| a |\n|--|"])
def test_odd_input_does_not_fail(text):
    render_markdown(text)


def test_sub_lists_indented_by_two_or_three_spaces_stay_nested():
    html = str(
        render_markdown("1. Look it up:\n   - failed\n   - success\n2. Next\n\nText\n\n  - not nested\n")
    )
    assert "<li>Look it up:<ul>\n<li>failed</li>" in html
    assert "<pre>" not in html and "<li>not nested</li>" in html
