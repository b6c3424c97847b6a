"""WhatsApp Business Cloud API: the webhook in, the Graph API out.

Receive (``kefu.whatsapp.views.webhook``): Meta's ``GET`` verification echoes ``hub.challenge``
when ``hub.verify_token`` matches; every ``POST`` carries ``X-Hub-Signature-256``, the HMAC-SHA256
of the raw body with the app secret, checked here in constant time before anything is read. A
POST holds ``entry[].changes[].value`` with ``messages[]`` (text, interactive button/list
replies, template quick-reply buttons, photos and documents), ``contacts[]`` (the profile name)
and ``statuses[]`` (sent / delivered / read / failed of what Kefu sent: ``kefu.whatsapp.actions``).
The WhatsApp message id (``wamid…``) is the dedupe key: Meta redelivers until it hears 200.
Anything malformed or of an unknown type is logged (never its text) and skipped.

Send: ``POST {KEFU_WHATSAPP_API_URL}/{phone_number_id}/messages``: text; the bot's quick replies
as reply buttons (up to three) or a list; an agent's template message as a template. Outside the
24-hour customer-service window only a template may go (``kefu.whatsapp.window``).
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from kefu.inbox.adapters.base import Health, Parsed, RequestRefused, Sent, numbered_options
from kefu.inbox.models import InboundEvent, Inbox, InboxKind, OutboundDelivery
from kefu.tickets.models import Channel, Message

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "HTTP_X_HUB_SIGNATURE_256"
MAX_BUTTONS = 3  # WhatsApp's reply buttons
MAX_ROWS = 10  # a list message's rows
BUTTON_TITLE = 20  # characters of a reply button's title
ROW_TITLE = 24  # characters of a list row's title
INTERACTIVE_BODY = 1024
TEXT_BODY = 4096


class MissingSignature(RequestRefused):
    """No ``X-Hub-Signature-256`` at all (401, where a wrong one is 403)."""


def _quick_replies(message: Message) -> list[str]:
    extra = message.extra if isinstance(message.extra, dict) else {}
    labels = []
    for reply in extra.get("quick_replies") or ():
        label = (reply.get("label") or reply.get("title")) if isinstance(reply, dict) else reply
        if label:
            labels.append(str(label))
    return labels


def _language(message: Message) -> str:
    return str(getattr(message.ticket, "language", "") or "zh-hans")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def payload_for(message: Message) -> dict[str, Any]:
    """The Graph API message body (without ``to``) of a message as the customer should see it."""
    text = message.body or ""
    options = _quick_replies(message)
    if options and len(options) <= MAX_ROWS and len(text) <= INTERACTIVE_BODY:
        body = {"text": text or "…"}
        if len(options) <= MAX_BUTTONS:
            # A tapped button comes back as interactive.button_reply with this title and id: the
            # label itself, so the bot reads the reply as if it had been typed.
            buttons = [
                {"type": "reply", "reply": {"id": label[:256], "title": _cut(label, BUTTON_TITLE)}}
                for label in options
            ]
            return {
                "type": "interactive",
                "interactive": {"type": "button", "body": body, "action": {"buttons": buttons}},
            }
        word = "Choose" if _language(message).startswith("en") else "选择"
        rows = [{"id": label[:200], "title": _cut(label, ROW_TITLE)} for label in options]
        return {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": body,
                "action": {"button": word, "sections": [{"title": word, "rows": rows}]},
            },
        }
    # Too many options or too long for an interactive message: numbered options in the text.
    return {"type": "text", "text": {"preview_url": False, "body": _cut(render_text(message), TEXT_BODY)}}


def render_text(message: Message) -> str:
    return numbered_options(message.body, _quick_replies(message), language=_language(message))


# Extensions by type for files that come without a name (a photo); the upload checks sniff the
# bytes anyway and refuse a mismatch.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "application/pdf": "pdf",
}
FILE_TYPES = ("image", "document", "sticker")


def _media_of(message: dict[str, Any]) -> list[dict[str, str]]:
    """The file reference of a photo, document or sticker (the id the Graph API resolves)."""
    kind = str(message.get("type") or "")
    if kind not in FILE_TYPES:
        return []
    media = message.get(kind) or {}
    if not isinstance(media, dict) or not media.get("id"):
        return []
    mime = str(media.get("mime_type") or "").split(";")[0].strip()
    name = str(media.get("filename") or "") or f"{kind}.{EXTENSIONS.get(mime, 'bin')}"
    return [{"id": str(media["id"]), "name": name, "mime": mime, "size": ""}]


def _values(data: Any) -> list[dict[str, Any]]:
    """The ``value`` objects of a webhook body's ``messages`` changes; a malformed part is skipped."""
    values = []
    entries = data.get("entry") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else ():
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue
            value = change.get("value")
            if isinstance(value, dict):
                values.append(value)
    return values


