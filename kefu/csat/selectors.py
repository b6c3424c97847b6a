"""Reads of satisfaction surveys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Q
from django.urls import reverse
from django.utils import timezone

from kefu.csat.models import CsatSurvey
from kefu.tickets.models import Status, Ticket


def survey_days() -> float:
    """How long a survey link stays open (``KEFU_CHAT_CSAT_DAYS``, for chats and tickets)."""
    return float(settings.KEFU_CHAT_CSAT_DAYS)


def csat_summary(*, days: int = 30) -> dict[str, Any]:
    """Answered surveys of the last ``days``: average, distribution, per agent, latest comments."""
    since = timezone.now() - timedelta(days=days)
    answered = CsatSurvey.objects.filter(answered_at__gte=since, rating__isnull=False)
    overall = answered.aggregate(avg=Avg("rating"), n=Count("id"))
    distribution = {row["rating"]: row["n"] for row in answered.values("rating").annotate(n=Count("id"))}
    per_agent = (
        answered.filter(agent__isnull=False)
        .values("agent__email", "agent__display_name")
        .annotate(avg=Avg("rating"), n=Count("id"))
        .order_by("-n")[:50]
    )
    sent = CsatSurvey.objects.filter(created_at__gte=since).count()
    return {
        "days": days,
        "answered": overall["n"] or 0,
        "sent": sent,
        "average": round(overall["avg"], 2) if overall["avg"] is not None else None,
        "distribution": [distribution.get(r, 0) for r in range(1, 6)],
        "per_agent": [
            {
                "name": row["agent__display_name"] or row["agent__email"],
                "average": round(row["avg"], 2),
                "count": row["n"],
            }
            for row in per_agent
        ],
        "comments": list(
            answered.exclude(comment="")
            .select_related("agent", "ticket", "conversation")
            .order_by("-answered_at")[:20]
        ),
    }


def access_survey(token: str) -> CsatSurvey | None:
    if not token or len(token) > 64:
        return None
    return CsatSurvey.objects.select_related("agent", "ticket", "conversation").filter(token=token).first()


def chat_survey(conversation_id: int) -> CsatSurvey | None:
    """The survey of a closed chat (None: nobody served it, or it has no customer)."""
    return CsatSurvey.objects.filter(conversation_id=conversation_id).first()


def ticket_survey(ticket: Ticket) -> CsatSurvey | None:
    """The survey that rates the ticket's current resolution: this resolution's (answered or
    not), else a still open one from an earlier resolution (one rating is enough)."""
    current = Q(answered_at__isnull=True, expires_at__gt=timezone.now())
    if ticket.resolved_at is not None:
        current |= Q(created_at__gte=ticket.resolved_at)
    return (
        CsatSurvey.objects.filter(ticket=ticket, conversation__isnull=True)
        .filter(current)
        .order_by("-created_at")
        .first()
    )


@dataclass(frozen=True)
class TicketRating:
    """What the customer's page of a solved ticket offers: the survey so far, and whether it can
    still be answered (the mail's link and the page share the survey and the rules)."""

    survey: CsatSurvey | None
    open: bool


def ticket_rating(ticket: Ticket) -> TicketRating | None:
    """None unless the ticket is solved (resolved); a rating window of ``KEFU_CHAT_CSAT_DAYS``."""
    if ticket.status != Status.RESOLVED:
        return None
    now = timezone.now()
    survey = ticket_survey(ticket)
    if survey is not None:
        return TicketRating(survey=survey, open=survey.expires_at > now)
    window = timedelta(days=survey_days())
    return TicketRating(survey=None, open=ticket.resolved_at is None or ticket.resolved_at + window > now)


def survey_url(survey: CsatSurvey) -> str:
    """The survey's path (``csat:survey``); prefix ``KEFU_BASE_URL`` for mail."""
    return reverse("csat:survey", args=[survey.token])
