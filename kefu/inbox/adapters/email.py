"""Email: the worked example of docs/channels.md.

Receive: Kefu's SMTP server (``kefu.mail.smtp``) and the IMAP poller (``kefu.mail.imap``) verify
the envelope, screen the raw mail and store it durably (``InboundMail``, redacted) before the
sender hears ``250``; the mail job parses it (``kefu.mail.parsing``), drops loops (auto-replies,
bounces, our own mail) and calls :func:`kefu.inbox.pipeline.do_accept`: every step after parsing
is the pipeline's. Send: mail keeps its own outbox (``OutboundMail``: rendered mails with
Message-ID threading) and records each message's state as an ``OutboundDelivery``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings

from kefu.inbox.adapters.base import Health, Parsed, RequestRefused, SendFailed, Sent
from kefu.inbox.models import Inbox, InboxKind, OutboundDelivery
from kefu.tickets.models import Channel, Message


class EmailAdapter:
    kind: ClassVar[str] = InboxKind.EMAIL
    channel: ClassVar[str] = Channel.EMAIL
    pushes: ClassVar[bool] = True
    keeps_own_outbox: ClassVar[bool] = True  # OutboundMail retries; deliveries mirror it
    continues_open_case: ClassVar[bool] = False  # threads by Message-ID headers and case numbers

    def verify(self, inbox: Inbox, request: Any) -> None:
        """``request``: (raw bytes, envelope recipients). The SMTP server's own rule, per
        recipient (``conf.accepts_recipient``: a support address, ``+tag`` allowed)."""
        from kefu.mail import conf

        _raw, recipients = request
        if recipients and not any(conf.accepts_recipient(str(r)) for r in recipients):
            raise RequestRefused("not addressed to a support mailbox")

    def parse(self, inbox: Inbox, request: Any) -> list[Parsed]:
        """The mail job's own reading of a new mail (``kefu.mail.actions``: title and body)."""
        from kefu.mail import parsing
        from kefu.mail.actions import body_for, title_for

        raw, _recipients = request
        mail = parsing.parse_mail(raw)
        body = body_for(mail)
        return [
            Parsed(
                external_id=mail.message_id,
                address=mail.from_addr,
                display_name=mail.from_name,
                title=title_for(mail, body),
                body=body,
                case_number=next(iter(parsing.case_numbers(mail.subject)), ""),
            )
        ]

    def render(self, message: Message) -> str:
        from kefu.mail.rendering import message_text

        return message_text(message, language=message.ticket.language)

    def send(self, delivery: OutboundDelivery) -> Sent:
        """Queue the message in mail's outbox (which sends and retries it)."""
        from kefu.mail.outbound import notify_agent_reply

        mail = notify_agent_reply(delivery.message)
        if mail is None:
            raise SendFailed("mail is off or the customer has no address")
        return Sent(provider_id=mail.rfc_message_id)

    def health(self, inbox: Inbox) -> Health:
        from kefu.mail import conf

        if not conf.notifications_enabled():
            return Health(ok=False, detail="outbound mail is off (KEFU_EMAIL_URL)")
        return Health(ok=bool(getattr(settings, "EMAIL_HOST", "")), detail=conf.support_address())
