"""Admin for articles (with a live preview of the sanitised HTML) and announcements.

Saving here goes through ``Model.save()``/``delete()``, whose signals refresh the search index
of every process, exactly like the actions do.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from kefu.helpcenter import actions
from kefu.helpcenter.models import Announcement, Article
from kefu.helpcenter.rendering import render_markdown
from kefu.httptypes import user_or_none

PREVIEW_MAX_CHARS = 100_000


class ArticleForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = [
            "slug",
            "language",
            "title",
            "category",
            "is_published",
            "summary",
            "key_steps",
            "body_markdown",
            "keywords",
            "intents",
        ]

    def clean_body_markdown(self) -> str:
        # Browsers send CRLF from a textarea; store the file convention so diffs stay clean.
        return self.cleaned_data["body_markdown"].replace("\r\n", "\n")


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleForm
    list_display = [
        "title",
        "slug",
        "language",
        "category",
        "is_published",
        "helpful_count",
        "unhelpful_count",
        "helpfulness",
        "updated_at",
    ]
    list_filter = ["language", "is_published", "category"]
    search_fields = ["title", "slug", "summary"]
    list_select_related = ["category"]
    readonly_fields = ["public_id", "helpful_count", "unhelpful_count", "created_at", "updated_at", "preview"]
    fieldsets = [
        (None, {"fields": ["slug", "language", "title", "category", "is_published"]}),
        (_("Content"), {"fields": ["summary", "key_steps", "body_markdown", "preview"]}),
        (_("Search and bot"), {"fields": ["keywords", "intents"]}),
        (
            _("Feedback"),
            {"fields": ["helpful_count", "unhelpful_count", "public_id", "created_at", "updated_at"]},
        ),
    ]
    actions = ["publish", "unpublish"]

    class Media:
        js = ["helpcenter/admin-preview.js"]

    @admin.display(description=_("helpful %"))
    def helpfulness(self, obj: Article) -> str:
        votes = obj.helpful_count + obj.unhelpful_count
        return f"{100 * obj.helpful_count / votes:.0f}% ({votes})" if votes else "–"

    @admin.display(description=_("preview"))
    def preview(self, obj: Article | None) -> str:
        return format_html(
            '<div id="hc-preview" class="hc-body" data-url="{}" style="max-width:760px">{}</div>',
            reverse("admin:helpcenter_article_preview"),
            render_markdown(obj.body_markdown if obj else ""),
        )

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="helpcenter_article_preview",
            )
        ]
        return own + super().get_urls()

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """Render unsaved Markdown for the preview pane (POST, CSRF-checked, editors only)."""
        return _preview(request, self)

    @admin.action(description=_("Publish selected articles"))
    def publish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._set_published(request, queryset, True)

    @admin.action(description=_("Unpublish selected articles"))
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._set_published(request, queryset, False)

    def _set_published(self, request: HttpRequest, queryset: QuerySet[Article], published: bool) -> None:
        # One action per article (not QuerySet.update) so the index refresh and audit happen.
        for article in queryset:
            actions.do_set_article_published(article=article, published=published, actor=user_or_none(request))
        self.message_user(
            request,
            gettext("{count} articles updated.").format(count=queryset.count()),
            messages.SUCCESS,
        )


@require_POST
def _preview(request: HttpRequest, model_admin: ArticleAdmin) -> HttpResponse:
    if not (model_admin.has_change_permission(request) or model_admin.has_add_permission(request)):
        raise PermissionDenied
    text = request.POST.get("body_markdown", "")[:PREVIEW_MAX_CHARS]
    return JsonResponse({"html": str(render_markdown(text))})


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ["title_zh", "title_en", "kind", "starts_at", "ends_at", "in_effect", "is_published"]
    list_filter = ["kind", "is_published"]
    search_fields = ["title_zh", "title_en"]
    readonly_fields = ["public_id", "created_at"]
    date_hierarchy = "starts_at"

    @admin.display(boolean=True, description=_("in effect"))
    def in_effect(self, obj: Announcement) -> bool:
        now = timezone.now()
        return obj.is_published and obj.starts_at <= now and (obj.ends_at is None or obj.ends_at > now)
