"""Pages: verify by code, sign in with the wallet's token, freeze, and (staff) unfreeze. Thin."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from kefu import inputs
from kefu.accounts import ratelimit
from kefu.clientip import client_ip
from kefu.httptypes import AuthedRequest
from kefu.identity import actions, conf, selectors
from kefu.identity.exceptions import (
    IdentityError,
    InvalidIdentityToken,
    Locked,
    SendThrottled,
    VerificationRequired,
)
from kefu.identity.models import Delivery, VerificationChallenge
from kefu.tickets.selectors import access_ticket
from kefu.wallet.backend import WalletBackendError, get_wallet_backend

MODEL_BACKEND = "kefu.accounts.backends.EmailBackend"
TOKEN_RATE = (30, 60)  # wallet sign-ins per IP per minute: a replay or brute-force brake


def _safe_next(request: HttpRequest, default: str = "") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in customers only; staff get 404 (verification is about a customer's own account)."""

    @login_required
    @wraps(view)
    def wrapped(request: AuthedRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_agent:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def verified_required(
    *, max_age: int | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: send customers without a (fresh enough) verification to verify first."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: AuthedRequest, *args, **kwargs) -> HttpResponse:
            if selectors.valid_verification(request.user, max_age=max_age) is None:
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('identity:verify')}?{query}")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _status_for(exc: IdentityError) -> int:
    if isinstance(exc, Locked):
        return 423
    if isinstance(exc, SendThrottled):
        return 429
    return 400


def _open_challenge(request: AuthedRequest, challenge_id: str | None) -> VerificationChallenge | None:
    if not challenge_id:
        return None
    try:
        return VerificationChallenge.objects.filter(
            user=request.user,
            public_id=challenge_id,
            used_at__isnull=True,
            delivery=Delivery.SENT,
            expires_at__gt=timezone.now(),
        ).first()
    except ValidationError:  # not a UUID
        return None


@never_cache
@customer_required
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def verify(request: AuthedRequest) -> HttpResponse:
    """Choose email or phone, get a code, enter it."""
    user = request.user
    next_url = _safe_next(request)
    challenge_id = request.POST.get("challenge") or request.GET.get("challenge")
    error: str | None = None
    status = 200
    if request.method == "POST" and request.POST.get("action") == "send":
        try:
            challenge = actions.check_send_code(
                user=user,
                channel=request.POST.get("channel", ""),
                ip_address=client_ip(request),
                language=get_language(),
            )
        except IdentityError as exc:
            error, status = exc.message, _status_for(exc)
        else:
            messages.info(
                request, _("We sent a code to {destination}.").format(destination=challenge.destination)
            )
            query = {"challenge": str(challenge.public_id)} | ({"next": next_url} if next_url else {})
            return redirect(f"{reverse('identity:verify')}?{urlencode(query)}")
    elif request.method == "POST" and request.POST.get("action") == "verify":
        try:
            actions.check_verify_code(
                user=user,
                challenge_id=challenge_id or "",
                code=request.POST.get("code", ""),
                ip_address=client_ip(request),
            )
        except IdentityError as exc:
            error, status = exc.message, _status_for(exc)
        else:
            messages.success(request, _("Your identity is verified."))
            return redirect(next_url or reverse("identity:verify"))
    locked_seconds = selectors.lock_remaining(user)
    context = {
        "channels": selectors.available_channels(user),
        "codes_on_console": selectors.codes_reach_only_the_console(),
        "status": selectors.verification_status(user),
        "locked_seconds": locked_seconds,
        "challenge": _open_challenge(request, challenge_id),
        "next": next_url,
        "error": error,
    }
    context["locked_minutes"] = max(1, (locked_seconds + 59) // 60)
    return render(request, "identity/verify.html", context, status=status)


@never_cache
@customer_required
@require_http_methods(["GET", "POST"])
def freeze(request: AuthedRequest) -> HttpResponse:
    """The emergency freeze: a fresh verification, one clear confirmation, then freeze and a ticket."""
    user = request.user
    fresh = selectors.valid_verification(user, max_age=conf.freeze_max_age())
    error: str | None = None
    if request.method == "POST":
        if fresh is None:
            error = _("Please verify your identity first.")
        elif request.POST.get("confirm") != "yes":
            error = _("Tick the box to confirm that you want to freeze your account.")
        else:
            try:
                outcome = actions.do_request_freeze(
                    customer=user,
                    reason=request.POST.get("reason", "")[:2000],
                    language=get_language() or user.language,
                    ip_address=client_ip(request),
                )
            except VerificationRequired as exc:
                error = exc.message
            else:
                return render(request, "identity/freeze_done.html", {"outcome": outcome})
    account_frozen = None
    try:
        backend = get_wallet_backend()
        uid = selectors.wallet_uid_for(user, backend)
        account_frozen = backend.account_state(uid).is_frozen if uid else None
    except WalletBackendError:
        account_frozen = None
    context = {
        "fresh": fresh,
        "account_frozen": account_frozen,
        # Once frozen, the page explains how to unfreeze instead of offering to freeze again.
        "freeze_ticket": selectors.open_freeze_ticket(user) if account_frozen else None,
        "error": error,
        "verify_url": f"{reverse('identity:verify')}?{urlencode({'next': reverse('identity:freeze')})}",
    }
    return render(request, "identity/freeze.html", context, status=400 if error else 200)


def _token_from(request: HttpRequest) -> str:
    if request.content_type == "application/json":
        try:
            body = inputs.loads(request.body or b"{}")
        except ValueError:  # kefu.inputs.BadInput too: a body nested 100,000 deep is no token
            return ""
        if isinstance(body, dict):
            return str(body.get("identity_token") or body.get("token") or "")
        return ""
    return request.POST.get("identity_token") or request.POST.get("token") or ""


def _token_limited(request: HttpRequest) -> bool:
    limit, window = TOKEN_RATE
    return not ratelimit.hit("identity-token-ip", client_ip(request) or "-", limit=limit, window=window)


# The wallet app posts from its own origin or a native client without Kefu's CSRF cookie; the
# signed, single-use token is the credential, so CSRF protection adds nothing here.
@csrf_exempt
@never_cache
@require_POST
def token_sign_in(request: HttpRequest) -> JsonResponse:
    """``POST /identity/token``: sign the customer in with the wallet's signed identity token."""
    if _token_limited(request):
        return JsonResponse({"detail": _("Too many requests. Please try again shortly.")}, status=429)
    try:
        verification = actions.do_sign_in_with_token(raw=_token_from(request), ip_address=client_ip(request))
    except InvalidIdentityToken as exc:
        return JsonResponse({"detail": exc.message, "error": exc.reason}, status=400)
    login(request, verification.user, backend=MODEL_BACKEND)
    return JsonResponse(
        {
            "signed_in": True,
            "customer": str(verification.user.public_id),
            "method": verification.method,
            "verified_at": verification.verified_at.isoformat(),
            "expires_at": verification.expires_at.isoformat(),
        }
    )


@never_cache
@require_http_methods(["GET"])
def sso(request: HttpRequest) -> HttpResponse:
    """``identity/sso/?identity_token=…&next=…``: the wallet app's link into support, signed in."""
    if _token_limited(request):
        response = render(
            request,
            "identity/sso_error.html",
            {"error": _("Too many requests. Please try again shortly.")},
            status=429,
        )
    else:
        try:
            verification = actions.do_sign_in_with_token(
                raw=request.GET.get("identity_token", ""), ip_address=client_ip(request)
            )
        except InvalidIdentityToken as exc:
            response = render(request, "identity/sso_error.html", {"error": exc.message}, status=400)
        else:
            login(request, verification.user, backend=MODEL_BACKEND)
            response = redirect(_safe_next(request, resolve_url(settings.LOGIN_REDIRECT_URL)))
    # The token is in this URL: keep it out of the next page's Referer header.
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@never_cache
@require_http_methods(["GET"])
def account_card(request: AuthedRequest, case_number: str) -> HttpResponse:
    """Staff: the ticket customer's wallet account state (and the unfreeze form for specialists),
    as an HTML fragment the ticket view loads after it has shown."""
    if not request.user.is_agent:
        raise Http404
    ticket = access_ticket(request.user, case_number)
    state, wallet_error = None, False
    try:
        backend = get_wallet_backend()
        uid = selectors.wallet_uid_for(ticket.customer, backend) if ticket.customer else None
        state = backend.account_state(uid) if uid else None
    except WalletBackendError:
        wallet_error = True
    context = {
        "ticket": ticket,
        "account_state": state,
        "wallet_error": wallet_error,
        "can_unfreeze": request.user.tier >= 2 and state is not None and state.is_frozen,
    }
    return render(request, "identity/_account_state.html", context)


@login_required
@require_POST
def unfreeze(request: AuthedRequest, case_number: str) -> HttpResponse:
    """Staff: lift a freeze from the ticket's customer (specialists and above, after verification)."""
    if not request.user.is_agent:
        raise Http404
    ticket = access_ticket(request.user, case_number)
    try:
        result = actions.do_unfreeze(
            ticket=ticket,
            specialist=request.user,
            confirmed=request.POST.get("confirm") == "yes",
            reason=request.POST.get("reason", "")[:2000],
            ip_address=client_ip(request),
        )
    except VerificationRequired as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except WalletBackendError:
        messages.error(
            request, _("The wallet system did not respond. Nothing was changed; please try again.")
        )
    else:
        if result.changed:
            messages.success(request, _("The customer's account is unfrozen."))
        else:
            messages.info(request, _("The customer's account was not frozen."))
    return redirect("tickets:workspace_ticket", case_number=ticket.case_number)
