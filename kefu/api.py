"""The REST API (``/api/v1/``): one NinjaAPI, each domain app contributes a router."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from kefu.accounts.actions import authenticate_api_token


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # type: ignore[override]
        user = authenticate_api_token(token)
        if user is not None:
            request.user = user
        return user


# Session auth (with its CSRF check) lets the site's own pages call the API too.
AUTH = [BearerToken(), SessionAuth()]

api = NinjaAPI(
    title="Kefu API",
    version="1.0",
    description="Customer support for crypto wallets and exchanges. Authenticate with "
    "`Authorization: Bearer <token>` (create one with `kefu token create EMAIL`).",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=AUTH,
    urls_namespace="api",
)

_PYDANTIC_MESSAGES = {
    "missing": lambda: _("This field is required."),
    "string_too_short": lambda: _("This field cannot be blank."),
    "string_too_long": lambda: _("This value is too long."),
    "int_parsing": lambda: _("Enter a whole number."),
    "decimal_parsing": lambda: _("Enter a number."),
    "string_type": lambda: _("Enter text."),
    "json_invalid": lambda: _("The request body is not valid JSON."),
}


@api.exception_handler(ValidationError)
def localized_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Field errors in the request's language, shaped ``{"errors": {field: [messages]}}``."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        field = ".".join(loc) or "__all__"
        message = _PYDANTIC_MESSAGES.get(error.get("type", ""), lambda: _("Enter a valid value."))()
        errors.setdefault(field, []).append(message)
    return api.create_response(request, {"detail": _("Invalid input."), "errors": errors}, status=400)


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": _("Authentication required.")}, status=401)


def _add_routers() -> None:
    from kefu.bot.api import router as bot_router
    from kefu.helpcenter.api import router as helpcenter_router
    from kefu.identity.api import router as identity_router
    from kefu.tickets.api import router as tickets_router
    from kefu.trust.api import router as trust_router

    api.add_router("", tickets_router)
    api.add_router("", bot_router)
    api.add_router("", identity_router)
    api.add_router("", trust_router)
    api.add_router("", helpcenter_router)


_add_routers()
