"""The REST API (``/api/v1/``): one NinjaAPI, each domain app contributes a router."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth

from kefu import inputs
from kefu.accounts.actions import authenticate_api_token


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = authenticate_api_token(token)
        if user is not None:
            request.user = user
        return user


# Session auth (with its CSRF check) lets the site's own pages call the API too.
AUTH = [BearerToken(), SessionAuth()]


class BoundaryParser(Parser):
    """JSON bodies through :func:`kefu.inputs.loads`: NUL stripped, depth and numbers bounded,
    lone surrogates refused (django-ninja turns the error into a 400, handled below)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return inputs.loads(request.body)

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in the request's language"},
        "errors": {
            "type": "object",
            "description": "Messages per field",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail"],
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


class KefuAPI(NinjaAPI):
    """The schema documents the errors every operation can answer, from the handlers below, so
    that it matches what clients really get (checked by schemathesis in kefu/tests)."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                generic: dict[int, dict[str, Any]] = {}
                parameters = operation.get("parameters", [])
                if parameters or "requestBody" in operation:
                    generic[400] = _error("Invalid input (field errors in `errors`)")
                if operation.get("security"):
                    generic[401] = _error("Authentication required")
                    if method in ("post", "put", "patch", "delete"):
                        generic[403] = _error("Not allowed (or a session without its CSRF token)")
                if any(p.get("in") == "path" for p in parameters):
                    generic[404] = _error("Not found, or not yours to see")
                for status, response in generic.items():
                    responses.setdefault(str(status), response)
                    responses.setdefault(status, response)
                for key in [k for k in responses if isinstance(k, int)]:
                    responses[str(key)] = responses.pop(key)
        return schema


api = KefuAPI(
    title="Kefu API",
    version="1.0",
    description="Customer support for crypto wallets and exchanges. Authenticate with "
    "`Authorization: Bearer <token>` (create one with `kefu token create EMAIL`).",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=AUTH,
    urls_namespace="api",
    parser=BoundaryParser(),
)

_PYDANTIC_MESSAGES = {
    "missing": lambda: _("This field is required."),
    "string_too_short": lambda: _("This field cannot be blank."),
    "string_too_long": lambda: _("This value is too long."),
    "int_parsing": lambda: _("Enter a whole number."),
    "decimal_parsing": lambda: _("Enter a number."),
    "string_type": lambda: _("Enter text."),
    "json_invalid": lambda: _("The request body is not valid JSON."),
    "uuid_parsing": lambda: _("Enter a valid ID."),
    "uuid_type": lambda: _("Enter a valid ID."),
    "greater_than_equal": lambda: _("The value is out of range."),
    "less_than_equal": lambda: _("The value is out of range."),
    "greater_than": lambda: _("The value is out of range."),
    "less_than": lambda: _("The value is out of range."),
    "int_type": lambda: _("Enter a whole number."),
    "int_from_float": lambda: _("Enter a whole number."),
    "bool_parsing": lambda: _("Enter true or false."),
    "bool_type": lambda: _("Enter true or false."),
    "model_attributes_type": lambda: _("The request body must be a JSON object."),
    "dict_type": lambda: _("The request body must be a JSON object."),
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


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """django-ninja's own errors (an unreadable body) in the request's language."""
    if isinstance(exc, AuthenticationError):
        return unauthorized(request, exc)
    cause = exc.__cause__
    if isinstance(cause, inputs.BadInput):
        detail = cause.message
    elif exc.status_code == 400:
        detail = _("The request body is not valid JSON.")
    elif exc.status_code == 403:
        detail = _("Missing or invalid CSRF token.")
    else:
        detail = str(exc)
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


@api.exception_handler(ModelValidationError)
def model_validation_error(request: HttpRequest, exc: ModelValidationError) -> HttpResponse:
    """A value a model refused (an action's check): a 400 with its messages, never a 500."""
    if hasattr(exc, "error_dict"):
        errors = {key: [str(m) for e in value for m in e.messages] for key, value in exc.error_dict.items()}
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
    return api.create_response(request, {"detail": _("Invalid input."), "errors": errors}, status=400)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": _("Not found.")}, status=404)


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": _("Authentication required.")}, status=401)


def _add_routers() -> None:
    from kefu.bot.api import router as bot_router
    from kefu.helpcenter.api import router as helpcenter_router
    from kefu.identity.api import router as identity_router
    from kefu.reports.api import router as reports_router
    from kefu.tickets.api import router as tickets_router
    from kefu.trust.api import router as trust_router
    from kefu.webhooks.api import router as webhooks_router

    api.add_router("", tickets_router)
    api.add_router("", bot_router)
    api.add_router("", identity_router)
    api.add_router("", trust_router)
    api.add_router("", helpcenter_router)
    api.add_router("", webhooks_router)
    api.add_router("", reports_router)


_add_routers()
