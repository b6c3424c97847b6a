"""The contract every channel adapter keeps, run once per adapter.

A new channel adds one fixture class below (how a customer's message arrives on it, how an
agent's reply reaches the customer there) and one entry in CHANNELS: every test here then runs
for it. docs/channels.md explains the steps.

Real components only: the SMTP receiver's storing function and an aiosmtpd relay for email, the
portal's form and the REST API through Django's test client, SQLite or PostgreSQL.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

import pytest
from django.urls import reverse
from mnemonic import Mnemonic

from kefu.accounts.models import Role, User
from kefu.conftest import bearer, login, make_user
from kefu.inbox.models import DeliveryStatus, EventStatus, InboundEvent, OutboundDelivery
from kefu.inbox.selectors import deliveries_for
from kefu.jobs.engine import drain
from kefu.mail.tests.conftest import SUPPORT, admin_client, intent, mail_settings, smtp_sink  # noqa: F401
from kefu.mail.tests.test_safety import _windows, everything_stored
from kefu.telegram.tests.conftest import bot_api  # noqa: F401 - the Telegram channel's fixture
from kefu.tickets.actions import check_add_message
from kefu.tickets.models import Category, Message, Ticket
from kefu.whatsapp.tests.conftest import graph  # noqa: F401 - the WhatsApp channel's fixture

pytestmark = pytest.mark.django_db(transaction=False)

PHRASE = Mnemonic("english").to_mnemonic(bytes(range(32, 48)))  # a valid BIP-39 phrase
WIF = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"  # a valid (well-known) private key
CATEGORY = "deposit-not-credited"


# =========================================================================== one fixture per adapter


class EmailChannel:
    """A mail as Kefu's SMTP server stores it (do_accept_inbound), then the mail job."""

    name = "email"
    pushes = True

    def send_in(self, customer: User, *, title: str, body: str, key: str) -> Ticket:
        from kefu.mail.actions import do_accept_inbound, process_pending_mail
        from kefu.mail.models import InboundMail

        msg = EmailMessage()
        msg["From"] = customer.email
        msg["To"] = SUPPORT
        msg["Subject"] = title
        msg["Message-ID"] = f"<{key}@mail.example>"
        msg.set_content(body)
        accepted = do_accept_inbound(msg.as_bytes(), envelope_from=customer.email, envelope_to=[SUPPORT])
        process_pending_mail()
        inbound = InboundMail.objects.get(pk=accepted.inbound.pk)
        assert inbound.ticket is not None, inbound.last_error
        return inbound.ticket

    def customer_sees(self, ticket: Ticket, text: str, sink) -> bool:
        from kefu.mail.outbound import send_pending_mail

        drain()
        send_pending_mail()
        wanted = [m for m in sink.wait_for(1) if text in m.get_body(("plain",)).get_content()]
        assert ticket.customer is not None
        return bool(wanted) and all(ticket.customer.email in m["To"] for m in wanted)

    def break_sending(self) -> None:
        pass  # mail_settings points the relay at port 9: every send is refused

    def attempt_sends(self) -> None:
        from kefu.mail.outbound import send_pending_mail

        drain()
        send_pending_mail()

    def make_due(self, reply: Message) -> None:
        from django.utils import timezone

        from kefu.mail.models import OutboundMail

        OutboundMail.objects.filter(message=reply).update(next_attempt_at=timezone.now())


class PortalChannel:
    """The portal's new-ticket form, as a signed-in customer posts it."""

    name = "portal"
    pushes = False

    def send_in(self, customer: User, *, title: str, body: str, key: str) -> Ticket:
        category = Category.objects.get(slug=CATEGORY)
        response = login(customer).post(
            reverse("tickets:portal_new"),
            {"category": category.pk, "title": title, "description": body, "client_id": key},
        )
        assert response.status_code == 302, response.content[:2000]
        case = response["Location"].rstrip("/").rsplit("/", 1)[-1]
        return Ticket.objects.get(case_number=case)

    def customer_sees(self, ticket: Ticket, text: str, sink) -> bool:
        assert ticket.customer is not None
        page = login(ticket.customer).get(reverse("tickets:portal_ticket", args=[ticket.case_number]))
        return page.status_code == 200 and text in page.content.decode()


