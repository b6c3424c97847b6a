"""What an outbound mail says: subject, plain text and HTML, in the ticket's language.

Every customer-facing sentence is a gettext string here (English source); the templates in
``templates/mail/`` only lay the pieces out, so an operator can restyle a mail by overriding a
template without touching its wording or its translations.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from kefu.inbox.adapters.base import numbered_options
from kefu.mail import conf
from kefu.mail.models import OutboundKind, OutboundMail
from kefu.tickets.models import Message, Ticket


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def ticket_url(ticket: Ticket) -> str:
    """Where the customer follows the ticket."""
    return conf.base_url() + reverse("tickets:portal_ticket", args=[ticket.case_number])


def _subject(kind: str, *, case: str, title: str) -> str:
    if kind == OutboundKind.ACK:
        return _("[{case}] We received your request: {title}").format(case=case, title=title)
    if kind == OutboundKind.INFO_REQUEST:
        return _("[{case}] We need more information: {title}").format(case=case, title=title)
    if kind == OutboundKind.RESOLVED:
        return _("[{case}] Your request has been resolved: {title}").format(case=case, title=title)
    if kind == OutboundKind.SECRET_WARNING:
        return _("[{case}] Security warning about your message").format(case=case)
    return _("Re: {title} [{case}]").format(case=case, title=title)


def _paragraphs(mail: OutboundMail, *, case: str, url: str) -> tuple[list[str], list[str]]:
    """(paragraphs before the agent's text, paragraphs after it)."""
    kind = mail.kind
    warning = str(mail.context.get("warning") or "")
    survey = str(mail.context.get("survey_url") or "")
    before: list[str] = []
    after: list[str] = []
    if kind == OutboundKind.ACK:
        before.append(
            _("Thank you for contacting us. We have received your request and opened case {case}.").format(
                case=case
            )
        )
        if warning:
            before.append(warning)
        after.append(
            _(
                "An agent will reply by email. To add details, reply to this email and keep {case} in the subject."
            ).format(case=case)
        )
    elif kind == OutboundKind.INFO_REQUEST:
        before.append(_("To continue with case {case}, we need more information from you:").format(case=case))
        after.append(_("Please reply to this email with the details; the case waits for your answer."))
    elif kind == OutboundKind.RESOLVED:
        before.append(_("Your request {case} has been resolved.").format(case=case))
        after.append(_("If the problem is not solved, reply to this email and the case will be reopened."))
        # The resolution's survey (created with the mail); the ticket's page where there is none.
        after.append(_("How did we do? Rate our support: {url}").format(url=survey or url))
    elif kind == OutboundKind.SECRET_WARNING:
        if warning:
            before.append(warning)
        before.append(
            _(
                "We have hidden it from case {case}. Our staff will never ask for your seed phrase or private key."
            ).format(case=case)
        )
    else:
        after.append(_("To reply, answer this email and keep {case} in the subject.").format(case=case))
    if kind != OutboundKind.RESOLVED or survey:
        after.append(_("You can follow your request online: {url}").format(url=url))
    return before, after


def message_text(message: Message, *, language: str) -> str:
    """A message as mail shows it: the bot's quick-reply buttons become numbered options
    ("回复 1: …") the customer can answer with (kefu.inbox.adapters.base.numbered_options)."""
    options = [str(option) for option in (message.extra or {}).get("quick_replies") or [] if option]
    return numbered_options(message.body, options, language=language)


def render_outbound(mail: OutboundMail) -> Rendered:
    """Render ``mail`` in its ticket's language (zh-hans or en)."""
    ticket = mail.ticket
    language = "en" if (ticket.language or "").startswith("en") else "zh-hans"
    with translation.override(language):
        case = ticket.case_number
        url = ticket_url(ticket)
        name = ticket.customer.display_name.strip() if ticket.customer is not None else ""
        before, after = _paragraphs(mail, case=case, url=url)
        body = message_text(mail.message, language=language) if mail.message is not None else ""
        context = {
            "kind": mail.kind,
            "language": language,
            "greeting": _("Hello {name},").format(name=name) if name else _("Hello,"),
            "before": before,
            "body": body,
            "after": after,
            "security": _(
                "We will never ask for your seed phrase, private key or password. Anyone who does is not us."
            ),
            "signature": _("{brand} Support").format(brand=conf.brand_name()),
            "case_line": _("Case number: {case}").format(case=case),
            "url": url,
            "case": case,
        }
        subject = " ".join(_subject(mail.kind, case=case, title=ticket.title).split())
        text = render_to_string(f"mail/{mail.kind}.txt", context)
        html = render_to_string(f"mail/{mail.kind}.html", context)
    return Rendered(subject=subject[:900], text=text.strip() + "\n", html=html)
