"""State changes of satisfaction surveys: created when a conversation ends, answered by the customer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu import events
from kefu.accounts.models import User
from kefu.csat import selectors
from kefu.csat.models import CsatSurvey
from kefu.events import SurveyAnswered
from kefu.tickets.models import Ticket
from kefu.trust import guard


def do_create_chat_survey(
    *, conversation_id: int, customer_id: int, ticket_id: int | None, agent_id: int, team_id: int | None
) -> CsatSurvey:
    """The survey of a served chat, once per chat (called inside the closing transaction)."""
    survey, _created = CsatSurvey.objects.get_or_create(
        conversation_id=conversation_id,
        defaults={
            "customer_id": customer_id,
            "ticket_id": ticket_id,
            "agent_id": agent_id,
            "team_id": team_id,
            "expires_at": timezone.now() + timedelta(days=selectors.survey_days()),
        },
    )
    return survey


def do_create_ticket_survey(*, ticket: Ticket) -> CsatSurvey:
    """A survey for a resolved ticket (one per ticket and resolution); its URL is ``selectors.survey_url``.

    Returns the survey of this resolution if there is one (answered or not), else a still
    open one from an earlier resolution (one rating is enough), else a new one.
    """
    existing = selectors.ticket_survey(ticket)
    if existing is not None:
        return existing
    assert ticket.customer is not None, "a case without a known customer gets no survey"
    return CsatSurvey.objects.create(
        customer=ticket.customer,
        ticket=ticket,
        agent=ticket.assignee,
        team=ticket.team,
        expires_at=timezone.now() + timedelta(days=selectors.survey_days()),
    )


def check_rate_ticket(*, ticket: Ticket, customer: User, rating: Any, comment: str = "") -> CsatSurvey:
    """The customer rates their solved ticket on its page: the survey the resolution mail links
    to (created here when no mail was sent), answered under the same rules."""
    if ticket.customer_id != customer.pk:
        raise PermissionDenied
    state = selectors.ticket_rating(ticket)
    if state is None:
        raise ValidationError({"rating": [_("Only a solved ticket can be rated.")]})
    if not state.open:
        raise ValidationError({"rating": [_("This survey link has expired.")]})
    with transaction.atomic():
        survey = state.survey or do_create_ticket_survey(ticket=ticket)
        return check_answer_survey(survey=survey, rating=rating, comment=comment)


def check_answer_survey(*, survey: CsatSurvey, rating: Any, comment: str = "") -> CsatSurvey:
    """The customer's rating (1–5) and optional comment; may be changed until the link expires."""
    try:
        value = int(rating)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        raise ValidationError({"rating": [_("Please choose a rating from 1 to 5.")]})
    if survey.expires_at <= timezone.now():
        raise ValidationError({"rating": [_("This survey link has expired.")]})
    comment = guard.redact((comment or "").strip())[:2000]  # redact, then cut
    with transaction.atomic():
        CsatSurvey.objects.filter(pk=survey.pk).update(
            rating=value, comment=comment, answered_at=timezone.now()
        )
        survey.rating, survey.comment = value, comment
        events.publish(SurveyAnswered(survey=survey, rating=value))
    return survey