def body_of(request: Any) -> Any:
    try:
        return json.loads(request.body)
    except ValueError:
        logger.warning("WhatsApp webhook: the body is not JSON; skipped")
        return {}


def _text_of(message: dict[str, Any]) -> str | None:
    """The text a customer's message carries; None for a type Kefu does not take."""
    kind = message.get("type")
    if kind == "text":
        return str((message.get("text") or {}).get("body") or "")
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        return str(reply.get("title") or reply.get("id") or "")
    if kind == "button":  # a template's quick-reply button
        return str((message.get("button") or {}).get("text") or "")
    if kind in FILE_TYPES:
        # The file itself is fetched by the job (fetch_media); the caption is the text.
        return str((message.get(kind) or {}).get("caption") or "")
    if kind in ("video", "audio"):
        # Not attachments Kefu keeps (the upload checks take images and PDFs): a note says what came.
        return f"[{kind}]"
    if kind == "location":
        place = message.get("location") or {}
        return f"[location: {place.get('name') or ''} {place.get('latitude')}, {place.get('longitude')}]"
    return None


class WhatsAppAdapter:
    kind: ClassVar[str] = InboxKind.WHATSAPP
    channel: ClassVar[str] = Channel.WHATSAPP
    pushes: ClassVar[bool] = True
    continues_open_case: ClassVar[bool] = True

    def verify(self, inbox: Inbox, request: Any) -> None:
        from kefu.whatsapp.client import config, signature_ok

        header = str(request.META.get(SIGNATURE_HEADER, "") or "")
        if not header:
            raise MissingSignature("no X-Hub-Signature-256")
        if not signature_ok(config(inbox).app_secret, request.body, header):
            raise RequestRefused("bad X-Hub-Signature-256")

    def parse(self, inbox: Inbox, request: Any) -> list[Parsed]:
        from kefu.whatsapp.client import config

        own_number = config(inbox).phone_number_id
        parsed: list[Parsed] = []
        for value in _values(body_of(request)):
            number = str((value.get("metadata") or {}).get("phone_number_id") or "")
            if own_number and number and number != own_number:
                logger.warning("WhatsApp webhook for another phone number id %s; skipped", number)
                continue
            names = {}
            for contact in value.get("contacts") or ():
                if isinstance(contact, dict) and contact.get("wa_id"):
                    names[str(contact["wa_id"])] = str((contact.get("profile") or {}).get("name") or "")
            for message in value.get("messages") or ():
                try:
                    if not isinstance(message, dict) or not message.get("id") or not message.get("from"):
                        raise ValueError("a message without id or sender")
                    text = _text_of(message)
                    sender = "".join(ch for ch in str(message["from"]) if ch.isdigit())
                    if not sender:
                        raise ValueError("a sender that is not a phone number")
                    if text is None:
                        # A reaction, an unsupported or a system message: stored as ignored
                        # (seen, deduplicated), never a message on the case.
                        logger.info("WhatsApp message of type %r ignored", str(message.get("type"))[:40])
                    parsed.append(
                        Parsed(
                            external_id=str(message["id"])[:255],
                            address=f"+{sender}",  # E.164, as ContactIdentity keeps phone numbers
                            display_name=names.get(str(message["from"]), ""),
                            body=text or "",
                            media=_media_of(message),
                            ignore="" if text is not None else "unsupported_type",
                        )
                    )
                except (TypeError, ValueError, AttributeError) as exc:
                    logger.warning("WhatsApp webhook: a malformed message skipped (%s)", type(exc).__name__)
        return parsed

    def statuses(self, inbox: Inbox, request: Any) -> list[dict[str, Any]]:
        """The ``statuses[]`` of a verified request (what became of the messages Kefu sent)."""
        found = []
        for value in _values(body_of(request)):
            for status in value.get("statuses") or ():
                if isinstance(status, dict) and status.get("id") and status.get("status"):
                    found.append(status)
        return found

    def render(self, message: Message) -> str:
        return render_text(message)

    def fetch_media(self, inbox: Inbox, ref: dict[str, str]) -> tuple[str, bytes] | None:
        """A customer's file: the media id's URL, then the bytes; None when it is larger than
        KEFU_WHATSAPP_MAX_MEDIA_BYTES (the pipeline notes it in the message and skips it)."""
        from django.conf import settings

        from kefu.whatsapp.client import Client, config

        got = Client(config(inbox)).media(ref["id"], limit=int(settings.KEFU_WHATSAPP_MAX_MEDIA_BYTES))
        return None if got is None else (ref.get("name") or "file", got[0])

    def send(self, delivery: OutboundDelivery) -> Sent:
        from kefu.inbox.adapters.base import SendFailed, SendRejected
        from kefu.whatsapp import selectors, window
        from kefu.whatsapp.client import Client, config

        message = delivery.message
        recipient = recipient_of(delivery)
        if not recipient:
            raise SendFailed("no WhatsApp contact on this case")
        template = selectors.template_payload(message)
        if template is not None:
            payload = template
        elif not window.state(message.ticket).open:
            # Checked before the provider says 131047: an agent's reply is refused when written
            # (kefu.whatsapp.actions); this is a reply that waited in the outbox past the window.
            raise SendRejected(
                "outside the 24-hour customer-service window: only an approved template can be sent"
            )
        else:
            payload = payload_for(message)
        inbox = delivery.inbox
        return Sent(provider_id=Client(config(inbox)).send({"to": recipient.lstrip("+"), **payload}))

    def health(self, inbox: Inbox) -> Health:
        """Configured, and the Graph API answers for the phone number with this token (the
        admin's inbox page adds what was received, the backlog, failed deliveries, last error)."""
        from kefu.inbox.adapters.base import SendFailed
        from kefu.whatsapp.client import Client, config

        cfg = config(inbox)
        if not cfg.enabled:
            return Health(
                ok=False, detail="not configured (KEFU_WHATSAPP_VERIFY_TOKEN, KEFU_WHATSAPP_APP_SECRET)"
            )
        if not (cfg.access_token and cfg.phone_number_id):
            return Health(ok=False, detail="receives only: no KEFU_WHATSAPP_ACCESS_TOKEN / _PHONE_NUMBER_ID")
        try:
            number = Client(cfg).phone_number()
        except SendFailed as exc:
            return Health(ok=False, detail=str(exc)[:300])
        quality = number.get("quality_rating") or "?"
        return Health(
            ok=True,
            detail=f"{number.get('display_phone_number', '')} {number.get('verified_name', '')} (quality {quality})",
        )


def recipient_of(delivery: OutboundDelivery) -> str:
    """The WhatsApp number a delivery goes to: the contact that wrote on its case on this inbox."""
    return (
        InboundEvent.objects.filter(
            ticket=delivery.message.ticket, inbox=delivery.inbox, contact__isnull=False
        )
        .order_by("-id")
        .values_list("contact__address", flat=True)
        .first()
        or ""
    )
