"""schemathesis against the in-process API, as a customer, an agent and an admin.

Every generated request (valid and invalid bodies, odd path and query values) must get an answer
the OpenAPI schema documents: no server error, no undocumented status code, bodies and content
types as declared. Runs on whichever database the suite runs on (SQLite or PostgreSQL).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kefu.accounts.actions import do_add_team_member, do_create_api_token, do_ensure_user
from kefu.accounts.models import Team

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _fuzz_settings(settings):
    # schemathesis's WSGI client names the host "localhost".
    settings.ALLOWED_HOSTS = ["*"]
    # Creation limits guard production; here they would turn most requests into 429s and hide
    # whatever a request gets past them (429 is documented and tested on its own).
    for name in (
        "KEFU_TICKET_CREATE_RATE",
        "KEFU_TICKET_REPLY_RATE",
        "KEFU_CHAT_START_RATE",
        "KEFU_CHAT_MESSAGE_RATE",
    ):
        setattr(settings, name, "100000/60")
    settings.KEFU_BOT_RATE = (100000, 60)
    # As Django's test client does: a request must not close the test's connection (on
    # PostgreSQL it is inside the test's transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _load_schema() -> schemathesis.schemas.BaseSchema:
    # The schema as clients get it; loaded at collection (schemathesis's lazy fixture loader
    # does not work with pytest 9), so the request must not touch the database.
    document = Client().get("/api/v1/openapi.json").json()
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = WSGIHandler()
    return loaded


schema = _load_schema()


@pytest.fixture
def tokens(db) -> dict[str, str]:
    """A bearer token for each kind of caller (schemathesis's lazy schema takes no fixture params)."""
    out = {}
    for role in ("customer", "agent", "admin"):
        # No password: hashing one per test would be most of this file's run time.
        user = do_ensure_user(email=f"fuzz-{role}@example.com", role=role)
        if role == "agent":
            for slug in ("accounts", "assets"):
                do_add_team_member(team=Team.objects.get(slug=slug), user=user)
        out[role] = do_create_api_token(user=user)
    return out


FUZZ = hypothesis_settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same requests on every run: CI fails on a regression, not on luck
    suppress_health_check=list(HealthCheck),
)


def call(case, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_as_a_customer(case, tokens):
    call(case, tokens["customer"])


@schema.parametrize()
@FUZZ
def test_as_an_agent(case, tokens):
    call(case, tokens["agent"])


@schema.parametrize()
@FUZZ
def test_as_an_admin(case, tokens):
    call(case, tokens["admin"])
