"""A bot conversation is a case in the bot's stage; the hand-off opens that same case to humans.

Nobody is online for live chat here unless a test says so: hand-offs open the case to the team.
"""

from __future__ import annotations

import pytest
from django.http import Http404

from kefu.bot.models import BotConversation
from kefu.bot.tests.support import Chat
from kefu.conftest import bearer, login, make_user
from kefu.mail.models import OutboundMail
from kefu.sla.models import SlaPolicy, SlaTimer
from kefu.tickets import search, selectors
from kefu.tickets.models import Channel, Message, Priority, Sender, Status, Ticket, TicketSearch

pytestmark = pytest.mark.django_db

TX = "0x" + "ab12" * 16


def test_a_conversation_with_the_bot_is_one_case_numbered_turn_by_turn(alice):
    chat = Chat(alice)
    chat.say("我充值的USDT还没到账")
    chat.say("TRC20")
    case = Ticket.objects.get()
    assert chat.conversation.ticket == case
    assert (case.status, case.channel, case.customer, case.title) == (
        Status.BOT,
        Channel.BOT,
        alice,
        "我充值的USDT还没到账",
    )
    rows = list(case.messages.order_by("seq").values_list("seq", "sender", "author", "kind", "channel"))
    assert rows == [
        (1, Sender.CUSTOMER, alice.pk, "public", "bot"),
        (2, Sender.BOT, None, "public", "bot"),
        (3, Sender.CUSTOMER, alice.pk, "public", "bot"),
        (4, Sender.BOT, None, "public", "bot"),
    ]
    first = case.messages.get(seq=1)
    assert first.extra["intent"] == "deposit_not_credited" and 0 < first.extra["confidence"] <= 1
    assert case.messages.get(seq=2).extra["intent"] == "deposit_not_credited"
    case.refresh_from_db()
    assert case.last_seq == 4
    # Still the bot's: no clock, no acknowledgement mail, not in the search index.
    assert not SlaTimer.objects.filter(ticket=case).exists()
    assert not OutboundMail.objects.filter(ticket=case).exists()
    assert not TicketSearch.objects.filter(ticket=case).exists()


def test_the_hand_off_opens_the_same_case_to_the_team_with_a_summary_and_announces_it(alice, settings):
    settings.KEFU_MAIL_NOTIFICATIONS = True
    SlaPolicy.objects.create(name="All", first_reply_minutes=60, resolution_minutes=600)
    chat = Chat(alice)
    for text in ("我充值的USDT还没到账", "TRC20", "200", "两个小时前"):
        chat.say(text)
    reply = chat.say(TX)  # no TRC-20 node in tests: an agent must check it, so the case opens
    case = Ticket.objects.get()  # the same case: nothing filed beside it
    assert reply.handoff["case_number"] == case.case_number and case.case_number in reply.text
    assert case.status == Status.NEW and case.category.slug == "deposit-not-credited"
    assert case.team.slug == "assets" and case.priority == Priority.NORMAL
    assert (case.coin, case.network, case.amount_text, case.tx_hash) == ("USDT", "TRC-20", "200", TX)
    assert case.title.startswith("充值未到账") and "我充值的USDT还没到账" in case.title
    # The description sums up why and what is known; the conversation is the thread, not copied.
    assert "TRC-20" in case.description and "我充值的USDT还没到账" not in case.description
    assert "没有，还是没到" not in case.description
    assert case.messages.filter(body="我充值的USDT还没到账", seq=1).exists()
    handed = case.messages.get(extra__event="handed_off")
    assert (handed.sender, handed.kind) == (Sender.SYSTEM, "system")
    # Announced as a created case: SLA clocks, the acknowledgement mail, the search index.
    assert SlaTimer.objects.filter(ticket=case, kind="first_reply").exists()
    assert OutboundMail.objects.filter(ticket=case, kind="ack").count() == 1
    agent = make_user("assets@example.com", "agent", ("assets",))
    found = search.search_tickets(agent, "USDT")
    assert [hit.ticket.pk for hit in found.hits] == [case.pk]
    # Follow-ups keep going to the same case.
    again = chat.say("转人工")
    assert again.handoff["case_number"] == case.case_number and Ticket.objects.count() == 1


def test_urgent_topics_open_the_case_to_the_security_team_at_once(alice):
    reply = Chat(alice).say("我的账户被盗了，币被人转走了")
    case = Ticket.objects.get()
    assert reply.handoff["case_number"] == case.case_number
    assert case.status == Status.NEW and case.team.slug == "security" and case.security_flag
    assert case.priority == Priority.URGENT


