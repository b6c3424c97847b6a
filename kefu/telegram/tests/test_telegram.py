"""Telegram end to end against a local server speaking the Bot API (fakeapi.FakeBotApi): the
webhook's secret, durable intake and dedupe by update_id, the bot first, the hand-off, an agent's
reply through the REST API reaching the chat by sendMessage, provider errors (429 retry_after,
403 blocked, 5xx), a seed phrase, files, bad updates, /start and /verify, deep-link linking,
long polling."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone
from mnemonic import Mnemonic

from kefu.conftest import bearer, make_user
from kefu.inbox import pipeline
from kefu.inbox.actions import send_delivery
from kefu.inbox.models import (
    ContactIdentity,
    DeliveryStatus,
    EventStatus,
    InboundEvent,
    Inbox,
    InboxKind,
    OutboundDelivery,
)
from kefu.mail.tests.test_safety import everything_stored
from kefu.telegram.tests.conftest import post_update
from kefu.telegram.tests.fakeapi import TOKEN, callback_update, photo_update, text_update
from kefu.tickets.models import Attachment, Sender, Status

pytestmark = pytest.mark.django_db

PHRASE = Mnemonic("english").to_mnemonic(bytes(range(96, 112)))
USER = 5123456789


@pytest.fixture
def api(bot_api):
    return bot_api


post = post_update


def run_jobs() -> None:
    """What the worker does: process pending events, then send queued deliveries (due or not:
    a test moves the clock by setting next_attempt_at itself)."""
    for pk in InboundEvent.objects.filter(status=EventStatus.PENDING).values_list("pk", flat=True):
        pipeline.process(pk)
    for pk in OutboundDelivery.objects.filter(status=DeliveryStatus.QUEUED).values_list("pk", flat=True):
        send_delivery(pk)


def say(update) -> InboundEvent:
    assert post(update).status_code == 200
    run_jobs()
    return InboundEvent.objects.get(dedupe_key=_key(update["update_id"]))


def _key(update_id: int) -> str:
    from kefu.inbox import durable

    return durable.digest(f"ext:{update_id}")


def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(api):
    assert post(text_update(1, "hi"), secret="wrong").status_code == 401
    assert post(text_update(2, "hi"), secret=None).status_code == 401
    assert not InboundEvent.objects.exists()
    # With the settings present, the Telegram inbox exists.
    assert Inbox.objects.filter(kind=InboxKind.TELEGRAM, is_active=True, bot_enabled=True).exists()


def test_private_chat_bot_first_hand_off_and_the_agents_api_reply_reaches_the_chat(api, agent):
    first = say(text_update(100, "My USDT deposit has not arrived"))
    case = first.ticket
    assert case.status == Status.BOT and case.customer_id is None and case.channel == "telegram"
    # The bot's answer went out by sendMessage to the chat, and shows as sent.
    [bot_reply] = case.messages.filter(sender=Sender.BOT)
    assert api.sent()[-1]["chat_id"] == USER and api.sent()[-1]["text"] == bot_reply.body
    assert OutboundDelivery.objects.get(message=bot_reply).status == DeliveryStatus.SENT
    # Telegram redelivers the same update: nothing new.
    assert post(text_update(100, "My USDT deposit has not arrived")).status_code == 200
    run_jobs()
    assert InboundEvent.objects.count() == 1 and len(api.sent()) == 1

    say(text_update(101, "talk to a human"))
    case.refresh_from_db()
    assert case.status == Status.NEW and case.case_number in api.sent()[-1]["text"]
    agent.teams.add(case.team)
    detail = bearer(agent).get(f"/api/v1/tickets/{case.case_number}")
    assert detail.status_code == 200 and detail.json()["channel"] == "telegram"
    answered = bearer(agent).post(
        f"/api/v1/tickets/{case.case_number}/messages",
        {"body": "Your deposit is credited now."},
        content_type="application/json",
    )
    assert answered.status_code in (200, 201), answered.content[:500]
    run_jobs()
    assert api.sent()[-1] == {"chat_id": USER, "text": "Your deposit is credited now."}
    reply = case.messages.get(body="Your deposit is credited now.")
    assert OutboundDelivery.objects.get(message=reply).status == DeliveryStatus.SENT
    # The agent's view of the case shows each outgoing message's delivery: the bot's and theirs.
    from django.urls import reverse

    from kefu.conftest import login

    page = login(agent).get(reverse("tickets:workspace_ticket", args=[case.case_number])).content.decode()
    assert page.count("delivery delivery-sent") == case.messages.filter(sender__in=("bot", "agent")).count()


def test_quick_replies_are_an_inline_keyboard_and_a_tap_is_the_answer(api):
    say(text_update(200, "hello"))
    markup = next((p["reply_markup"] for p in api.sent() if "reply_markup" in p), None)
    if markup is None:  # the greeting had no buttons: ask something that has one
        say(text_update(201, "are you a bot?"))
        markup = api.sent()[-1]["reply_markup"]
    button = markup["inline_keyboard"][0][0]
    event = say(callback_update(202, user_id=USER, keyboard=markup, data=button["callback_data"]))
    assert event.status == EventStatus.PROCESSED and event.message.body == button["text"]
    assert event.message.sender == Sender.CUSTOMER


def test_start_greets_with_the_anti_scam_warning_and_verify_checks_a_channel(api):
    from kefu.trust.actions import do_add_official_channel

    do_add_official_channel(kind="telegram", value="@LumenSupport", label="Support bot")
    say(text_update(300, "/start"))
    greeting = api.sent()[-1]["text"]
    assert "never message you first" in greeting and "seed phrase" in greeting
    say(text_update(301, "/verify @LumenSupport"))
    assert "is one of our official channels" in api.sent()[-1]["text"]
    say(text_update(302, "/verify @LumenSupp0rt_help"))
    assert "NOT one of our official channels" in api.sent()[-1]["text"]
    assert all(p["chat_id"] == USER for p in api.sent())
    # Commands are answered, not filed: the conversation stays with the bot, outside the queues.
    assert not InboundEvent.objects.filter(ticket__status=Status.NEW).exists()


def test_a_signed_deep_link_links_the_contact_and_a_typed_email_never_does(api, alice):
    from kefu.inbox.linking import token_for

    say(text_update(400, f"I am {alice.email}, link me"))
    contact = ContactIdentity.objects.get(address=str(USER))
    assert contact.customer_id is None  # a typed email is no proof
    say(text_update(401, "/start forged_123_abc"))
    assert ContactIdentity.objects.get(pk=contact.pk).customer_id is None
    token = token_for(alice, kind=InboxKind.TELEGRAM)
    say(text_update(402, f"/start {token}"))
    contact.refresh_from_db()
    assert contact.customer_id == alice.pk
    # The link is that chat's: forwarded to someone else, it links nobody.
    say(text_update(403, f"/start {token}", user_id=6000000001))
    assert ContactIdentity.objects.get(address="6000000001").customer_id is None
    # The token is not kept in the thread.
    assert token not in everything_stored() or token in str(InboundEvent.objects.values_list("payload"))


def test_provider_errors_429_waits_retry_after_5xx_backs_off_403_fails_for_good(api, agent):
    event = say(text_update(500, "talk to a human"))
    case = event.ticket
    agent.teams.add(case.team)
    from kefu.tickets.actions import check_add_message

    api.fail_next("sendMessage", 429, retry_after=7)
    reply = check_add_message(ticket=case, author=agent, body="First answer").message
    delivery = OutboundDelivery.objects.get(message=reply)
    before = timezone.now()
    assert send_delivery(delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and "429" in delivery.last_error
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 6 <= wait <= 9  # Telegram's retry_after, not the back-off's 30 s
    OutboundDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    api.fail_next("sendMessage", 502)
    assert send_delivery(delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED and delivery.next_attempt_at > timezone.now() + timedelta(
        seconds=20
    )
    OutboundDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert send_delivery(delivery.pk) is True
    assert [p["text"] for p in api.sent()].count("First answer") == 1

    api.fail_next("sendMessage", 403)
    blocked = check_add_message(ticket=case, author=agent, body="Second answer").message
    failed = OutboundDelivery.objects.get(message=blocked)
    send_delivery(failed.pk)
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.FAILED and "blocked" in failed.last_error
    from django.urls import reverse

    from kefu.conftest import login

    page = login(agent).get(reverse("tickets:workspace_ticket", args=[case.case_number])).content.decode()
    assert "delivery delivery-failed" in page and "bot was blocked by the user" in page


def test_a_seed_phrase_is_never_stored_or_forwarded(api, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    say(text_update(600, f"they asked me for {PHRASE} is that ok"))
    words = PHRASE.split()
    stored = everything_stored()
    sent = json.dumps(api.calls)
    for window in (" ".join(words[i : i + 4]) for i in range(0, len(words) - 3, 4)):
        assert window not in stored and window not in sent and window not in caplog.text
    assert TOKEN not in caplog.text  # httpx logs request URLs: the bot token is masked
    warning = api.sent()[-1]["text"]
    assert "seed phrase" in warning or "助记词" in warning


def test_a_photo_becomes_an_attachment_and_an_oversized_one_is_skipped_with_a_note(api, settings):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG")
    api.files["AgACphoto1"] = buffer.getvalue()
    # A photo without words, to the bot: kept on the conversation's case, and the bot asks.
    event = say(photo_update(700, "AgACphoto1", len(buffer.getvalue())))
    assert event.status == EventStatus.PROCESSED
    [attachment] = Attachment.objects.filter(ticket=event.ticket)
    assert attachment.message_id == event.message_id and attachment.content_type == "image/jpeg"
    assert "what your question is about" in api.sent()[-1]["text"]
    assert [c["file_id"] for c in api.sent("getFile")] == ["AgACphoto1"]  # the largest size

    settings.KEFU_ATTACHMENT_MAX_BYTES = 1000
    api.files["AgACbig"] = b"\xff" * 5000
    big = say(photo_update(701, "AgACbig", 5000, caption="another one"))
    assert big.status == EventStatus.PROCESSED
    assert Attachment.objects.filter(ticket=event.ticket).count() == 1
    assert "not attached" in big.message.body or "没有附上" in big.message.body or "[" in big.message.body


def test_malformed_and_unknown_updates_are_skipped_with_a_reason_and_do_not_block(api):
    assert post(b"{not json").status_code == 200
    assert post({"update_id": 800, "edited_message": {"message_id": 1}}).status_code == 200
    assert post({"update_id": 801, "message": {"chat": "oops"}}).status_code == 200
    reasons = sorted(InboundEvent.objects.values_list("ignore_reason", flat=True))
    assert reasons == ["malformed", "malformed", "unsupported_update"]
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {EventStatus.IGNORED}
    after = say(text_update(802, "hello after the junk"))
    assert after.status == EventStatus.PROCESSED


def test_long_polling_feeds_the_same_pipeline(api):
    from kefu.telegram.polling import poll_once

    api.updates = [text_update(900, "via polling"), text_update(901, "second")]
    offset, count = poll_once(None, timeout=0)
    assert (offset, count) == (902, 2)
    assert poll_once(offset, timeout=0) == (902, 0)
    # The long poll's own parameters reach Telegram (timeout is a Bot API field, not ours).
    assert [(c["timeout"], c.get("offset")) for c in api.sent("getUpdates")] == [(0, None), (0, 902)]
    run_jobs()
    assert InboundEvent.objects.filter(status=EventStatus.PROCESSED).count() == 2


def test_health_reads_getwebhookinfo(api):
    from kefu.inbox.adapters.base import adapter_for
    from kefu.telegram.setup import ensure_inbox

    health = adapter_for(InboxKind.TELEGRAM).health(ensure_inbox())
    assert health.ok and "pending 0" in health.detail


def test_a_customer_gets_a_signed_link_only_when_signed_in(api):
    customer = make_user("linker@example.com")
    assert HttpClient().get("/channels/telegram/link").status_code == 302  # to sign-in
    from kefu.conftest import login

    page = login(customer).get("/channels/telegram/link")
    assert page.status_code == 302 and page["Location"].startswith("https://t.me/kefu_support_bot?start=")


def test_link_tokens_survive_screening_and_refuse_forgery_and_age(alice, settings):
    """Any token (its signature may hold "_" and "-") reads back, passes the secret guard
    unchanged, and is refused when altered, for another channel kind, or stale."""
    from kefu.inbox.linking import LINK_TTL_SECONDS, customer_for_token, token_for
    from kefu.trust import guard

    inbox = Inbox.objects.create(kind=InboxKind.TELEGRAM, name="t")
    other = Inbox.objects.create(kind=InboxKind.WHATSAPP, name="w")
    for second in range(300):
        now = 1_765_000_000 + second
        token = token_for(alice, kind=InboxKind.TELEGRAM, now=now)
        assert len(token) <= 64 and guard.redact(token, language="en") == token
        assert customer_for_token(token, inbox=inbox, now=now + 5) == alice
    assert customer_for_token(token, inbox=other, now=now) is None
    assert customer_for_token(token[:-1] + ("A" if token[-1] != "A" else "B"), inbox=inbox, now=now) is None
    assert customer_for_token(token, inbox=inbox, now=now + LINK_TTL_SECONDS + 1) is None


def test_the_community_group_answers_mentions_only_and_moves_accounts_to_a_private_chat(api, settings):
    settings.KEFU_TELEGRAM_GROUP_ID = "-1001234567890"
    from kefu.helpcenter.actions import sync_articles_from_content
    from kefu.jobs.engine import drain

    sync_articles_from_content()  # the help centre's articles, which general questions get answers from

    def group_update(update_id: int, text: str, group: int = -1001234567890) -> dict:
        update = text_update(update_id, text)
        update["message"]["chat"] = {"id": group, "title": "Lumen community", "type": "supergroup"}
        return update

    for update in (
        group_update(1000, "gm everyone"),  # not for the bot: silence
        group_update(1001, "@kefu_support_bot when is the maintenance over?"),
        group_update(1002, f"@kefu_support_bot my withdrawal is stuck, my words are {PHRASE}"),
        group_update(1003, "@kefu_support_bot hi", group=-100999),  # another group: silence
        group_update(1001, "@kefu_support_bot when is the maintenance over?"),  # redelivered: once
    ):
        assert post(update).status_code == 200
    drain()
    replies = api.sent()
    assert [r["reply_parameters"]["message_id"] for r in replies] == [1001, 1002]
    # A general question gets the help centre's answer in public (with the private-chat line).
    assert post(group_update(1004, "@kefu_support_bot how many block confirmations does a bitcoin transfer need?")).status_code == 200
    drain()
    answer = api.sent()[-1]
    assert answer["reply_parameters"]["message_id"] == 1004
    assert "/help/a/" in answer["text"] and "I answer questions about our service" not in answer["text"]
    assert "privately" in answer["text"]
    assert "privately" in replies[1]["text"] and "never discuss accounts in public" in replies[1]["text"]
    # Nothing of the group was filed as a case, nothing a member wrote was stored or sent back.
    assert set(InboundEvent.objects.values_list("ignore_reason", flat=True)) == {"group_message"}
    assert not InboundEvent.objects.filter(ticket__isnull=False).exists()
    stored, sent = everything_stored(), json.dumps(api.calls)
    assert "withdrawal is stuck" not in stored and PHRASE.split()[5] not in sent


def test_inbox_health_on_the_admin_page_and_in_kefu_check(api, agent, capsys):
    from kefu.cli import main
    from kefu.conftest import login
    from kefu.mail.tests.conftest import admin_client
    from kefu.tickets.actions import check_add_message

    event = say(text_update(1100, "talk to a human"))
    agent.teams.add(event.ticket.team)
    api.fail_next("sendMessage", 403)
    reply = check_add_message(ticket=event.ticket, author=agent, body="Hello?").message
    run_jobs()
    failed = OutboundDelivery.objects.get(message=reply)
    assert failed.status == DeliveryStatus.FAILED

    page = admin_client().get("/admin/inbox/inbox/?kind__exact=telegram").content.decode()
    assert "long polling · pending 0" in page  # getWebhookInfo, through the adapter's health()
    assert f"?inbox__id__exact={failed.inbox_id}&amp;status__exact=failed" in page
    assert "bot was blocked by the user" in page  # the last error
    assert login(agent).get("/admin/inbox/inbox/").status_code == 302  # staff only

    assert main(["check", "--json"]) in (0, 1)
    rows = json.loads(capsys.readouterr().out)["inboxes"]
    [row] = [r for r in rows if r["kind"] == "telegram"]
    assert row["ok"] and row["provider_pending"] == 0 and row["failed_deliveries"] == 1
    assert row["last_received_at"] and "blocked" in row["last_error"]
    main(["check"])
    text = capsys.readouterr().out
    assert "telegram  Telegram bot: long polling · pending 0" in text and "failed 0 in, 1 out" in text

    # The admin's retry sends it again.
    client = admin_client()
    client.post(
        "/admin/inbox/inbox/",
        {"action": "retry_failed", "_selected_action": [failed.inbox_id]},
    )
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.QUEUED
    run_jobs()
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.SENT


def test_without_a_webhook_secret_kefu_serves_worker_polls(api, settings):
    """No public URL (no secret): the periodic job of `kefu serve`'s worker polls getUpdates;
    with a secret (webhook mode) it stays off."""
    from kefu.telegram.tasks import _poll_interval, poll_updates

    assert _poll_interval() == 0  # webhook mode
    settings.KEFU_TELEGRAM_WEBHOOK_SECRET = ""
    assert _poll_interval() == 2.0
    api.updates = [text_update(1200, "polled by the worker")]
    poll_updates.call_local()
    poll_updates.call_local()  # the offset moved past it: nothing new
    assert [c.get("offset") for c in api.sent("getUpdates")] == [None, 1201]
    run_jobs()
    assert InboundEvent.objects.get().status == EventStatus.PROCESSED
    assert post(text_update(1201, "hi")).status_code == 401  # no secret: the webhook is closed


def test_a_linked_customers_telegram_case_is_answered_in_telegram_not_also_by_mail(api, agent, alice, settings):
    """The acknowledgement and the agent's replies go to the chat; no mail says them twice."""
    from kefu.inbox.linking import token_for
    from kefu.mail.models import OutboundMail
    from kefu.tickets.actions import check_add_message

    settings.KEFU_MAIL_NOTIFICATIONS = True
    Inbox.objects.filter(kind=InboxKind.TELEGRAM).update(bot_enabled=False)
    say(text_update(700, f"/start {token_for(alice, kind=InboxKind.TELEGRAM)}"))
    event = say(text_update(701, "My USDT withdrawal has been pending for a day"))
    ticket = event.ticket
    assert ticket is not None and ticket.customer_id == alice.pk and ticket.channel == "telegram"
    if ticket.team is not None:
        agent.teams.add(ticket.team)
    check_add_message(ticket=ticket, author=agent, body="It is being processed now.")
    run_jobs()
    assert any("It is being processed now." in str(m.get("text")) for m in api.sent())
    assert not OutboundMail.objects.filter(ticket=ticket).exists()


