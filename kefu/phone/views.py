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
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from kefu.accounts.models import User
from kefu.phone import actions, flow, selectors
from kefu.phone.models import AgentLine, Call, Callback, CallbackStatus, CallStatus

logger = logging.getLogger(__name__)

TWIML_CONTENT_TYPE = "text/xml; charset=utf-8"


def signature_valid(request: HttpRequest) -> bool:
    """The provider's proof of origin: Twilio's HMAC over the URL and form (SignalWire's too),
    or Telnyx's Ed25519 signature (``KEFU_PHONE_PROVIDER``); anything else is refused."""
    if settings.KEFU_PHONE_PROVIDER == "telnyx":
        from kefu.phone.telnyx import signature_valid as telnyx_signature_valid

        return telnyx_signature_valid(request)
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
            with actions.one_job_per_call():
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


# --- the agents' legs (outbound calls Kefu placed through the REST API) -----------------------------


@provider_webhook
def connect_agent(request: HttpRequest, call_pk: int, agent_pk: int) -> VoiceResponse:
    call = Call.objects.select_related("ticket", "inbox").filter(pk=call_pk).first()
    if call is None or call.is_over:
        return flow.ended(call)
    return flow.connect_agent(call, agent_pk)


@provider_webhook
def whisper(request: HttpRequest, agent_pk: int) -> VoiceResponse:
    """<Queue url>: said to the agent; ``CallSid`` is the caller's call being dequeued."""
    call = selectors.call_by_sid(request.POST["CallSid"])
    agent = User.objects.filter(pk=agent_pk, is_active=True).first()
    if call is None or agent is None or not agent.is_agent:
        return VoiceResponse()
    return flow.whisper(call, agent)


@provider_webhook
def recording(request: HttpRequest, call_pk: int) -> HttpResponse:
    """The recording status callback of a bridged call (KEFU_PHONE_RECORD_CALLS): its link on the case."""
    call = Call.objects.select_related("ticket", "inbox").filter(pk=call_pk).first()
    url = request.POST.get("RecordingUrl", "")[:500]
    if (
        call is not None
        and request.POST.get("RecordingStatus", "completed") == "completed"
        and url.startswith("https://")
    ):
        actions.do_record_conversation(
            call,
            recording_url=url,
            recording_sid=request.POST.get("RecordingSid", "")[:64],
            duration=request.POST.get("RecordingDuration", "")[:8],
        )
    return twiml(VoiceResponse())


@provider_webhook
def callback_agent(request: HttpRequest, pk: int) -> VoiceResponse:
    callback = Callback.objects.select_related("call", "ticket", "customer").filter(pk=pk).first()
    if callback is None or callback.status != CallbackStatus.DIALLING:
        return flow.ended(None)
    return flow.callback_agent(callback)


@provider_webhook
def callback_result(request: HttpRequest, pk: int) -> HttpResponse:
    """The <Dial> action (DialCallStatus: the customer's leg) or the agent leg's status callback
    (the agent did not answer)."""
    callback = Callback.objects.filter(pk=pk).first()
    dial_status = request.POST.get("DialCallStatus", "")
    call_status = request.POST.get("CallStatus", "")
    if callback is not None:
        if dial_status:
            actions.do_callback_result(callback, dial_status=dial_status)
        elif call_status in ("busy", "no-answer", "failed", "canceled"):
            actions.do_callback_result(callback, dial_status=call_status)
    response = VoiceResponse()
    if dial_status:
        response.hangup()
    return twiml(response)


# --- the agents' call-back queue ----------------------------------------------------------------------


def _agents_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in agents only; anyone else gets a 404 (the page's existence is not advertised)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or not getattr(user, "is_agent", False):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


@_agents_only
def callbacks(request: HttpRequest) -> HttpResponse:
    """The call-backs waiting, in the order their callers joined the queue."""
    rows = [
        {"callback": callback, "number": selectors.callback_number(callback)}
        for callback in selectors.callback_queue()[:200]
    ]
    agent = cast(User, request.user)
    line = AgentLine.objects.filter(user=agent).first()
    # The agent's calls now: the case to open while the caller is on the line.
    current = selectors.current_calls(agent)
    return render(request, "phone/callbacks.html", {"rows": rows, "line": line, "current": current})


@_agents_only
@require_POST
def callback_dial(request: HttpRequest, pk: int) -> HttpResponse:
    callback = Callback.objects.select_related("call", "ticket", "customer").filter(pk=pk).first()
    if callback is None:
        raise Http404
    try:
        actions.do_dial_callback(callback, agent=request.user)  # type: ignore[arg-type]
    except actions.CallbackRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your phone will ring first; then the customer is dialled."))
    return redirect("phone:callbacks")


@_agents_only
@require_POST
def agent_line(request: HttpRequest) -> HttpResponse:
    try:
        actions.do_set_agent_line(user=request.user, address=request.POST.get("address", "")[:200])  # type: ignore[arg-type]
    except actions.CallbackRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your phone line is saved."))
    return redirect("phone:callbacks")
