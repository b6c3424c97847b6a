"""Reads of the WhatsApp app: templates an agent may send, a template message's payload, and
the composer's panel on a WhatsApp case."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.durations import format_duration
from kefu.tickets.models import Message, Ticket
from kefu.whatsapp import window
from kefu.whatsapp.models import Template, TemplateMessage, TemplateStatus


def approved_templates() -> list[Template]:
    return list(Template.objects.filter(status=TemplateStatus.APPROVED).order_by("name", "language"))


def template_payload(message: Message) -> dict[str, Any] | None:
    """The Graph API body of a template message (None: the message is free text)."""
    sent = TemplateMessage.objects.filter(message=message).select_related("template").first()
    if sent is None:
        return None
    template: dict[str, Any] = {"name": sent.template.name, "language": {"code": sent.template.language}}
    if sent.params:
        parameters = [{"type": "text", "text": str(p)} for p in sent.params]
        template["components"] = [{"type": "body", "parameters": parameters}]
    return {"type": "template", "template": template}


@dataclass(frozen=True)
class ComposerPanel:
    """What the agent's composer shows on a WhatsApp case (kefu.tickets.composer)."""

    template: str
    open: bool
    line: str  # which mode applies and the time left, in the agent's language
    case_number: str
    templates: list[Template] = field(default_factory=list)

    @property
    def param_numbers(self) -> list[int]:
        """The parameter boxes the form shows: as many as the longest template needs."""
        return list(range(1, max((t.param_count for t in self.templates), default=0) + 1))


def composer_panel(ticket: Ticket, user: User) -> ComposerPanel | None:
    state = window.state(ticket)
    if not state.applies:
        return None
    if state.open:
        line = _("WhatsApp 24-hour window open: free text allowed, {left} left.").format(
            left=format_duration(state.seconds_left())
        )
    elif state.closes_at is None:
        line = _("WhatsApp: the customer has not written yet; only an approved template can be sent.")
    else:
        line = _("WhatsApp 24-hour window closed: only an approved template can be sent.")
    return ComposerPanel(
        template="whatsapp/_composer.html",
        open=state.open,
        line=line,
        case_number=ticket.case_number,
        templates=approved_templates() if user.is_agent else [],
    )
