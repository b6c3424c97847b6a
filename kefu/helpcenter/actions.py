"""State changes of the help centre. Views, the API, the admin and the loaders call these.

Every change to an article makes the search index of every process stale once its
transaction commits (:func:`kefu.helpcenter.search.invalidate_index`, through the model
signals in ``signals.py`` so that admin saves count the same as these actions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.audit.actions import do_record
from kefu.helpcenter.content import ArticleSource, article_digest, content_digest, load_sources
from kefu.helpcenter.models import Article, ArticleFeedback, Language, SearchMiss
from kefu.tickets.models import Category

# Fields an editor may change through do_update_article (counters and digests are not).
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "summary",
        "body_markdown",
        "keywords",
        "key_steps",
        "intents",
        "category",
        "is_published",
    }
)


def _clean_list(values: Iterable[Any] | None) -> list[str]:
    return [str(v).strip() for v in values or () if str(v).strip()]


def _validate(article: Article) -> None:
    errors: dict[str, list[str]] = {}
    if not article.title.strip():
        errors["title"] = [_("An article needs a title.")]
    if not article.body_markdown.strip():
        errors["body_markdown"] = [_("An article needs a body.")]
    if article.language not in Language.values:
        errors["language"] = [_("Unknown language.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def do_create_article(
    *,
    slug: str,
    language: str,
    title: str,
    body_markdown: str,
    summary: str = "",
    keywords: Iterable[str] = (),
    key_steps: Iterable[str] = (),
    intents: Iterable[str] = (),
    category: Category | None = None,
    is_published: bool = True,
    actor: User | None = None,
) -> Article:
    """Create an article in one language. Raises ``ValidationError`` on a duplicate slug."""
    article = Article(
        slug=slug.strip(),
        language=language,
        title=title.strip(),
        summary=summary.strip(),
        body_markdown=body_markdown,
        keywords=_clean_list(keywords),
        key_steps=_clean_list(key_steps),
        intents=_clean_list(intents),
        category=category,
        is_published=is_published,
    )
    _validate(article)
    if Article.objects.filter(slug=article.slug, language=language).exists():
        raise ValidationError({"slug": [_("An article with this slug already exists in this language.")]})
    article.save()
    do_record(
        actor=actor,
        action="article.created",
        target_type="article",
        target_id=str(article.public_id),
        data={"slug": article.slug, "language": language},
    )
    return article


@transaction.atomic
def do_update_article(*, article: Article, actor: User | None = None, **changes: Any) -> Article:
    """Change editable fields (``title=``, ``body_markdown=``, ``is_published=``…)."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    changed = []
    for name, value in changes.items():
        if name in ("keywords", "key_steps", "intents"):
            value = _clean_list(value)
        elif isinstance(value, str) and name != "body_markdown":
            value = value.strip()
        if getattr(article, name) != value:
            setattr(article, name, value)
            changed.append(name)
    if not changed:
        return article
    _validate(article)
    article.save(update_fields=[*changed, "updated_at"])
    do_record(
        actor=actor,
        action="article.updated",
        target_type="article",
        target_id=str(article.public_id),
        data={"slug": article.slug, "language": article.language, "fields": sorted(changed)},
    )
    return article


def do_set_article_published(*, article: Article, published: bool, actor: User | None = None) -> Article:
    """Publish or unpublish; an unpublished article disappears from pages, search and the bot."""
    return do_update_article(article=article, actor=actor, is_published=published)


@transaction.atomic
def do_delete_article(*, article: Article, actor: User | None = None) -> None:
    """Delete an article in one language, with its feedback."""
    do_record(
        actor=actor,
        action="article.deleted",
        target_type="article",
        target_id=str(article.public_id),
        data={"slug": article.slug, "language": article.language},
    )
    article.delete()


# --- feedback ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackResult:
    """The vote as stored now, and the article's counters after it."""

    helpful: bool
    created: bool
    changed: bool
    helpful_count: int
    unhelpful_count: int


def _counter(helpful: bool) -> str:
    return "helpful_count" if helpful else "unhelpful_count"


def do_record_feedback(
    *, article: Article, helpful: bool, user: User | None, session_key: str | None
) -> FeedbackResult:
    """Record a reader's "was this helpful?" vote: one per signed-in user, else per session.

    Voting again with the same answer changes nothing; the other answer moves the vote. The
    counters change with ``F()`` updates in the same transaction as the vote row, so they stay
    equal to the votes however many readers vote at once.
    """
    if user is not None and not user.is_authenticated:
        user = None
    if user is None and not session_key:
        raise ValidationError(_("Your vote could not be recorded; please enable cookies."))
    voter: dict[str, User | str | None] = (
        {"user": user} if user is not None else {"user": None, "session_key": session_key}
    )
    try:
        with transaction.atomic():
            return _record_vote(article=article, helpful=helpful, voter=voter)
    except IntegrityError:
        # Two first votes of one reader raced and the other insert won; the retry finds that
        # row and treats this vote as a change to it.
        with transaction.atomic():
            return _record_vote(article=article, helpful=helpful, voter=voter)


