"""The provider's webhooks (TwiML in, TwiML out) and the agents' call-back page. Thin: check
the signature, find the call, hand the step to :mod:`kefu.phone.flow`.

Every webhook is signed by the provider (``X-Twilio-Signature``: HMAC-SHA1 with the auth token
over the URL it called and the form fields). The URL is rebuilt from ``KEFU_PUBLIC_URL``, not
from the Host header a proxy may have rewritten. These views are the only CSRF-exempt ones: the
signature is their proof of origin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from kefu.phone import actions, flow, selectors
from kefu.phone.models import CallStatus

logger = logging.getLogger(__name__)

TWIML_CONTENT_TYPE = "text/xml; charset=utf-8"


def signature_valid(request: HttpRequest) -> bool:
    token = str(settings.KEFU_TWILIO_AUTH_TOKEN or "")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False  # no token configured: the hotline is off, nothing is trusted
    account = str(settings.KEFU_TWILIO_ACCOUNT_SID or "")
    if account and request.POST.get("AccountSid", "") != account:
        return False
    url = selectors.public_url() + request.get_full_path()
    return bool(RequestValidator(token).validate(url, request.POST, signature))


def twiml(response: VoiceResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type=TWIML_CONTENT_TYPE)


View = Callable[..., VoiceResponse | HttpResponse]


def provider_webhook(view: View) -> Callable[..., HttpResponse]:
    """Signed POSTs only (403 otherwise); the answer is TwiML. A failure inside the flow ends the
    call politely (and is logged) rather than leaving the caller with the provider's error tone."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not signature_valid(request):
            return HttpResponseForbidden("invalid signature", content_type="text/plain")
        call_sid = request.POST.get("CallSid", "")
        if not call_sid or len(call_sid) > 64:
            return HttpResponse("CallSid is required", status=400, content_type="text/plain")
        try:
            result = view(request, *args, **kwargs)
        except Exception:
            logger.exception("phone webhook %s failed", request.path)
            return twiml(flow.ended(None))
        return result if isinstance(result, HttpResponse) else twiml(result)

    return wrapped


def _digits(request: HttpRequest) -> str:
    return selectors.clean_digits(request.POST.get("Digits"))


@provider_webhook
def voice(request: HttpRequest) -> VoiceResponse:
    """The incoming-call webhook: ``POST {KEFU_PUBLIC_URL}/phone/twilio/voice``."""
    inbox = selectors.voice_inbox()
    if inbox is None:
        return flow.ended(None)
    call = actions.do_start_call(
        inbox=inbox,
        call_sid=request.POST["CallSid"],
        caller=request.POST.get("From", "")[:40],
        called=request.POST.get("To", "")[:40],
    )
    if call.is_over:
        return flow.ended(call)
    return flow.incoming(call)


@provider_webhook
def step(request: HttpRequest, name: str) -> VoiceResponse:
    """A step of the flow (a ``<Gather>``'s action, the queue's wait URL and action, a recording)."""
    call = selectors.call_by_sid(request.POST["CallSid"])
    if call is None or call.is_over:
        return flow.ended(call)
    digits = _digits(request)
    post = request.POST
    if name == "lang":
        return flow.language(call, digits)
    if name == "menu":
        return flow.menu(call, digits)
    if name == "account":
        return flow.account(call, digits)
    if name == "case":
        return flow.case(call, digits)
    if name == "verify":
        return flow.verify(call, digits, request.GET.get("then", "queue"))
    if name == "wait":
        return flow.wait(call, post.get("QueuePosition", ""))
    if name == "waitkey":
        return flow.wait_key(call, digits, request.GET.get("position", ""))
    if name == "dequeued":
        return flow.dequeued(call, post.get("QueueResult", "")[:32])
    if name == "closed":
        return flow.closed(call, digits)
    if name == "voicemail":
        return flow.voicemail(
            call, {key: post.get(key, "") for key in ("RecordingUrl", "RecordingSid", "RecordingDuration")}
        )
    return flow.ended(call)


@provider_webhook
def status(request: HttpRequest) -> HttpResponse:
    """Status callbacks (ringing, in-progress, completed, busy, no-answer, failed, canceled)."""
    call = selectors.call_by_sid(request.POST["CallSid"])
    value = request.POST.get("CallStatus", "")
    if call is not None and value in CallStatus.values:
        actions.do_mark_status(call, status=value, duration=request.POST.get("CallDuration", "")[:8])
    return twiml(VoiceResponse())
