"""Untrusted input at the boundary: one set of rules for pages, forms, the API and the chat socket.

Every way in (form posts, query strings, JSON bodies, WebSocket frames) passes through here,
so both databases see the same input and answer the same way:

* NUL characters are removed from free text (PostgreSQL cannot store them; SQLite can, which
  made the two behave differently). The message is kept, only the character goes.
* A URL path with a NUL in it names no page: 404.
* JSON is parsed with limits: nesting depth, finite numbers, no lone UTF-16 surrogates
  (neither database can encode one). A violation is a client error, never a 500.
* Numbers bound for a decimal column are checked against its precision before any write.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django.http.request import _ImmutableQueryDict

# Deep enough for any real payload of Kefu's; Python's parser would recurse ~1,000 levels.
MAX_JSON_DEPTH = 32
NUL = "\x00"


class BadInput(ValueError):
    """Input no request may carry; ``message`` is translated for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def strip_nul(text: str) -> str:
    return text.replace(NUL, "") if NUL in text else text


def clean_text(text: str) -> str:
    """Free text as it may be stored: without NUL; a lone surrogate is an error."""
    text = strip_nul(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(_("The text contains an invalid character.")) from None
    return text


def _finite_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise BadInput(_("A number in the request is out of range."))
    return value


def _no_constants(raw: str) -> Any:
    raise BadInput(_("A number in the request is out of range."))


def clean_json(data: Any) -> Any:
    """Strings cleaned (keys too); iterative. Depth is bounded before parsing (_check_depth)."""
    root: list[Any] = [data]
    # (container, key in it, value): values are replaced in place in fresh copies.
    stack: list[tuple[Any, Any, Any]] = [(root, 0, data)]
    while stack:
        parent, key, value = stack.pop()
        if isinstance(value, str):
            parent[key] = clean_text(value)
        elif isinstance(value, dict | list):
            if isinstance(value, dict):
                copy: Any = {clean_text(k): v for k, v in value.items()}
                items = list(copy.items())
            else:
                copy = list(value)
                items = list(enumerate(copy))
            parent[key] = copy
            stack.extend((copy, k, v) for k, v in items)
    return root[0]


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def _check_depth(raw: bytes) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH before the parser sees it.

    The parser recurses in C once per level, bounded only by the interpreter's recursion limit,
    which libraries may raise (py_ecc sets 100,000 at import): at that limit a 100,000-deep
    body overflows a thread's C stack and the whole process dies instead of raising. So depth is
    measured here, without recursion, and the parser never meets a deep document.
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return  # cannot be deeper than that: the common case costs two C-speed counts
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise BadInput(_("The request is nested too deeply."))
        else:
            depth -= 1


def loads(raw: bytes | str) -> Any:
    """``json.loads`` for untrusted input; raises :class:`BadInput` (a ``ValueError``)."""
    encoded = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    _check_depth(encoded)
    try:
        data = json.loads(raw, parse_float=_finite_float, parse_constant=_no_constants)
    except BadInput:
        raise
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError, bad UTF-8, a 5,000-digit integer
        raise BadInput(_("The request body is not valid JSON.")) from None
    # The parser refuses raw control characters and invalid UTF-8 inside strings, so a NUL or a
    # lone surrogate can only arrive as a \u escape: without one there is nothing to clean, and
    # the common body or chat frame is not copied.
    return clean_json(data) if b"\\u" in encoded else data


def decimal_for(value: Any, field: models.DecimalField[Any, Any], *, name: str | None = None) -> Decimal | None:
    """A number that fits ``field`` exactly as typed (finite, not negative, within its digits),
    or a translated ``ValidationError``. Empty is ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    key = name or field.name
    error = ValidationError({key: [_("Enter a valid amount.")]})
    if isinstance(value, float | bool):
        raise error
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise error from None
    if not number.is_finite() or number < 0:
        raise error
    if number == 0:
        return Decimal(0)
    # Trailing zeros say nothing ("1.50" fits two decimal places); an exact context keeps every digit.
    exact = Context(prec=len(number.as_tuple().digits), Emax=MAX_EMAX, Emin=MIN_EMIN)
    _sign, digits, exponent = number.normalize(exact).as_tuple()
    assert isinstance(exponent, int)
    # One digit fewer than the column: SQLite keeps decimals as 15-digit floats, and a 20-digit
    # value read back rounds up to 21 digits, which Django then cannot quantize (every list
    # showing that row would fail). The same limit on PostgreSQL keeps the two alike.
    whole = field.max_digits - field.decimal_places - 1
    if len(digits) + exponent > whole:
        message = _("The amount can have at most {n} digits before the decimal point.").format(n=whole)
        raise ValidationError({key: [message]})
    if -exponent > field.decimal_places:
        message = _("The amount can have at most {n} decimal places.").format(n=field.decimal_places)
        raise ValidationError({key: [message]})
    return number


def clean_querydict(data: _ImmutableQueryDict) -> _ImmutableQueryDict:
    if not any(NUL in k or any(NUL in v for v in data.getlist(k)) for k in data):
        return data
    cleaned = QueryDict(mutable=True, encoding=data.encoding)
    for key in data:
        cleaned.setlist(strip_nul(key), [strip_nul(v) for v in data.getlist(key)])
    cleaned._mutable = False
    # Immutable again, like the QueryDict Django built (the stubs name that state as a type).
    return cast("_ImmutableQueryDict", cleaned)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def boundary_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Before anything reads the request: 404 for a NUL in the path, NUL stripped from the query
    string and form fields. HEAD is answered wherever GET is (the server sends no body)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if NUL in request.path or NUL in request.path_info:
            raise Http404
        request.GET = clean_querydict(request.GET)
        if request.method == "POST" and request.content_type in _FORM_TYPES:
            request.POST = clean_querydict(request.POST)
        if request.method != "HEAD":
            return get_response(request)
        # Views accept GET (Django's require_GET and django-ninja's routes refuse HEAD): answer
        # HEAD as GET with the same headers and no body.
        request.method = "GET"
        try:
            response = get_response(request)
        finally:
            request.method = "HEAD"
        if not response.streaming:
            length = response.get("Content-Length", str(len(response.content)))
            response.content = b""
            response["Content-Length"] = length
        return response

    return middleware