def test_a_signed_out_visitor_hands_off_and_the_case_becomes_theirs_when_they_sign_in(alice):
    agent = make_user("assets@example.com", "agent", ("assets",))
    visitor = Chat(None)
    visitor.say("我的提现一直没到账")
    reply = visitor.say("转人工")
    case = Ticket.objects.get()
    assert not reply.needs_sign_in and reply.handoff["case_number"] == case.case_number
    assert case.status == Status.NEW and case.customer is None and case.team.slug == "assets"
    # Agents see it in their queue, with no known customer.
    lanes = selectors.queue_lanes(agent, queue="all", status="active")
    assert case in [t for lane in lanes for t in lane]
    page = login(agent).get(f"/workspace/tickets/{case.case_number}/")
    assert page.status_code == 200 and "未知客户（未登录）" in page.content.decode()
    assert Message.objects.filter(ticket=case, author__isnull=True, sender=Sender.CUSTOMER).count() == 2

    visitor.customer = alice  # signed in in the same widget session
    visitor.say("我登录了")
    case.refresh_from_db()
    assert case.customer == alice and Ticket.objects.count() == 1
    assert not Message.objects.filter(ticket=case, sender=Sender.CUSTOMER, author__isnull=True).exists()
    listed = bearer(alice).get("/api/v1/tickets").json()["items"]
    assert [t["case_number"] for t in listed] == [case.case_number]


def test_a_visitor_s_conversation_is_not_someone_else_s_to_continue(alice, bob):
    chat = Chat(alice)
    chat.say("你好")
    conversation = BotConversation.objects.get()
    response = bearer(bob).post(
        "/api/v1/bot/messages",
        {"conversation_id": str(conversation.public_id), "text": "转人工"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert Ticket.objects.get().customer == alice


def test_cases_still_with_the_bot_are_in_no_list_count_search_or_page(alice, supervisor):
    Chat(alice).say("我充值的USDT还没到账")
    case = Ticket.objects.get()
    assert case.status == Status.BOT
    # The customer: portal list, API list, the case's page and API detail.
    assert bearer(alice).get("/api/v1/tickets").json()["items"] == []
    assert bearer(alice).get(f"/api/v1/tickets/{case.case_number}").status_code == 404
    portal = login(alice).get("/portal/")
    assert case.case_number not in portal.content.decode()
    assert login(alice).get(f"/portal/tickets/{case.case_number}/").status_code == 404
    with pytest.raises(Http404):
        selectors.access_ticket(alice, case.case_number)
    # Agents: every queue and status filter, counts, search, the API list.
    for status in ("active", "any", "bot", ""):
        lanes = selectors.queue_lanes(supervisor, queue="all", status=status)
        assert not any(lane.filter(pk=case.pk).exists() for lane in lanes), status
    assert selectors.queue_counts(supervisor).all == 0
    assert search.search_tickets(supervisor, "USDT").hits == []
    assert search.search_tickets(supervisor, case.case_number).hits == []
    api = bearer(supervisor).get("/api/v1/tickets", {"status": "bot"}).json()["items"]
    assert api == [] and bearer(supervisor).get("/api/v1/tickets").json()["items"] == []
    assert login(supervisor).get(f"/workspace/tickets/{case.case_number}/").status_code == 404


def test_two_visitors_cases_are_strangers_not_one_customer_s(alice):
    """Cases with no known customer all have customer NULL: the case page must not offer one
    visitor's case as another's "other tickets" or merge target, and a merge is refused."""
    from django.core.exceptions import ValidationError

    from kefu.tickets.actions import do_merge

    agent = make_user("assets@example.com", "agent", ("assets",))
    cases = []
    for text in ("我的提现一直没到账，地址是我自己的", "提现没到账，快帮我看看"):
        visitor = Chat(None)
        visitor.say(text)
        cases.append(Ticket.objects.get(case_number=visitor.say("转人工").handoff["case_number"]))
    first, second = cases
    assert first.customer is None and second.customer is None
    page = login(agent).get(f"/workspace/tickets/{first.case_number}/").content.decode()
    assert second.case_number not in page  # neither "other tickets" nor a merge candidate
    assert search.merge_candidates(agent, first, "") == []
    assert search.merge_candidates(agent, first, "提现") == []
    with pytest.raises(ValidationError):
        do_merge(source=first, target=second, actor=agent)


def test_a_complaint_is_acknowledged_as_one_and_handled_before_routine_questions(alice):
    chat = Chat(alice)
    chat.say("我的提现一直没到账")
    reply = chat.say("你们效率太差了，我要投诉，找你们主管")
    case = Ticket.objects.get()
    assert reply.handoff["case_number"] == case.case_number
    assert "投诉" in reply.text and "优先" in reply.text
    assert case.status == Status.NEW and case.priority == Priority.HIGH
    assert case.description.startswith("客户投诉或要求升级处理。")  # said, not the bare key "complaint"
