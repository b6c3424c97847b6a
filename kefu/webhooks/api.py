"""Webhook endpoints of the REST API (admins only). Thin: check the role, call actions."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja import Status as Reply

from kefu.accounts.models import Role
from kefu.httptypes import AuthedRequest
from kefu.webhooks import actions, selectors
from kefu.webhooks.models import Endpoint

router = Router(tags=["webhooks"])


class EndpointIn(Schema):
    url: str = Field(..., description="http(s) URL of the receiver; private addresses are refused")
    events: list[str] = Field(
        ..., description='Event names (ticket.created, message.created, ...) or ["*"] for all'
    )
    description: str = ""
    include_sensitive: bool = Field(
        False, description="Add titles, message texts and customer fields to payloads"
    )


class EndpointOut(Schema):
    id: str
    url: str
    events: list[str]
    description: str
    active: bool
    include_sensitive: bool
    disabled_reason: str
    created_at: datetime


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(..., description="whsec_ + base64: verify signatures with it (shown once here)")


class SecretOut(Schema):
    id: str
    secret: str
    previous_secret_expires_at: datetime | None


class DeliveryOut(Schema):
    message_id: str
    event_type: str
    status: str
    attempts: int
    response_code: int | None
    response_ms: int | None
    last_error: str
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {key: [str(m) for e in value for m in e.messages] for key, value in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def _is_admin(request: AuthedRequest) -> bool:
    return request.user.role == Role.ADMIN


def _forbidden() -> Reply:
    return Reply(403, {"detail": _("Only administrators can manage webhooks.")})


def _out(endpoint: Endpoint) -> dict[str, object]:
    return {
        "id": str(endpoint.public_id),
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "active": endpoint.is_active,
        "include_sensitive": endpoint.include_sensitive,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
    }


def _endpoint(endpoint_id: str) -> Endpoint:
    try:
        endpoint = selectors.endpoint_by_public_id(endpoint_id)
    except ValidationError:  # not a UUID
        endpoint = None
    if endpoint is None:
        raise Http404
    return endpoint


@router.post(
    "/webhooks",
    response={201: EndpointCreatedOut, 400: ErrorOut, 403: ErrorOut},
    summary="Register a webhook endpoint (admins)",
)
def create_webhook(request: AuthedRequest, payload: EndpointIn):
    if not _is_admin(request):
        return _forbidden()
    try:
        endpoint, secret = actions.do_create_endpoint(
            url=payload.url,
            events=payload.events,
            description=payload.description,
            include_sensitive=payload.include_sensitive,
            actor=request.user,
        )
    except ValidationError as exc:
        return Reply(400, {"detail": _("Invalid input."), "errors": _errors(exc)})
    return Reply(201, {**_out(endpoint), "secret": secret})


@router.get(
    "/webhooks", response={200: list[EndpointOut], 403: ErrorOut}, summary="Webhook endpoints (admins)"
)
def list_webhooks(request: AuthedRequest):
    if not _is_admin(request):
        return _forbidden()
    return [_out(endpoint) for endpoint in selectors.endpoints()]


@router.delete("/webhooks/{endpoint_id}", response={204: None, 403: ErrorOut}, summary="Delete an endpoint")
def delete_webhook(request: AuthedRequest, endpoint_id: str):
    if not _is_admin(request):
        return _forbidden()
    actions.do_delete_endpoint(endpoint=_endpoint(endpoint_id), actor=request.user)
    return HttpResponse(status=204)


@router.post(
    "/webhooks/{endpoint_id}/rotate",
    response={200: SecretOut, 403: ErrorOut},
    summary="Rotate the signing secret (the previous one keeps signing for a while)",
)
def rotate_webhook_secret(request: AuthedRequest, endpoint_id: str):
    if not _is_admin(request):
        return _forbidden()
    endpoint, secret = actions.do_rotate_secret(endpoint=_endpoint(endpoint_id), actor=request.user)
    return {
        "id": str(endpoint.public_id),
        "secret": secret,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
    }


@router.get(
    "/webhooks/{endpoint_id}/deliveries",
    response={200: list[DeliveryOut], 403: ErrorOut},
    summary="An endpoint's latest deliveries (the delivery log)",
)
def list_deliveries(request: AuthedRequest, endpoint_id: str):
    if not _is_admin(request):
        return _forbidden()
    return [
        {
            "message_id": d.message_id,
            "event_type": d.event_type,
            "status": d.status,
            "attempts": d.attempts,
            "response_code": d.response_code,
            "response_ms": d.response_ms,
            "last_error": d.last_error,
            "next_attempt_at": d.next_attempt_at,
            "created_at": d.created_at,
            "delivered_at": d.delivered_at,
        }
        for d in selectors.deliveries_of(_endpoint(endpoint_id))
    ]
