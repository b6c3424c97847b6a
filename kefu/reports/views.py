"""The reports page (supervisors and admins): the summary's figures with their definitions on
hover, and charts drawn by ECharts, shipped as a static file (no CDN). Thin: parse the period,
read :mod:`kefu.reports.metrics`, shape labels."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kefu.durations import format_duration
from kefu.httptypes import user_or_none
from kefu.reports import metrics
from kefu.sla.models import TimerKind
from kefu.tickets.models import Category, Channel


def _day(text: str | None) -> date | None:
    try:
        day = parse_date(text or "")
    except ValueError:
        return None
    return day if day is not None and metrics.plausible(day) else None


def _period(request: HttpRequest) -> tuple[date, date, str]:
    """The form's first and last day (both inclusive, site time zone) and an error, if any."""
    today = timezone.localdate()
    first, last = today - timedelta(days=metrics.DEFAULT_DAYS - 1), today
    error = ""
    given_first, given_last = _day(request.GET.get("since")), _day(request.GET.get("until"))
    if (request.GET.get("since") and given_first is None) or (
        request.GET.get("until") and given_last is None
    ):
        error = _("Enter dates as YYYY-MM-DD.")
    elif given_first or given_last:
        first, last = given_first or first, given_last or last
        if first > last:
            error = _("The end must be after the start.")
            first, last = today - timedelta(days=metrics.DEFAULT_DAYS - 1), today
    return first, last, error


def _labels(values: dict[str, int], names: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": key, "name": names.get(key, key), "value": count} for key, count in values.items()]


@login_required
def summary_page(request: HttpRequest) -> HttpResponse:
    user = user_or_none(request)
    if user is None or not user.is_supervisor:
        raise Http404
    first, last, error = _period(request)
    window = metrics.Window(
        since=timezone.make_aware(datetime.combine(first, time.min)),
        until=timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min)),
    )
    figures = metrics.summary(window)
    language = get_language()
    created = figures["tickets_created"]
    categories = {
        c.slug: c.localized_name(language)
        for c in Category.objects.filter(slug__in=list(created["by_category"]))
    }
    channels = {value: str(label) for value, label in Channel.choices}
    targets = {value: str(label) for value, label in TimerKind.choices}
    definitions = metrics.definitions()
    reply = figures["first_reply_seconds"]
    csat = figures["csat"]
    cards = [
        {"key": "tickets_created", "value": created["total"], "detail": ""},
        {
            "key": "first_reply_seconds",
            "value": format_duration(reply["median"]),
            "detail": _("median; 90th percentile {p90}; {count} tickets").format(
                p90=format_duration(reply["p90"]), count=reply["count"]
            ),
        },
        {
            "key": "sla",
            "value": _("{met} met / {breached} breached").format(**figures["sla"]),
            "detail": "",
        },
        {
            "key": "csat",
            "value": _("{positive} of {responses} positive").format(**csat),
            "detail": _("{sent} surveys sent").format(sent=csat["sent"]),
        },
    ]
    for card in cards:
        card.update(definitions[card["key"]])
    charts = {
        "by_channel": _labels(created["by_channel"], channels),
        "by_category": _labels(created["by_category"], categories),
        "sla": [
            {"name": targets.get(kind, kind), "met": counts["met"], "breached": counts["breached"]}
            for kind, counts in figures["sla"]["by_target"].items()
        ],
        "labels": {"tickets": _("Tickets"), "met": _("Met"), "breached": _("Breached")},
    }
    return render(
        request,
        "reports/summary.html",
        {
            "cards": cards,
            "charts": charts,
            "first": first,
            "last": last,
            "error": error,
            "definitions": definitions,
        },
    )
