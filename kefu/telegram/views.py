"""``POST /channels/telegram/webhook``: verify the secret, store the update durably, answer 200.

The pipeline does the rest in a job (``kefu.inbox.pipeline.process``). 401 for a missing or
wrong secret (nothing stored); 404 when no bot is configured. A malformed or unknown update is
stored as ignored and answered 200: Telegram must not keep redelivering what we will never take.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from kefu.inbox import pipeline
from kefu.inbox.adapters.base import RequestRefused

MAX_BODY = 1024 * 1024  # an Update is a few kilobytes; anything this large is not one


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    from kefu.telegram.setup import ensure_inbox

    inbox = ensure_inbox()
    if inbox is None:
        return JsonResponse({"ok": False, "detail": "Telegram is not configured"}, status=404)
    if len(request.body) > MAX_BODY:
        return JsonResponse({"ok": False, "detail": "too large"}, status=413)
    try:
        pipeline.receive(inbox, request)
    except RequestRefused:
        return JsonResponse({"ok": False, "detail": "bad secret token"}, status=401)
    return JsonResponse({"ok": True})


@login_required
@require_GET
def link(request: HttpRequest) -> HttpResponse:
    """The signed-in customer's deep link: ``t.me/<bot>?start=<signed token>`` links the chat
    that opens it to their account (kefu.inbox.linking); a typed email never does."""
    from kefu.inbox.linking import token_for
    from kefu.inbox.models import InboxKind
    from kefu.telegram.setup import bot_username, ensure_inbox

    username = bot_username() if ensure_inbox() is not None else ""
    if not username:
        return HttpResponse(status=404)
    token = token_for(request.user, kind=InboxKind.TELEGRAM)  # type: ignore[arg-type]
    return HttpResponseRedirect(f"https://t.me/{username}?start={token}")
