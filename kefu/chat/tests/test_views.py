"""Pages: CSAT by token, the agent console and supervisor view (who may see them), hours, embed."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kefu.chat import actions
from kefu.chat.tests.conftest import queued_chat, set_online
from kefu.conftest import login, make_user
from kefu.csat import actions as csat_actions
from kefu.csat.models import CsatSurvey

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_customer_rates_a_chat_by_its_token_without_signing_in(alice, client):
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice)
    actions.do_close(conversation=chat, actor=agent, reason="resolved")
    survey = CsatSurvey.objects.get(conversation=chat)
    url = reverse("csat:survey", args=[survey.token])
    assert client.get(url).status_code == 200
    response = client.post(url, {"rating": "0"})
    assert response.status_code == 200 and CsatSurvey.objects.get(pk=survey.pk).rating is None
    response = client.post(url, {"rating": "4", "comment": "不错"})
    assert response.status_code == 200
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (4, "不错")
    assert client.get(reverse("csat:survey", args=["not-a-token"])).status_code == 404


def test_a_resolved_ticket_gets_a_survey_too(alice, client):
    from kefu.tickets.actions import check_create_ticket
    from kefu.tickets.models import Category

    ticket = check_create_ticket(
        customer=alice,
        category=Category.objects.get(slug="otp"),
        title="收不到验证码",
        description="短信收不到",
    ).ticket
    survey = csat_actions.do_create_ticket_survey(ticket=ticket)
    assert csat_actions.do_create_ticket_survey(ticket=ticket).pk == survey.pk
    response = client.post(reverse("csat:survey", args=[survey.token]), {"rating": "5"})
    assert response.status_code == 200 and CsatSurvey.objects.get(pk=survey.pk).rating == 5
    CsatSurvey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(reverse("csat:survey", args=[survey.token]), {"rating": "1"}).status_code == 200
    assert CsatSurvey.objects.get(pk=survey.pk).rating == 5  # an expired link changes nothing


def test_the_console_is_for_staff_and_the_supervisor_view_for_supervisors(alice, agent, supervisor):
    assert login(alice).get(reverse("chat:workspace")).status_code == 404
    assert login(agent).get(reverse("chat:workspace")).status_code == 200
    assert login(agent).get(reverse("chat:supervisor")).status_code == 404
    page = login(supervisor).get(reverse("chat:supervisor"))
    assert page.status_code == 200 and "sv-teams" in page.content.decode()


def test_supervisors_see_queues_load_and_csat_and_can_reassign(alice, supervisor):
    first = make_user("a1@example.com", "agent", ("assets",))
    second = make_user("a2@example.com", "agent", ("assets",))
    set_online(first)
    chat = queued_chat(alice)
    survey = csat_actions.do_create_ticket_survey(ticket=_ticket(alice))
    csat_actions.check_answer_survey(survey=survey, rating=2, comment="太慢了")
    page = login(supervisor).get(reverse("chat:supervisor")).content.decode()
    assert "a1@example.com" in page and "太慢了" in page
    response = login(supervisor).post(
        reverse("chat:reassign"), {"conversation": chat.public_id.hex, "agent": str(second.public_id)}
    )
    assert response.status_code == 302
    chat.refresh_from_db()
    assert chat.assignee == second


def _ticket(customer):
    from kefu.tickets.actions import check_create_ticket
    from kefu.tickets.models import Category

    return check_create_ticket(
        customer=customer, category=Category.objects.get(slug="otp"), title="验证码", description="收不到"
    ).ticket


def test_service_hours_page_shows_the_hotlines_hours_holidays_and_reduced_staff(client):
    """The phone line's hours are its voice inbox's calendar (what the hotline answers by); the
    default chat calendar is 24/7 and says so."""
    from django.utils.translation import gettext, override

    from kefu.chat.tests.conftest import business_calendar, service_hours
    from kefu.inbox.models import Inbox

    service_hours("chat", always_open=True)  # as migrations leave it (flushed by other tests here)

    soon = timezone.localdate() + timedelta(days=3)
    hotline = business_calendar(
        weekly={day: (time(9), time(21)) for day in range(7)},
        days=({"date": soon, "kind": "open", "note": "中秋节", "note_en": "Mid-Autumn", "reduced_staff": True},),
    )
    Inbox.objects.update_or_create(kind="voice", name="Hotline", defaults={"calendar": hotline})
    page = client.get(reverse("chat:hours"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    phone = page[page.index('data-channel="phone"') :]
    assert "中秋节" in phone and "09:00–21:00" in phone
    chat = page[page.index('data-channel="chat"') : page.index('data-channel="phone"')]
    with override("zh-hans"):
        assert gettext("Around the clock, every day.") in chat


def test_embed_script_uses_absolute_urls(client, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "support.example"]
    body = client.get(reverse("chat:embed"), HTTP_HOST="support.example").content.decode()
    assert "http://support.example/static/kefu/bot-panel.js" in body
    assert "http://support.example/ws/chat/" in body