class ApiChannel:
    """The REST API, with a customer's token and an Idempotency-Key."""

    name = "api"
    pushes = False

    def send_in(self, customer: User, *, title: str, body: str, key: str) -> Ticket:
        response = bearer(customer).post(
            "/api/v1/tickets",
            {"category": CATEGORY, "title": title, "description": body},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert response.status_code == 201, response.content[:2000]
        return Ticket.objects.get(case_number=response.json()["case_number"])

    def customer_sees(self, ticket: Ticket, text: str, sink) -> bool:
        assert ticket.customer is not None
        answer = bearer(ticket.customer).get(f"/api/v1/tickets/{ticket.case_number}")
        return answer.status_code == 200 and text in answer.content.decode()


class WhatsAppChannel:
    """A WhatsApp Cloud API webhook signed like Meta's (X-Hub-Signature-256), the job, and a
    local server speaking the Graph API for the replies."""

    name = "whatsapp"
    pushes = True
    fixtures = ("graph",)
    number = "16505550123"

    def __init__(self, graph) -> None:  # noqa: F811
        self.graph = graph

    def send_in(self, customer: User, *, title: str, body: str, key: str) -> Ticket:
        from kefu.inbox import durable, pipeline
        from kefu.whatsapp.tests import fake_graph
        from kefu.whatsapp.tests.conftest import APP_SECRET
        from kefu.whatsapp.tests.helpers import inbox, post_webhook, settle

        # WhatsApp has no subjects: the text is the message. The number is linked to the account.
        pipeline.identify(inbox(), address=f"+{self.number}", customer=customer)
        message = fake_graph.text(body, wamid=f"wamid.{key}", wa_id=self.number)
        assert (
            post_webhook(fake_graph.inbound(message, wa_id=self.number), secret=APP_SECRET).status_code == 200
        )
        settle()
        event = InboundEvent.objects.get(inbox=inbox(), dedupe_key=durable.digest(f"ext:wamid.{key}"))
        assert event.ticket is not None, event.last_error
        return event.ticket

    def customer_sees(self, ticket: Ticket, text: str, sink) -> bool:
        from kefu.whatsapp.tests.helpers import settle

        settle()
        return any(
            m.get("to") == self.number and text in str(m.get("text", {}).get("body", ""))
            for m in self.graph.sent()
        )

    def break_sending(self) -> None:
        from kefu.whatsapp.tests.fake_graph import SERVER_ERROR

        self.graph.script.extend([(500, SERVER_ERROR)] * 5)

    def attempt_sends(self) -> None:
        from kefu.whatsapp.tests.helpers import settle

        settle()

    def make_due(self, reply: Message) -> None:
        pass


class TelegramChannel:
    """A Bot API Update posted to the webhook with Telegram's secret header, the job, and a local
    server speaking the Bot API for the replies (sendMessage). The contract's case is filed at
    once: the inbox's bot is off here (with it on, the bot answers first: kefu/telegram/tests)."""

    name = "telegram"
    pushes = True
    fixtures = ("bot_api",)
    chat = 5123456789

    def __init__(self, bot_api) -> None:  # noqa: F811
        self.api = bot_api

    def send_in(self, customer: User, *, title: str, body: str, key: str) -> Ticket:
        import hashlib

        from kefu.inbox import durable, pipeline
        from kefu.inbox.models import Inbox
        from kefu.telegram.setup import ensure_inbox
        from kefu.telegram.tests.conftest import post_update, settle
        from kefu.telegram.tests.fakeapi import text_update

        inbox = ensure_inbox()
        assert inbox is not None
        Inbox.objects.filter(pk=inbox.pk).update(bot_enabled=False)
        # Telegram has no subjects: the text is the message. The chat was linked to the account
        # (a signed deep link in real life: kefu/telegram/tests).
        pipeline.identify(inbox, address=str(self.chat), customer=customer)
        update_id = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        assert post_update(text_update(update_id, body, user_id=self.chat)).status_code == 200
        settle()
        event = InboundEvent.objects.get(inbox=inbox, dedupe_key=durable.digest(f"ext:{update_id}"))
        assert event.ticket is not None, event.last_error
        return event.ticket

    def customer_sees(self, ticket: Ticket, text: str, sink) -> bool:
        from kefu.telegram.tests.conftest import settle

        settle()
        return any(m.get("chat_id") == self.chat and text in str(m.get("text")) for m in self.api.sent())

    def break_sending(self) -> None:
        for _attempt in range(5):
            self.api.fail_next("sendMessage", 500)

    def attempt_sends(self) -> None:
        from kefu.telegram.tests.conftest import settle

        settle()

    def make_due(self, reply: Message) -> None:
        pass


CHANNELS = {
    "email": EmailChannel,
    "portal": PortalChannel,
    "api": ApiChannel,
    "whatsapp": WhatsAppChannel,
    "telegram": TelegramChannel,
}


@pytest.fixture(params=sorted(CHANNELS))
def channel(request, mail_settings):  # noqa: F811 - the mail fixtures, imported above
    made = CHANNELS[request.param]
    return made(*[request.getfixturevalue(name) for name in getattr(made, "fixtures", ())])


@pytest.fixture
def customer(db) -> User:
    return make_user("carol@mail.example")


@pytest.fixture
def security_agent(db) -> User:
    return make_user("sec@kefu.example", Role.AGENT, teams=("security",))


# =========================================================================== the contract


def _assert_hidden(secret: str, where: str) -> None:
    squeezed = "".join(where.split())
    for window in _windows(secret) if " " in secret else [secret]:
        assert window not in where, window
        assert "".join(window.split()) not in squeezed, window


def test_a_seed_phrase_and_a_private_key_are_hidden_everywhere_and_go_to_security(
    channel, customer, security_agent, caplog
):
    caplog.set_level(logging.DEBUG)
    body = f"A support agent asked for my recovery words: {PHRASE}\nand my key {WIF}\nwhat now?"
    ticket = channel.send_in(customer, title="Deposit question", body=body, key="secret-1")

    ticket.refresh_from_db()
    assert ticket.security_flag and ticket.team.slug == "security"
    event = InboundEvent.objects.get(ticket=ticket)
    assert event.status == EventStatus.PROCESSED and event.inbox.kind == channel.name
    stored = everything_stored()
    page = login(security_agent).get(reverse("tickets:workspace_ticket", args=[ticket.case_number]))
    assert page.status_code == 200
    for secret in (PHRASE, WIF):
        _assert_hidden(secret, stored)  # every row, InboundEvent payloads included
        _assert_hidden(secret, caplog.text)
        _assert_hidden(secret, page.content.decode())
    assert "what now?" in str(event.payload)  # the rest of the message is kept


def test_a_redelivered_message_makes_no_duplicate(channel, customer):
    first = channel.send_in(customer, title="Deposit missing", body="My USDT deposit is missing", key="once")
    again = channel.send_in(customer, title="Deposit missing", body="My USDT deposit is missing", key="once")
    assert again.pk == first.pk
    assert Ticket.objects.filter(customer=customer).count() == 1
    assert Message.objects.filter(ticket=first).count() == 1
    assert InboundEvent.objects.filter(ticket=first).count() == 1


def test_an_agents_reply_reaches_the_customer_on_the_channel_the_case_came_from(
    channel,
    customer,
    agent,
    smtp_sink,  # noqa: F811
):
    ticket = channel.send_in(customer, title="Withdrawal stuck", body="Where is my withdrawal?", key="r1")
    agent.teams.add(ticket.team)
    check_add_message(ticket=ticket, author=agent, body="It was sent an hour ago: check TXID abc.")
    assert channel.customer_sees(ticket, "It was sent an hour ago", smtp_sink)
    reply = ticket.messages.get(body__startswith="It was sent")
    shown = deliveries_for([reply]).get(reply.pk, [])
    on_channel = [d.status for d in shown if d.channel == channel.name]
    if channel.pushes:  # the agent view shows where the reply stands
        assert on_channel == [DeliveryStatus.SENT]
    else:  # the customer reads it in the portal or through the API (a mail notice may go too)
        assert on_channel == []


def test_a_failed_send_is_retried_with_back_off_then_shown_to_admins(channel, customer, agent, mail_settings):  # noqa: F811
    if not channel.pushes:
        pytest.skip(f"{channel.name}: the customer fetches replies, nothing is sent")
    from django.utils import timezone

    mail_settings.KEFU_MAIL_MAX_ATTEMPTS = 2
    ticket = channel.send_in(customer, title="Account question", body="Please help", key="f1")
    channel.break_sending()  # the provider refuses from now on (mail: the relay on port 9)
    agent.teams.add(ticket.team)
    check_add_message(ticket=ticket, author=agent, body="Here is the answer.")
    reply = ticket.messages.get(body="Here is the answer.")
    channel.attempt_sends()  # attempt 1 fails
    delivery = OutboundDelivery.objects.get(message=reply, channel=channel.name)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.QUEUED, 1)
    assert delivery.next_attempt_at > timezone.now()  # backed off, not retried at once
    assert "Connection" in delivery.last_error or delivery.last_error
    channel.attempt_sends()  # not due yet: nothing tried
    assert OutboundDelivery.objects.get(pk=delivery.pk).attempts == 1
    OutboundDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    channel.make_due(reply)
    channel.attempt_sends()  # attempt 2 of 2 fails: failed for good
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    listed = admin_client().get("/admin/inbox/outbounddelivery/?status__exact=failed")
    assert (
        listed.status_code == 200
        and f'name="_selected_action" value="{delivery.pk}"' in listed.content.decode()
    )
