"""CSAT reacts to events: a served chat's closure creates its survey; an answer is announced."""

from __future__ import annotations

import pytest
from django.db import transaction

from kefu import events
from kefu.chat.models import ChatConversation
from kefu.csat import actions, selectors
from kefu.csat.models import CsatSurvey
from kefu.events import ChatClosed, SurveyAnswered

pytestmark = pytest.mark.django_db


def _close(conversation: ChatConversation, agent_id: int | None) -> None:
    with transaction.atomic():
        events.publish(ChatClosed(conversation=conversation, agent_id=agent_id, reason="resolved"))


def test_a_served_chat_closing_gets_one_survey_for_its_agent(alice, agent):
    """ChatClosed with the serving agent: one survey (a second closure event changes nothing)."""
    chat = ChatConversation.objects.create(customer=alice)
    _close(chat, agent.pk)
    _close(chat, agent.pk)
    survey = CsatSurvey.objects.get()
    assert (survey.conversation_id, survey.customer, survey.agent) == (chat.pk, alice, agent)
    assert selectors.chat_survey(chat.pk) == survey and survey.expires_at > survey.created_at


def test_a_chat_nobody_served_or_without_a_customer_gets_no_survey(alice, agent):
    _close(ChatConversation.objects.create(customer=alice), None)
    _close(ChatConversation.objects.create(customer=None), agent.pk)
    assert not CsatSurvey.objects.exists()


def test_the_survey_rolls_back_with_the_closing_transaction(alice, agent):
    chat = ChatConversation.objects.create(customer=alice)
    with pytest.raises(RuntimeError), transaction.atomic():
        _close(chat, agent.pk)
        raise RuntimeError("the close failed later")
    assert not CsatSurvey.objects.exists()


def test_answering_publishes_survey_answered(alice, agent):
    chat = ChatConversation.objects.create(customer=alice)
    _close(chat, agent.pk)
    seen: list[SurveyAnswered] = []
    events.subscribe(SurveyAnswered, seen.append, when=events.IN_TRANSACTION)
    try:
        actions.check_answer_survey(survey=CsatSurvey.objects.get(), rating="4", comment="ok")
    finally:
        events.unsubscribe(SurveyAnswered, seen.append, when=events.IN_TRANSACTION)
    [event] = seen
    assert event.rating == 4 and event.survey.conversation_id == chat.pk


def test_every_ticket_resolution_gets_one_survey_even_without_mail(settings, alice, agent):
    """CSAT subscribes to resolution itself: no customer mail configured, still one survey per
    resolution (a second status event for the same resolution changes nothing)."""
    from kefu.tickets import actions as ticket_actions
    from kefu.tickets.models import Category, Status, Ticket

    settings.KEFU_MAIL_NOTIFICATIONS = False  # no resolution mail asks for a survey
    ticket = Ticket.objects.create(
        customer=alice, category=Category.objects.get(slug="deposit-not-credited"), title="没到账"
    )
    ticket_actions.do_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    survey = CsatSurvey.objects.get(ticket=ticket)
    assert (survey.customer, survey.conversation_id) == (alice, None)
    assert selectors.ticket_survey(ticket) == survey
    ticket_actions.do_reopen(ticket=ticket, actor=alice)
    assert CsatSurvey.objects.filter(ticket=ticket).count() == 1
    ticket_actions.do_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    assert (
        CsatSurvey.objects.filter(ticket=ticket).count() == 1
    )  # the first is still open: one rating is enough
