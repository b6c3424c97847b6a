"""The web widget: the bot and live chat. Their measured fast path stays in live chat (its
consumers write the case's thread directly); this adapter names the inbox kind and renders."""

from __future__ import annotations

from typing import Any, ClassVar

from kefu.inbox.adapters.base import Health, Parsed, RequestRefused, SendFailed, Sent
from kefu.inbox.models import Inbox, InboxKind, OutboundDelivery
from kefu.tickets.models import Channel, Message


class WidgetAdapter:
    kind: ClassVar[str] = InboxKind.WIDGET
    channel: ClassVar[str] = Channel.CHAT
    pushes: ClassVar[bool] = False  # live chat pushes over its WebSocket, not through the outbox
    continues_open_case: ClassVar[bool] = True

    def verify(self, inbox: Inbox, request: Any) -> None:
        raise RequestRefused("the widget's messages arrive through live chat")

    def parse(self, inbox: Inbox, request: Any) -> list[Parsed]:
        return []

    def render(self, message: Message) -> str:
        return message.body  # quick replies are chips in the widget

    def send(self, delivery: OutboundDelivery) -> Sent:
        raise SendFailed("live chat delivers the widget's messages")

    def health(self, inbox: Inbox) -> Health:
        return Health(ok=True)
