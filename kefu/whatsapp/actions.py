"""WhatsApp's rules on a case: an agent's free text is refused outside the 24-hour window, a
template message is sent instead, and the provider's status callbacks update each delivery."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu import events
from kefu.accounts.models import User
from kefu.events import MessageAdded
from kefu.inbox.models import DeliveryStatus, Inbox, InboxKind, OutboundDelivery
from kefu.tickets import actions as ticket_actions
from kefu.tickets.models import Channel, MessageKind, Ticket
from kefu.trust import guard
from kefu.whatsapp import window
from kefu.whatsapp.models import Template, TemplateMessage, TemplateStatus

logger = logging.getLogger(__name__)

MAX_PARAM = 1024  # characters of one template parameter (Meta's limit is about this)

# Set while do_send_template adds its message: a template may go out when free text may not.
_sending_template: contextvars.ContextVar[bool] = contextvars.ContextVar("whatsapp_template", default=False)


@contextmanager
def _template_in_flight() -> Iterator[None]:
    token = _sending_template.set(True)
    try:
        yield
    finally:
        _sending_template.reset(token)


def outside_window_error() -> ValidationError:
    return ValidationError(
        {
            "body": [
                _(
                    "This WhatsApp customer last wrote more than 24 hours ago: WhatsApp only lets you "
                    "send an approved template now. Your text was not sent (it is still in the box)."
                )
            ]
        }
    )


def on_message_added(event: MessageAdded) -> None:
    """Refuse an agent's public free-text reply on a WhatsApp case outside the window (the whole
    action rolls back: nothing is half-written, the composer keeps the draft)."""
    message = event.message
    if message.kind != MessageKind.PUBLIC or message.author is None or not message.author.is_agent:
        return
    if _sending_template.get():
        return
    state = window.state(event.ticket)
    if state.applies and not state.open:
        raise outside_window_error()


def do_send_template(
    *, ticket: Ticket, agent: User, template: Template, params: Iterable[str]
) -> TemplateMessage:
    """An agent sends an approved template on a WhatsApp case (allowed outside the window). The
    parameters pass the secret guard like any text; the thread shows the filled-in body."""
    if not agent.is_agent:
        raise ValidationError(_("Only agents send templates."))
    if template.status != TemplateStatus.APPROVED:
        raise ValidationError({"template": [_("Only a template approved by WhatsApp can be sent.")]})
    values = [str(p or "").strip() for p in params]
    if len(values) != template.param_count or any(not v for v in values):
        raise ValidationError(
            {
                "template": [
                    _("Fill in all {count} parameters of the template.").format(count=template.param_count)
                ]
            }
        )
    if any(len(v) > MAX_PARAM for v in values):
        raise ValidationError({"template": [_("A parameter is too long.")]})
    language = ticket.language or "zh-hans"
    # Screened one by one (what is sent) — the body below is screened again by the ticket action.
    values = [guard.redact(v, language=language) for v in values]
    with transaction.atomic(), _template_in_flight():
        submission = ticket_actions.check_add_message(
            ticket=ticket, author=agent, body=template.render(values), channel=Channel.AGENT
        )
        assert submission.message is not None
        return TemplateMessage.objects.create(message=submission.message, template=template, params=values)


# A status moves a delivery forward only: callbacks can arrive out of order or twice.
_BEFORE: dict[str, tuple[str, ...]] = {
    "sent": (DeliveryStatus.QUEUED,),
    "delivered": (DeliveryStatus.QUEUED, DeliveryStatus.SENT),
    "read": (DeliveryStatus.QUEUED, DeliveryStatus.SENT, DeliveryStatus.DELIVERED),
}


def do_apply_statuses(inbox: Inbox, statuses: Iterable[dict[str, Any]]) -> int:
    """The provider's ``statuses[]``: a delivery found by its message id becomes sent, delivered,
    read (forward only) or failed (with the error's code and title). Idempotent."""
    changed = 0
    for status in statuses:
        provider_id = str(status.get("id") or "")[:998]
        state = str(status.get("status") or "")
        rows = OutboundDelivery.objects.filter(
            inbox=inbox, channel=InboxKind.WHATSAPP, provider_id=provider_id
        )
        if state == "failed":
            errors = status.get("errors") or [{}]
            first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
            code = first.get("code")
            title = str(first.get("title") or first.get("message") or "")[:200]
            if str(code) == "131047":
                reason = f"outside the 24-hour customer-service window (code {code}): only an approved template can be sent"
            else:
                reason = f"WhatsApp could not deliver (code {code}): {title}"
            changed += rows.exclude(status=DeliveryStatus.FAILED).update(
                status=DeliveryStatus.FAILED, last_error=guard.redact(reason, language="en")
            )
        elif state in _BEFORE:
            values: dict[str, Any] = {"status": state}
            if state == "sent":
                values["sent_at"] = _timestamp(status.get("timestamp"))
            changed += rows.filter(status__in=_BEFORE[state]).update(**values)
        else:
            logger.info("WhatsApp status %r ignored", state[:20])
    return changed


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return timezone.now()


def register() -> None:
    from kefu.tickets import composer
    from kefu.whatsapp.selectors import composer_panel

    events.subscribe(MessageAdded, on_message_added, when=events.IN_TRANSACTION)
    composer.register(composer_panel)
