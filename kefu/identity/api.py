"""Identity endpoints of the REST API: codes, verification status and the emergency freeze. Thin."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja import Status as Reply

from kefu.clientip import client_ip
from kefu.httptypes import AuthedRequest
from kefu.identity import actions, selectors
from kefu.identity.exceptions import (
    ChallengeNotFound,
    DeliveryFailed,
    IdentityError,
    Locked,
    SendThrottled,
    VerificationRequired,
    WrongCode,
)
from kefu.tickets.models import Channel as TicketChannel

router = Router(tags=["identity"])


class ChallengeIn(Schema):
    channel: str


class ChallengeOut(Schema):
    challenge_id: str
    channel: str
    destination: str
    expires_at: datetime


class RefusalOut(Schema):
    detail: str
    retry_after: int | None = None
    attempts_left: int | None = None


class CodeIn(Schema):
    code: str


class VerifiedOut(Schema):
    verified: bool
    method: str
    verified_at: datetime
    expires_at: datetime


class StatusOut(Schema):
    verified: bool
    method: str | None = None
    verified_at: datetime | None = None
    expires_at: datetime | None = None


class FreezeIn(Schema):
    confirm: bool = False
    reason: str = ""


class FreezeOut(Schema):
    case_number: str
    frozen: bool
    frozen_at: datetime | None
    new_ticket: bool


def _refusal(exc: IdentityError, response: HttpResponse) -> Reply:
    if isinstance(exc, Locked | SendThrottled):
        response["Retry-After"] = str(exc.retry_after)
        return Reply(
            423 if isinstance(exc, Locked) else 429, {"detail": exc.message, "retry_after": exc.retry_after}
        )
    if isinstance(exc, WrongCode):
        return Reply(400, {"detail": exc.message, "attempts_left": exc.attempts_left})
    if isinstance(exc, ChallengeNotFound):
        return Reply(404, {"detail": exc.message})
    if isinstance(exc, DeliveryFailed):
        return Reply(503, {"detail": exc.message})
    return Reply(400, {"detail": exc.message})


@router.post(
    "/identity/challenges",
    response={
        201: ChallengeOut,
        400: RefusalOut,
        403: RefusalOut,
        423: RefusalOut,
        429: RefusalOut,
        503: RefusalOut,
    },
    summary="Send a one-time code to the registered email or phone",
)
def create_challenge(request: AuthedRequest, payload: ChallengeIn, response: HttpResponse):
    if request.user.is_agent:
        return Reply(403, {"detail": _("Customers only.")})
    try:
        challenge = actions.check_send_code(
            user=request.user,
            channel=payload.channel.strip(),
            ip_address=client_ip(request),
            language=get_language(),
        )
    except IdentityError as exc:
        return _refusal(exc, response)
    return Reply(
        201,
        {
            "challenge_id": str(challenge.public_id),
            "channel": challenge.channel,
            "destination": challenge.destination,
            "expires_at": challenge.expires_at,
        },
    )


@router.post(
    "/identity/challenges/{challenge_id}/verify",
    response={200: VerifiedOut, 400: RefusalOut, 403: RefusalOut, 404: RefusalOut, 423: RefusalOut},
    summary="Check a one-time code",
)
def verify_challenge(request: AuthedRequest, challenge_id: str, payload: CodeIn, response: HttpResponse):
    if request.user.is_agent:
        return Reply(403, {"detail": _("Customers only.")})
    try:
        verification = actions.check_verify_code(
            user=request.user, challenge_id=challenge_id, code=payload.code, ip_address=client_ip(request)
        )
    except IdentityError as exc:
        return _refusal(exc, response)
    return {
        "verified": True,
        "method": verification.method,
        "verified_at": verification.verified_at,
        "expires_at": verification.expires_at,
    }


@router.get("/identity/status", response=StatusOut, summary="Your current identity verification")
def verification_status(request: AuthedRequest):
    status = selectors.verification_status(request.user)
    if status is None or not status.still_valid:
        return {"verified": False}
    return {
        "verified": True,
        "method": status.method,
        "verified_at": status.verified_at,
        "expires_at": status.expires_at,
    }


@router.post(
    "/identity/freeze",
    response={201: FreezeOut, 200: FreezeOut, 400: RefusalOut, 403: RefusalOut},
    summary="Emergency freeze of your wallet account (needs a verification from the last 10 minutes)",
)
def request_freeze(request: AuthedRequest, payload: FreezeIn):
    if request.user.is_agent:
        return Reply(403, {"detail": _("Customers only.")})
    if not payload.confirm:
        return Reply(400, {"detail": _("Tick the box to confirm that you want to freeze your account.")})
    try:
        outcome = actions.do_request_freeze(
            customer=request.user,
            reason=payload.reason[:2000],
            language=get_language() or request.user.language,
            channel=TicketChannel.API,
            ip_address=client_ip(request),
        )
    except VerificationRequired as exc:
        return Reply(403, {"detail": exc.message})
    return Reply(
        201 if outcome.created else 200,
        {
            "case_number": outcome.ticket.case_number,
            "frozen": outcome.frozen,
            "frozen_at": outcome.frozen_at,
            "new_ticket": outcome.created,
        },
    )
