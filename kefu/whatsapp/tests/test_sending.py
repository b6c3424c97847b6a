"""Sending on WhatsApp against the local Graph API: text, buttons and lists, provider errors
(429 and 5xx retried with back-off, 131047 failed at once with the reason), the 24-hour window
(an agent's free text refused outside it, the draft kept) and approved templates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from mnemonic import Mnemonic

from kefu.conftest import bearer, login
from kefu.inbox import pipeline
from kefu.inbox.models import DeliveryStatus, InboundEvent, OutboundDelivery
from kefu.tickets.actions import check_add_message
from kefu.tickets.models import Message, Ticket
from kefu.whatsapp.models import Template, TemplateMessage, TemplateStatus
from kefu.whatsapp.tests import fake_graph as fg
from kefu.whatsapp.tests.conftest import APP_SECRET
from kefu.whatsapp.tests.helpers import inbox, message_with_options, post_webhook, settle

pytestmark = pytest.mark.django_db

PHRASE = Mnemonic("english").to_mnemonic(bytes(range(96, 112)))


@pytest.fixture
def case(graph, alice, agent) -> Ticket:
    """A WhatsApp case of a linked customer, in the agent's queue."""
    pipeline.identify(inbox(), address="+16505551234", customer=alice)
    post_webhook(fg.inbound(fg.text("Where is my withdrawal?", wamid="wamid.C1")), secret=APP_SECRET)
    settle()
    ticket = Ticket.objects.get()
    agent.teams.add(ticket.team)
    return ticket


def _close_window(ticket: Ticket) -> None:
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(hours=24, minutes=1))


def _due_now() -> None:
    OutboundDelivery.objects.update(next_attempt_at=timezone.now())


def test_an_agents_reply_is_sent_as_text_to_the_customers_number_with_the_token(case, agent, graph):
    check_add_message(ticket=case, author=agent, body="It left an hour ago.")
    settle()
    [sent] = graph.sent()
    assert (
        sent["to"] == "16505551234"
        and sent["type"] == "text"
        and sent["text"]["body"] == "It left an hour ago."
    )
    assert sent["messaging_product"] == "whatsapp"
    call = [c for c in graph.calls if c.method == "POST"][0]
    assert (
        call.path == f"/{fg.PHONE_NUMBER_ID}/messages"
        and call.headers["Authorization"] == f"Bearer {graph.token}"
    )
    assert OutboundDelivery.objects.get().status == DeliveryStatus.SENT


@pytest.mark.parametrize(
    ("answer", "reason"), [((429, fg.RATE_LIMITED), "rate limited"), ((500, fg.SERVER_ERROR), "server error")]
)
def test_a_rate_limit_or_server_error_is_retried_with_back_off_and_then_sent(
    case, agent, graph, answer, reason
):
    graph.script.append(answer)
    check_add_message(ticket=case, author=agent, body="Checking now.")
    settle()
    delivery = OutboundDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (
        DeliveryStatus.QUEUED,
        1,
    ) and reason in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()
    settle()  # not due yet: nothing sent
    assert len(graph.sent()) == 1
    _due_now()
    settle()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.SENT, 2, "")
    assert len(graph.sent()) == 2  # one refused, one delivered: the customer got it once


def test_a_re_engagement_error_fails_the_delivery_at_once_with_the_reason(case, agent, graph):
    graph.script.append((400, fg.RE_ENGAGEMENT))
    check_add_message(ticket=case, author=agent, body="Are you still there?")
    settle()
    delivery = OutboundDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert "24-hour customer-service window" in delivery.last_error and "131047" in delivery.last_error


def test_quick_replies_become_buttons_up_to_three_and_a_list_beyond(case):
    from kefu.inbox.adapters.whatsapp import payload_for

    three = payload_for(
        message_with_options(case, ["Deposit", "Withdrawal", "A very long option label here"])
    )
    assert three["interactive"]["type"] == "button"
    buttons = three["interactive"]["action"]["buttons"]
    assert [b["reply"]["title"] for b in buttons] == ["Deposit", "Withdrawal", "A very long option …"]
    assert buttons[2]["reply"]["id"] == "A very long option label here"  # comes back as typed
    five = payload_for(message_with_options(case, ["a", "b", "c", "d", "e"]))
    assert five["interactive"]["type"] == "list"
    assert [r["title"] for r in five["interactive"]["action"]["sections"][0]["rows"]] == [
        "a",
        "b",
        "c",
        "d",
        "e",
    ]
    many = payload_for(message_with_options(case, [str(n) for n in range(12)]))
    assert many["type"] == "text" and "回复 12: 11" in many["text"]["body"]


