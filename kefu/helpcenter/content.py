"""Article files: ``content/<slug>.<language>.md``, Markdown with YAML front matter.

The files are the source the demo and ``helpcenter_sync`` load from; once loaded, the rows
belong to the admins. :func:`content_digest` fingerprints the fields a file sets, so the loader
can tell a row nobody touched (its digest still equals ``source_hash``, recorded at load time)
from a row an admin edited.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kefu.helpcenter.models import Article, Language

CONTENT_DIR = Path(__file__).parent / "content"
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.S)


class ContentError(ValueError):
    """A content file that cannot be loaded; the message names the file."""


@dataclass(frozen=True)
class ArticleSource:
    """One article file, parsed."""

    slug: str
    language: str
    title: str
    category_slug: str | None
    intents: tuple[str, ...]
    summary: str
    keywords: tuple[str, ...]
    key_steps: tuple[str, ...]
    body_markdown: str


def content_digest(
    *,
    title: str,
    summary: str,
    body_markdown: str,
    keywords: Iterable[str],
    key_steps: Iterable[str],
    intents: Iterable[str],
    category_slug: str | None,
) -> str:
    """SHA-256 of the fields an article file sets, in a canonical JSON form."""
    payload = json.dumps(
        {
            "title": _lf(title),
            "summary": _lf(summary),
            "body": _lf(body_markdown).strip(),
            "keywords": [_lf(k) for k in keywords],
            "key_steps": [_lf(s) for s in key_steps],
            "intents": list(intents),
            "category": category_slug,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lf(text: str) -> str:
    # A browser's textarea sends CRLF: saving an article unchanged in the admin is no edit.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def article_digest(article: Article) -> str:
    """The digest of a row's current content, comparable with what the loader recorded."""
    return content_digest(
        title=article.title,
        summary=article.summary,
        body_markdown=article.body_markdown,
        keywords=article.keywords or [],
        key_steps=article.key_steps or [],
        intents=article.intents or [],
        category_slug=article.category.slug if article.category else None,
    )


def _str_list(value: Any, *, name: str, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ContentError(f"{path.name}: {name} must be a list")
    return tuple(str(item).strip() for item in value if str(item).strip())


def parse_file(path: Path) -> ArticleSource:
    """Parse one file; the slug and language in the front matter must match the file name."""
    match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
    if match is None:
        raise ContentError(f"{path.name}: no YAML front matter")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: invalid front matter: {exc}") from exc
    stem_slug, _, stem_language = path.name.removesuffix(".md").rpartition(".")
    slug = str(meta.get("slug") or stem_slug)
    language = str(meta.get("language") or stem_language)
    if (slug, language) != (stem_slug, stem_language):
        raise ContentError(f"{path.name}: front matter says {slug}.{language}")
    if language not in Language.values:
        raise ContentError(f"{path.name}: unknown language {language!r}")
    title = str(meta.get("title") or "").strip()
    if not title:
        raise ContentError(f"{path.name}: missing title")
    return ArticleSource(
        slug=slug,
        language=language,
        title=title,
        category_slug=str(meta["category"]) if meta.get("category") else None,
        intents=_str_list(meta.get("intents"), name="intents", path=path),
        summary=str(meta.get("summary") or "").strip(),
        keywords=_str_list(meta.get("keywords"), name="keywords", path=path),
        key_steps=_str_list(meta.get("key_steps"), name="key_steps", path=path),
        body_markdown=match.group(2).strip() + "\n",
    )


def load_sources(directory: Path | None = None) -> list[ArticleSource]:
    """Every article file in ``directory`` (the bundled content by default), sorted."""
    folder = directory or CONTENT_DIR
    return [parse_file(path) for path in sorted(folder.glob("*.md"))]
