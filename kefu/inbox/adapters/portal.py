"""The portal: a signed-in customer's form. Synchronous: the case number is shown at once, so the
view calls :func:`kefu.inbox.pipeline.submit` (screen, event and steps in its transaction)."""

from __future__ import annotations

from typing import Any, ClassVar

from kefu.inbox.adapters.base import Health, Parsed, RequestRefused, SendFailed, Sent
from kefu.inbox.models import Inbox, InboxKind, OutboundDelivery
from kefu.tickets.models import Channel, Message


class FormAdapter:
    """What the portal and the API share: an authenticated request and its validated fields."""

    kind: ClassVar[str] = ""
    channel: ClassVar[str] = ""
    pushes: ClassVar[bool] = False  # the customer reads replies in the portal or through the API
    continues_open_case: ClassVar[bool] = False  # a new form is a new problem; a reply names its case

    def verify(self, inbox: Inbox, request: Any) -> None:
        # Django's session or the API token authenticated the request before the view ran.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            raise RequestRefused("not signed in")

    def parse(self, inbox: Inbox, request: Any) -> list[Parsed]:
        """``request.data``: the view's validated fields (title, description or body, …)."""
        data: dict[str, Any] = request.data
        user = request.user
        return [
            Parsed(
                external_id="",
                address=user.email or f"user:{user.pk}",
                display_name=user.display_name or "",
                title=str(data.get("title") or ""),
                body=str(data.get("description") or data.get("body") or ""),
                language=str(data.get("language") or ""),
                case_number=str(data.get("case_number") or ""),
                category=str(data.get("category") or ""),
                fields={
                    name: str(data.get(name) or "") for name in ("coin", "network", "tx_hash", "order_number")
                },
            )
        ]

    def render(self, message: Message) -> str:
        return message.body

    def send(self, delivery: OutboundDelivery) -> Sent:
        raise SendFailed(f"{self.kind} does not push messages: the customer reads them")

    def health(self, inbox: Inbox) -> Health:
        return Health(ok=True)


class PortalAdapter(FormAdapter):
    kind: ClassVar[str] = InboxKind.PORTAL
    channel: ClassVar[str] = Channel.PORTAL
