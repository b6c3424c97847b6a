"""Help centre (帮助中心): articles per language, readers' feedback, and announcements."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


def _segment_except(word: str) -> str:
    """Any URL path segment but ``word``, without look-ahead (the API's schema is checked by
    engines that have none: pydantic's, the fuzzer's): another length, or a first position
    where it differs. Anything else unknown stays a 404, not a validation error."""
    n = len(word)
    choices = [f"[^/]{{1,{n - 1}}}", f"[^/]{{{n + 1},}}"]
    for i, letter in enumerate(word):
        rest = n - i - 1
        choices.append(word[:i] + f"[^/{letter}]" + (f"[^/]{{{rest}}}" if rest else ""))
    return "^(?:" + "|".join(choices) + ")$"


# "search" is taken by the search endpoint (/api/v1/articles/search), so it cannot be a slug.
ARTICLE_SLUG_PATTERN = _segment_except("search")
_slug_not_reserved = RegexValidator(
    ARTICLE_SLUG_PATTERN, _("“search” is reserved: choose another slug.")
)


class Article(models.Model):
    """One article in one language. The same ``slug`` in both languages is one topic."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(_("slug"), max_length=100, validators=[_slug_not_reserved])
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)
    body_markdown = models.TextField(_("body (Markdown)"))
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    key_steps = models.JSONField(_("key steps"), default=list, blank=True)
    intents = models.JSONField(
        _("bot intents"), default=list, blank=True, help_text=_("Bot intents this article answers.")
    )
    category = models.ForeignKey(
        "tickets.Category",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
        verbose_name=_("category"),
    )
    is_published = models.BooleanField(_("published"), default=True)
    helpful_count = models.PositiveIntegerField(_("helpful"), default=0, editable=False)
    unhelpful_count = models.PositiveIntegerField(_("not helpful"), default=0, editable=False)
    # Digest of the content file this row was last loaded from. The loader only overwrites a
    # row whose fields still hash to this value, i.e. one no admin has edited since.
    source_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["slug", "language"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "language"], name="article_slug_language"),
        ]
        # The home page lists published articles of one language grouped by category.
        indexes = [
            models.Index(fields=["language", "is_published", "category"], name="article_language_category"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class ArticleFeedback(models.Model):
    """One reader's "was this helpful?" vote. Voting again changes the vote, never adds one."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("helpful"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    # Anonymous readers are told apart by their session; signed-in readers by their account.
    session_key = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "user"], condition=Q(user__isnull=False), name="feedback_one_per_user"
            ),
            models.UniqueConstraint(
                fields=["article", "session_key"],
                condition=Q(user__isnull=True),
                name="feedback_one_per_session",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(session_key=""), name="feedback_has_voter"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_id}: {'+' if self.helpful else '-'}"


class AnnouncementKind(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance")
    INCIDENT = "incident", _("Incident")
    NOTICE = "notice", _("Notice")


class Announcement(models.Model):
    """A time-boxed notice: maintenance, an incident, or general news, in both languages."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(
        _("kind"), max_length=16, choices=AnnouncementKind.choices, default=AnnouncementKind.NOTICE
    )
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    body_zh = models.TextField(_("text (Chinese)"), blank=True)
    body_en = models.TextField(_("text (English)"), blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True, help_text=_("Empty: open-ended."))
    coins = models.JSONField(
        _("coins"), default=list, blank=True, help_text=_('Affected coins, e.g. ["ETH", "USDT"].')
    )
    networks = models.JSONField(
        _("networks"), default=list, blank=True, help_text=_('Affected networks, e.g. ["ERC-20"].')
    )
    is_published = models.BooleanField(_("published"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["is_published", "starts_at", "ends_at"], name="announcement_window")]

    def __str__(self) -> str:
        return self.title_zh

    def title_for(self, language: str | None) -> str:
        return self.title_en if (language or "").startswith("en") else self.title_zh

    def body_for(self, language: str | None) -> str:
        return self.body_en if (language or "").startswith("en") else self.body_zh


class SearchMiss(models.Model):
    """Readers' help-centre searches that found nothing, for the reports: one row per day,
    language and query, with how many times it was searched. The query is the text after the
    secret guard (what the search itself used), normalised; nothing identifies the reader.
    Bounded: rows older than ``SEARCH_MISS_DAYS`` are deleted, and at most
    ``SEARCH_MISS_ROWS_PER_DAY`` distinct queries are kept per day (more are only counted as
    repeats of ones already kept) — see :func:`kefu.helpcenter.actions.do_record_search_miss`."""

    day = models.DateField(_("day"))
    language = models.CharField(_("language"), max_length=10)
    query = models.CharField(_("query"), max_length=200)
    searches = models.PositiveIntegerField(_("searches"), default=1)
    last_searched_at = models.DateTimeField(_("last searched at"))

    class Meta:
        verbose_name = _("search without results")
        verbose_name_plural = _("searches without results")
        constraints = [
            models.UniqueConstraint(fields=["day", "language", "query"], name="helpcenter_search_miss_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.language} {self.query}"
