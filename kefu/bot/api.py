"""``POST /api/v1/bot/messages``: the bot over HTTP, for the chat panel and integrations."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja import Status as Reply
from ninja.utils import check_csrf

from kefu.accounts import ratelimit
from kefu.accounts.actions import authenticate_api_token
from kefu.bot import understand
from kefu.bot.actions import access_conversation, do_handle_message
from kefu.clientip import client_ip

router = Router(tags=["bot"])


class BotMessageIn(Schema):
    conversation_id: str | None = None
    text: str


class ArticleOut(Schema):
    slug: str
    title: str
    url: str


class HandoffOut(Schema):
    """Where the customer continues: a live chat (``kind`` "chat") or a ticket ("ticket").

    ``url`` is the chat's page or the ticket's. Urgent topics handed to live chat have a case
    too: ``case_number`` and ``ticket_url``.
    """

    kind: str
    url: str
    case_number: str | None = None
    ticket_url: str | None = None
    chat_id: str | None = None
    position: int | None = None
    eta_seconds: int | None = None


class BotMessageOut(Schema):
    conversation_id: str
    reply: str
    intent: str | None
    confidence: float | None
    quick_replies: list[str]
    articles: list[ArticleOut]
    handoff: HandoffOut | None
    secret_warning: str | None
    needs_sign_in: bool
    # The detail the reply asks for (a slot name of the dialogue format: coin, network, amount,
    # time, txid, ...), or None when it asks for none.
    asking: str | None = None


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


def _caller(request: HttpRequest):
    """Bearer token, else the session (whose unsafe requests need the CSRF token), else anonymous."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return authenticate_api_token(header[7:].strip()), True
    return (request.user if request.user.is_authenticated else None), False


@router.post(
    "/bot/messages",
    auth=None,
    response={200: BotMessageOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    summary="Send a message to the bot",
)
def post_message(request: HttpRequest, payload: BotMessageIn):
    user, by_token = _caller(request)
    if request.headers.get("Authorization", "").startswith("Bearer ") and user is None:
        return Reply(401, {"detail": _("Authentication required.")})
    if not by_token and check_csrf(request) is not None:
        return Reply(403, {"detail": _("Missing or invalid CSRF token.")})
    ident = f"user:{user.pk}" if user else f"ip:{client_ip(request) or ''}"
    if not ratelimit.hit(
        "bot-message", ident, limit=settings.KEFU_BOT_RATE[0], window=settings.KEFU_BOT_RATE[1]
    ):
        return Reply(429, {"detail": _("You are sending messages too quickly. Please wait a moment.")})
    if not payload.text.strip():
        return Reply(
            400, {"detail": _("Invalid input."), "errors": {"text": [_("Please type your question.")]}}
        )
    conversation = None
    if payload.conversation_id:
        conversation = access_conversation(payload.conversation_id, customer=user)
        if conversation is None:
            return Reply(404, {"detail": _("No such conversation.")})
    reply = do_handle_message(
        conversation=conversation,
        customer=user,
        text=payload.text,
        language=get_language() or "zh-hans",
        ip_address=client_ip(request),
        browser=understand.browser_language(
            request.headers.get("Accept-Language", ""), default=get_language() or "zh-hans"
        ),
    )
    return {
        "conversation_id": reply.conversation_id,
        "reply": reply.text,
        "intent": reply.intent,
        "confidence": reply.confidence,
        "quick_replies": reply.quick_replies,
        "articles": [a.__dict__ for a in reply.articles],
        "handoff": reply.handoff,
        "secret_warning": reply.secret_warning,
        "needs_sign_in": reply.needs_sign_in,
        "asking": reply.asking,
    }