def _record_vote(*, article: Article, helpful: bool, voter: dict[str, Any]) -> FeedbackResult:
    vote = ArticleFeedback.objects.select_for_update().filter(article=article, **voter).first()
    created = changed = False
    if vote is None:
        ArticleFeedback.objects.create(article=article, helpful=helpful, **voter)
        Article.objects.filter(pk=article.pk).update(**{_counter(helpful): F(_counter(helpful)) + 1})
        created = True
    elif vote.helpful != helpful:
        vote.helpful = helpful
        vote.save(update_fields=["helpful", "updated_at"])
        Article.objects.filter(pk=article.pk).update(
            **{
                _counter(helpful): F(_counter(helpful)) + 1,
                _counter(not helpful): F(_counter(not helpful)) - 1,
            }
        )
        changed = True
    helpful_count, unhelpful_count = Article.objects.filter(pk=article.pk).values_list(
        "helpful_count", "unhelpful_count"
    )[0]
    article.helpful_count, article.unhelpful_count = helpful_count, unhelpful_count
    return FeedbackResult(
        helpful=helpful,
        created=created,
        changed=changed,
        helpful_count=helpful_count,
        unhelpful_count=unhelpful_count,
    )


# --- loading the bundled articles ----------------------------------------------------------


@dataclass
class SyncReport:
    """What :func:`sync_articles_from_content` did, as ``slug.language`` names."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"Help centre: {len(self.created)} articles created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged."
        ]
        if self.kept_edited:
            out.append("  Kept admin edits of: " + ", ".join(self.kept_edited))
        return out


def _target_digest(source: ArticleSource, category: Category | None) -> str:
    # What the row will hold: a category the database lacks (not seeded yet) is stored empty,
    # and the digest must say so, or the row would look edited once the category appears.
    return content_digest(
        title=source.title,
        summary=source.summary,
        body_markdown=source.body_markdown,
        keywords=source.keywords,
        key_steps=source.key_steps,
        intents=source.intents,
        category_slug=category.slug if category else None,
    )


def _apply_source(article: Article, source: ArticleSource, category: Category | None) -> None:
    article.title = source.title
    article.summary = source.summary
    article.body_markdown = source.body_markdown
    article.keywords = list(source.keywords)
    article.key_steps = list(source.key_steps)
    article.intents = list(source.intents)
    article.category = category
    article.source_hash = _target_digest(source, category)


@transaction.atomic
def sync_articles_from_content(*, directory: Path | None = None) -> SyncReport:
    """Upsert the bundled article files by (slug, language). Idempotent.

    A row is only overwritten while its content still matches the file it was loaded from
    (``source_hash``); a row an admin has edited since is kept and reported. Publication state
    is never touched, so an article an admin unpublished stays unpublished.
    """
    report = SyncReport()
    sources = load_sources(directory)
    categories = Category.objects.in_bulk(
        {s.category_slug for s in sources if s.category_slug}, field_name="slug"
    )
    existing = {
        (a.slug, a.language): a
        for a in Article.objects.select_related("category").filter(slug__in={s.slug for s in sources})
    }
    for source in sources:
        name = f"{source.slug}.{source.language}"
        category = categories.get(source.category_slug) if source.category_slug else None
        article = existing.get((source.slug, source.language))
        if article is None:
            article = Article(slug=source.slug, language=source.language)
            _apply_source(article, source, category)
            article.save()
            report.created.append(name)
        elif article.source_hash == _target_digest(source, category):
            report.unchanged.append(name)
        elif article_digest(article) == article.source_hash:
            _apply_source(article, source, category)
            article.save()
            report.updated.append(name)
        else:
            report.kept_edited.append(name)
    if report.created or report.updated:
        do_record(
            actor=None,
            action="article.synced",
            target_type="article",
            target_id="content",
            data={"created": len(report.created), "updated": len(report.updated)},
        )
    return report


# How long searches without results are kept, and how many distinct ones a day (a flood of
# random queries cannot grow the table without bound).
SEARCH_MISS_DAYS = 90
SEARCH_MISS_ROWS_PER_DAY = 2000


def do_record_search_miss(*, query: str, language: str) -> None:
    """Count a reader's search that found nothing. ``query`` must already have passed the
    secret guard (the search views search with the redacted text and pass that). One UPDATE
    for a query seen today; the first of a day also deletes the rows past retention."""
    text = " ".join(query.split()).casefold()[:200]
    if not text:
        return
    now = timezone.now()
    day = timezone.localdate(now)
    key = {"day": day, "language": language[:10], "query": text}
    if SearchMiss.objects.filter(**key).update(searches=F("searches") + 1, last_searched_at=now):
        return
    if SearchMiss.objects.filter(day=day).count() >= SEARCH_MISS_ROWS_PER_DAY:
        return
    try:
        with transaction.atomic():
            SearchMiss.objects.create(**key, last_searched_at=now)
    except IntegrityError:  # the same query, at the same moment, from another request
        SearchMiss.objects.filter(**key).update(searches=F("searches") + 1, last_searched_at=now)
        return
    SearchMiss.objects.filter(day__lt=day - timedelta(days=SEARCH_MISS_DAYS)).delete()