def test_outside_the_window_an_agents_free_text_is_refused_and_the_draft_stays(case, agent, graph):
    _close_window(case)
    page = login(agent).post(
        reverse("tickets:workspace_ticket", args=[case.case_number]),
        {"action": "reply", "body": "Here is the answer you wanted"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "more than 24 hours ago" in html and "Here is the answer you wanted</textarea>" in html
    assert not Message.objects.filter(body__contains="answer you wanted").exists()
    assert not OutboundDelivery.objects.exists()
    api = bearer(agent, "zh-hans").post(
        f"/api/v1/tickets/{case.case_number}/messages",
        {"body": "still free text"},
        content_type="application/json",
    )
    assert api.status_code == 400 and "24 小时" in api.json()["errors"]["body"][0]
    # An internal note is no message to the customer: always allowed.
    check_add_message(ticket=case, author=agent, body="note to self", kind="internal")
    settle()
    assert graph.sent() == []


def test_the_composer_says_which_mode_applies_and_the_time_left(case, agent):
    url = reverse("tickets:workspace_ticket", args=[case.case_number])
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(hours=20, minutes=30))
    en = login(agent).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "window open: free text allowed, 3 h 29 min left" in en or "3 h 30 min left" in en
    zh = login(agent).get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "24 小时" in zh and "剩余" in zh
    _close_window(case)
    en = login(agent).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "window closed: only an approved template can be sent" in en


def test_an_approved_template_goes_out_outside_the_window_with_screened_parameters(case, agent, graph):
    template = Template.objects.create(
        name="case_update",
        language="en_US",
        body="Hello {{1}}, your case {{2}} has an update. Reply to continue.",
        status=TemplateStatus.APPROVED,
    )
    pending = Template.objects.create(
        name="promo", language="en_US", body="Hi", status=TemplateStatus.PENDING
    )
    _close_window(case)
    client = login(agent)
    url = reverse("whatsapp:send_template", args=[case.case_number])
    page = client.get(reverse("tickets:workspace_ticket", args=[case.case_number]), HTTP_ACCEPT_LANGUAGE="en")
    assert "case_update (en_US)" in page.content.decode() and "promo" not in page.content.decode()
    assert client.post(url, {"template": pending.pk}).status_code == 404
    missing = client.post(
        url, {"template": template.pk, "param1": "Alice"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Fill in all 2 parameters" in missing.content.decode()
    answer = client.post(
        url, {"template": template.pk, "param1": "Alice", "param2": f"{case.case_number} {PHRASE}"}
    )
    assert answer.status_code == 302
    settle()
    [sent] = graph.sent()
    assert sent["type"] == "template" and sent["template"]["name"] == "case_update"
    assert sent["template"]["language"] == {"code": "en_US"}
    params = [p["text"] for p in sent["template"]["components"][0]["parameters"]]
    assert params[0] == "Alice" and case.case_number in params[1]
    for word in PHRASE.split()[2:6]:  # the phrase never left, never stored
        assert word not in params[1]
    message = TemplateMessage.objects.get().message
    assert message.body.startswith("Hello Alice, your case") and PHRASE not in message.body
    assert OutboundDelivery.objects.get().status == DeliveryStatus.SENT


def test_a_template_must_be_named_and_numbered_as_meta_requires(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as named:
        Template(name="Case Update", language="en_US", body="Hi {{1}}").full_clean()
    assert "name" in named.value.message_dict
    with pytest.raises(ValidationError) as numbered:
        Template(name="case_update", language="en_US", body="Hi {{1}}, {{3}}").full_clean()
    assert "body" in numbered.value.message_dict
    good = Template(name="case_update", language="en_US", body="Hi {{1}}, case {{2}}")
    good.full_clean()
    assert good.param_count == 2 and good.render(["Ann", "KF-1"]) == "Hi Ann, case KF-1"
