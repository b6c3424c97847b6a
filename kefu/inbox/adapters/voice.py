"""The phone hotline (客服热线): the voice inbox speaks the provider's TwiML webhooks.

A call is not a message: the flow lives in ``kefu.phone`` (IVR, queue, call-backs), which makes
the call's case itself (a caller may be unknown, and a case is opened as the call enters the
queue, not when someone writes). This adapter names the kind, verifies the provider's signature
and reports health, so the voice inbox is a channel like the others (docs/phone.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings

from kefu.inbox.adapters.base import Health, Parsed, RequestRefused, SendFailed, Sent
from kefu.inbox.models import Inbox, InboxKind, OutboundDelivery
from kefu.tickets.models import Channel, Message


class VoiceAdapter:
    kind: ClassVar[str] = InboxKind.VOICE
    channel: ClassVar[str] = Channel.PHONE
    pushes: ClassVar[bool] = False  # an agent's reply reaches a caller by phone or in the portal
    continues_open_case: ClassVar[bool] = True  # a caller's new call joins their open case

    def verify(self, inbox: Inbox, request: Any) -> None:
        from kefu.phone.views import signature_valid

        if not signature_valid(request):
            raise RequestRefused("invalid provider signature")

    def parse(self, inbox: Inbox, request: Any) -> list[Parsed]:
        return []  # calls are handled by kefu.phone's flow, not as messages

    def render(self, message: Message) -> str:
        return message.body

    def send(self, delivery: OutboundDelivery) -> Sent:
        raise SendFailed("the phone channel does not push messages")

    def health(self, inbox: Inbox) -> Health:
        needed = (
            (
                "KEFU_TELNYX_PUBLIC_KEY",
                "KEFU_TELNYX_API_KEY",
                "KEFU_TELNYX_APPLICATION_ID",
                "KEFU_PHONE_NUMBER",
            )
            if settings.KEFU_PHONE_PROVIDER == "telnyx"
            else ("KEFU_TWILIO_AUTH_TOKEN", "KEFU_TWILIO_ACCOUNT_SID", "KEFU_PHONE_NUMBER")
        )
        missing = [name for name in needed if not getattr(settings, name, "")]
        if missing:
            return Health(ok=False, detail="not set: " + ", ".join(missing))
        return Health(ok=True)
