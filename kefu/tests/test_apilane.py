"""The API's bearer lane (kefu.apilane): bearer requests skip the session-only middlewares,
cookie-authenticated API requests keep the session and its CSRF check."""

from __future__ import annotations

import inspect

import pytest
from django.middleware.csrf import get_token
from django.test import Client
from django.test.client import ClientHandler
from django.urls import reverse

from kefu.apilane import SESSION_ONLY, BearerLaneMiddleware, _dotted
from kefu.conftest import bearer
from kefu.tickets.models import Ticket
from kefu.tickets.tests.test_api import NEW_TICKET

pytestmark = pytest.mark.django_db



def _lane() -> BearerLaneMiddleware:
    handler = ClientHandler()
    handler.load_middleware()
    layer = getattr(handler, "_middleware_chain")  # noqa: B009 (not in the stubs)
    while not isinstance(layer.__wrapped__, BearerLaneMiddleware):
        outer = layer.__wrapped__
        # A function middleware (kefu.inputs) keeps the next layer in its closure.
        layer = getattr(outer, "get_response", None) or inspect.getclosurevars(outer).nonlocals["get_response"]
    return layer.__wrapped__


def test_the_lane_keeps_every_middleware_but_the_session_ones():
    lane = _lane()
    assert lane.lane is not None
    kept, layer = [], lane.lane
    while hasattr(layer.__wrapped__, "get_response"):
        kept.append(_dotted(type(layer.__wrapped__)))
        layer = layer.__wrapped__.get_response
    assert kept == [
        "django.middleware.locale.LocaleMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    assert not SESSION_ONLY & set(kept)


def test_a_bearer_create_works_and_sets_no_cookie(alice):
    response = bearer(alice, "en").post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
    assert response.status_code == 201, response.content
    assert not response.cookies
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Language"] == "en"


def test_a_bad_token_is_401_even_with_a_signed_in_session(alice):
    client = Client(HTTP_AUTHORIZATION="Bearer kefu_nope", enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/tickets").status_code == 401
    # The same session without the header still works: the lane is only for bearer requests.
    client.defaults.pop("HTTP_AUTHORIZATION")
    assert client.get("/api/v1/tickets").status_code == 200


def test_cookie_authenticated_api_writes_still_need_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    refused = client.post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
    assert refused.status_code == 403
    assert Ticket.objects.count() == 0
    # With the CSRF cookie and header, as the site's own pages send them, the write goes through.
    page = client.get(reverse("tickets:portal_new"))
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else None
    if token is None:
        token = get_token(page.wsgi_request)
        client.cookies["csrftoken"] = token
    accepted = client.post(
        "/api/v1/tickets", NEW_TICKET, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201, accepted.content


def test_pages_keep_the_session_when_a_bearer_header_is_sent(alice):
    client = Client(HTTP_AUTHORIZATION="Bearer kefu_nope")
    client.force_login(alice)
    assert client.get(reverse("tickets:portal")).status_code == 200
