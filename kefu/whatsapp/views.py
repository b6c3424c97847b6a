"""The WhatsApp webhook (Meta calls it) and the agent's template form; both only translate."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from kefu.httptypes import AuthedRequest
from kefu.inbox import pipeline
from kefu.inbox.adapters.base import RequestRefused
from kefu.inbox.adapters.whatsapp import MissingSignature, WhatsAppAdapter
from kefu.inbox.models import Inbox
from kefu.tickets import selectors as ticket_selectors
from kefu.tickets.views import staff_required
from kefu.whatsapp import actions
from kefu.whatsapp.client import config
from kefu.whatsapp.models import Template, TemplateStatus
from kefu.whatsapp.setup import ensure_inbox

logger = logging.getLogger(__name__)


def whatsapp_inbox() -> Inbox | None:
    """The WhatsApp inbox: the first active one, made on first use once the settings are there."""
    return ensure_inbox()


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    inbox = whatsapp_inbox()
    if inbox is None:
        raise Http404("WhatsApp is not configured")
    cfg = config(inbox)
    if request.method == "GET":
        # Meta's subscription check: echo the challenge only to whoever knows the verify token.
        token = request.GET.get("hub.verify_token", "")
        if (
            request.GET.get("hub.mode") == "subscribe"
            and cfg.verify_token
            and constant_time_compare(token, cfg.verify_token)
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponse("forbidden", status=403, content_type="text/plain")
    try:
        pipeline.receive(inbox, request)  # stored durably; the job does the rest
    except MissingSignature:
        return HttpResponse("signature required", status=401, content_type="text/plain")
    except RequestRefused:
        return HttpResponse("bad signature", status=403, content_type="text/plain")
    actions.do_apply_statuses(inbox, WhatsAppAdapter().statuses(inbox, request))
    return HttpResponse("ok", content_type="text/plain")


@staff_required
@require_POST
def send_template(request: AuthedRequest, case_number: str) -> HttpResponse:
    ticket = ticket_selectors.access_ticket(request.user, case_number)
    chosen = request.POST.get("template", "")
    template = get_object_or_404(
        Template, pk=int(chosen) if chosen.isdigit() else 0, status=TemplateStatus.APPROVED
    )
    params = [request.POST.get(f"param{n}", "") for n in range(1, template.param_count + 1)]
    try:
        actions.do_send_template(ticket=ticket, agent=request.user, template=template, params=params)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    return redirect("tickets:workspace_ticket", case_number=ticket.case_number)
