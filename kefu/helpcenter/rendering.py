"""Article Markdown → sanitised HTML.

Article text is written by staff, but staff accounts get phished too, and the admin preview
renders whatever is typed: every rendering goes through nh3's allow-list, so no script, style,
event handler or ``javascript:`` link reaches a customer's browser whatever the Markdown holds.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import unicodedata
from collections import Counter

import markdown
import nh3
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe

# Bump when the Markdown extensions, the allow-list or the heading ids change: cached HTML is
# keyed by it.
RENDERER_VERSION = 3
CACHE_SECONDS = 7 * 24 * 3600

ALLOWED_TAGS = {
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "br",
    "hr",
    "ul",
    "ol",
    "li",
    "a",
    "strong",
    "b",
    "em",
    "i",
    "code",
    "pre",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener nofollow"
MARKDOWN_EXTENSIONS = ["tables", "fenced_code", "sane_lists"]


def sanitize_html(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


_LIST_ITEM = re.compile(r"^( *)(?:[-*+]|\d+[.)])\s")
_FENCE = re.compile(r"^\s*(```|~~~)")


def indent_nested_lists(text: str) -> str:
    """Indent sub-lists written with 2–3 spaces to the 4 that Python-Markdown needs.

    Writers (and CommonMark) nest a list under "1. Step" with 2 or 3 spaces; Python-Markdown
    would flatten it into the parent item's text. Only lines inside a top-level list are
    touched, so an indented list after a paragraph does not turn into a code block.
    """
    out = []
    in_list = in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            item = _LIST_ITEM.match(line)
            if item and len(item.group(1)) == 0:
                in_list = True
            elif item and in_list and 1 <= len(item.group(1)) <= 3:
                line = "    " + line.lstrip(" ")
            elif line.strip() and not line.startswith(" "):
                in_list = False
        out.append(line)
    return "\n".join(out)


def render_markdown(text: str) -> SafeString:
    """Markdown to sanitised HTML, uncached (the admin preview renders unsaved text)."""
    html = markdown.markdown(
        indent_nested_lists((text or "").replace("\r\n", "\n")),
        extensions=MARKDOWN_EXTENSIONS,
        extension_configs={"tables": {"use_align_attribute": True}},
        output_format="html",
    )
    return mark_safe(sanitize_html(html))  # noqa: S308 - sanitised by nh3 just above


def section_anchor(heading: str) -> str:
    """The fragment id of a section heading's plain text: ``s-`` + a slug that keeps Chinese.

    The bot links its answers to the section they come from (``/help/a/fees/#s-提现手续费``).
    The prefix keeps generated ids apart from the page's own ids and from window globals.
    """
    text = unicodedata.normalize("NFKC", heading).lower()
    text = re.sub(r"[^\w\s-]", "", text)
    slug = re.sub(r"[\s_-]+", "-", text).strip("-")
    return "s-" + slug if slug else "s"


def numbered_anchors(headings: list[str]) -> list[str]:
    """Anchors of a page's section headings in order; a repeated "Steps" becomes ``s-steps-2``."""
    seen: Counter[str] = Counter()
    anchors = []
    for heading in headings:
        base = section_anchor(heading)
        seen[base] += 1
        anchors.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return anchors


_SECTION_HEADING = re.compile(r"<(h[23])>(.*?)</\1>", re.S)
_TAG = re.compile(r"<[^>]+>")


def with_section_anchors(html: str) -> str:
    """Give every ``h2``/``h3`` of sanitised HTML its section id (after nh3, which drops ids:
    only these generated ones reach the page)."""
    matches = list(_SECTION_HEADING.finditer(html))
    anchors = iter(numbered_anchors([html_lib.unescape(_TAG.sub("", m.group(2))) for m in matches]))
    return _SECTION_HEADING.sub(
        lambda m: f'<{m.group(1)} id="{html_lib.escape(next(anchors))}">{m.group(2)}</{m.group(1)}>', html
    )


def rendered_html(body_markdown: str) -> SafeString:
    """Sanitised HTML of an article body, with section ids, cached per content version.

    The cache key is a digest of the text itself, so an edited article gets a new entry and
    nothing has to be invalidated; every process (and, with Redis, every server) shares it.
    """
    digest = hashlib.sha256((body_markdown or "").encode("utf-8")).hexdigest()
    key = f"helpcenter:html:{RENDERER_VERSION}:{digest}"
    html = cache.get(key)
    if html is None:
        html = with_section_anchors(str(render_markdown(body_markdown)))
        cache.set(key, html, CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 - only sanitised HTML is ever stored under this key
