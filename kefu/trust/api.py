"""Trust endpoints of the REST API: is a contact official? Public, no authentication."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from kefu.trust.verifier import KINDS, InvalidChannelValue, advice_for, check_channel


class ChannelCheckOut(Schema):
    official: bool
    kind: str
    normalized: str
    lookalike_of: str | None
    matched: str | None
    # The Unicode form of an internationalised (xn--) domain, as browsers show it; "" otherwise.
    unicode: str = ""
    advice: str


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


def check_payload(*, kind: str, value: str) -> dict:
    """The JSON answer shared by the API and ``kefu channels check``."""
    result = check_channel(kind=kind, value=value)
    return {
        "official": result.official,
        "kind": result.kind,
        "normalized": result.normalized,
        "lookalike_of": result.lookalike_of,
        "matched": result.matched,
        "unicode": result.unicode,
        "advice": advice_for(result),
    }


def build_router() -> Router:
    """A fresh router (a router can be mounted on one API only; tests mount their own)."""
    router = Router(tags=["trust"])

    @router.get(
        "/channels/check",
        response={200: ChannelCheckOut, 400: ErrorOut},
        auth=None,
        summary="Is a website, email address, phone number or handle an official channel?",
        description="`kind` is one of website, email, phone, telegram, x, other. Anything not "
        "registered is reported as not official; `lookalike_of` names the official channel a "
        "look-alike imitates.",
    )
    def check_official_channel(request: HttpRequest, kind: str, value: str):
        if kind not in KINDS:
            return Status(
                400,
                {
                    "detail": _("Invalid input."),
                    "errors": {"kind": [_("Choose one of: {kinds}.").format(kinds=", ".join(KINDS))]},
                },
            )
        try:
            return Status(200, check_payload(kind=kind, value=value))
        except InvalidChannelValue as exc:
            return Status(400, {"detail": _("Invalid input."), "errors": {"value": [str(exc)]}})

    return router


router = build_router()
