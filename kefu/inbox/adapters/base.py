"""What a channel adapter is: the five things the inbound pipeline and the outbox ask of a channel.

A channel is one module under ``kefu/inbox/adapters/`` with a class implementing
:class:`Adapter`, registered with :func:`register` when the inbox app is ready, and one contract
fixture (``kefu/inbox/tests/test_contract.py``). Nothing outside the adapter knows the channel's
wire format. docs/channels.md walks through the email adapter as the worked example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from kefu.inbox.models import Inbox, OutboundDelivery
    from kefu.tickets.models import Message


class RequestRefused(Exception):
    """``verify`` refused the request (a bad signature, an unknown sender of a webhook)."""


class SendFailed(Exception):
    """``send`` could not deliver now; the outbox retries it with back-off."""


class SendRejected(SendFailed):
    """The provider refused the message for good (a blocked bot, outside a messaging window, an
    invalid recipient): the outbox fails the delivery at once with this reason, no retries."""


@dataclass(frozen=True)
class Parsed:
    """One customer message as the channel sent it, before the secret guard.

    Nothing of it is stored: :func:`kefu.inbox.pipeline.screen` turns it into the payload that is.
    """

    external_id: str  # the channel's id of the message (Message-ID, provider id); "" if none
    address: str  # who wrote it, as the channel names them (normalised by the adapter)
    body: str
    display_name: str = ""
    # Leave empty on a channel without subjects: the pipeline cuts one from the screened text.
    # Never cut raw text here: a cut seed phrase is a fragment the guard cannot recognise.
    title: str = ""
    language: str = ""
    case_number: str = ""  # a case the message names (a subject's "[KF-…]", a reply's URL)
    category: str = ""  # a category slug the customer chose (a form)
    fields: dict[str, str] = field(default_factory=dict)  # coin, network, tx_hash, order_number
    # A channel command the bot answers whatever the case's stage (Telegram's /start, /verify):
    # its name; the arguments are the body (screened like any text).
    command: str = ""
    # Files the job fetches (``adapter.fetch_media``): the channel's references, never bytes
    # (the webhook answers fast). Each a dict of str: id, name, mime, size.
    media: list[dict[str, str]] = field(default_factory=list)
    # Not a customer message (an unknown update type, a malformed one, a group message not for
    # us): stored as an ignored event with this reason, so it is seen, deduplicated and skipped.
    ignore: str = ""


@dataclass(frozen=True)
class Submitted:
    """What a synchronous channel's view hands its adapter: the signed-in user and the fields
    its form or schema validated."""

    user: Any
    data: dict[str, Any]


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""
    # Updates waiting at the provider (Telegram's getWebhookInfo pending_update_count); None:
    # the channel does not say. The admin's inbox page and `kefu check` show it.
    pending: int | None = None


@dataclass(frozen=True)
class Sent:
    provider_id: str = ""


class Adapter(Protocol):
    """One channel kind (``kefu.inbox.models.InboxKind``)."""

    kind: ClassVar[str]
    channel: ClassVar[str]  # the ticket's Channel its messages carry (kefu.tickets.models.Channel)
    # Whether the channel pushes a reply to the customer (email, messaging) or the customer
    # fetches it (the portal and the API show the thread): only pushing channels get deliveries.
    pushes: ClassVar[bool]
    # Whether a message with no case reference continues the contact's open case (a chat-like
    # channel) or opens a new one (a new mail, a new portal form is a new problem).
    continues_open_case: ClassVar[bool]

    def verify(self, inbox: Inbox, request: Any) -> None:
        """Raise :class:`RequestRefused` unless the request really comes from the channel."""

    def parse(self, inbox: Inbox, request: Any) -> list[Parsed]:
        """The customer messages in a verified request (a webhook may carry several)."""

    def render(self, message: Message) -> str:
        """A message as this channel shows it (quick replies as numbered options in text)."""

    def send(self, delivery: OutboundDelivery) -> Sent:
        """Deliver one message; raise :class:`SendFailed` (or anything) to be retried."""

    def health(self, inbox: Inbox) -> Health:
        """Whether the channel can receive and send now (for the admin and ``kefu check``)."""


_adapters: dict[str, Adapter] = {}


def register(adapter: Adapter) -> None:
    """Make an adapter available for its kind (called from the inbox app's ``ready``)."""
    _adapters[adapter.kind] = adapter


def adapter_for(kind: str) -> Adapter:
    try:
        return _adapters[kind]
    except KeyError:
        raise LookupError(f"no adapter registered for channel kind {kind!r}") from None


def registered() -> dict[str, Adapter]:
    return dict(_adapters)


def numbered_options(text: str, options: list[str], *, language: str) -> str:
    """The bot's buttons for a text-only channel: "回复 1 …" lines under the text (item 4)."""
    if not options:
        return text
    word = "Reply" if language.startswith("en") else "回复"
    lines = [f"{word} {number}: {label}" for number, label in enumerate(options, start=1)]
    return "\n\n".join(part for part in (text, "\n".join(lines)) if part)