def test_the_portal_offers_the_signed_link_only_when_telegram_is_set_up(api, alice, settings):
    from django.urls import reverse

    from kefu.conftest import login

    page = login(alice).get(reverse("tickets:portal")).content.decode()
    assert reverse("telegram:link") in page
    settings.KEFU_TELEGRAM_BOT_TOKEN = ""
    page = login(alice).get(reverse("tickets:portal")).content.decode()
    assert reverse("telegram:link") not in page


def test_replies_reach_the_chat_in_order_though_the_first_was_refused(api, agent, alice):
    """An agent's second reply never overtakes the first one that Telegram refused with a 429."""
    from kefu.inbox.linking import token_for
    from kefu.tickets.actions import check_add_message

    Inbox.objects.filter(kind=InboxKind.TELEGRAM).update(bot_enabled=False)
    say(text_update(800, f"/start {token_for(alice, kind=InboxKind.TELEGRAM)}"))
    ticket = say(text_update(801, "My withdrawal is pending")).ticket
    if ticket.team is not None:
        agent.teams.add(ticket.team)
    api.fail_next("sendMessage", 429, parameters={"retry_after": 30})
    check_add_message(ticket=ticket, author=agent, body="First: we are checking.")
    check_add_message(ticket=ticket, author=agent, body="Second: it was sent.")
    run_jobs()
    first, second = (
        OutboundDelivery.objects.get(message__ticket=ticket, message__body__startswith=word)
        for word in ("First", "Second")
    )
    assert (first.status, second.status) == (DeliveryStatus.QUEUED, DeliveryStatus.QUEUED)
    assert second.attempts == 0 and second.next_attempt_at > first.next_attempt_at  # waits behind
    OutboundDelivery.objects.filter(pk__in=[first.pk, second.pk]).update(next_attempt_at=timezone.now())
    run_jobs()  # the earlier one first: the later one goes in the next round
    run_jobs()
    texts = [m["text"] for m in api.sent() if m.get("chat_id") == USER and m["text"].startswith(("First", "Second"))]
    assert texts[-2:] == ["First: we are checking.", "Second: it was sent."]
