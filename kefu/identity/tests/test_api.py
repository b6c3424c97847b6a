"""The identity REST API and the customer's verification page."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from kefu.conftest import bearer, login
from kefu.identity.models import IdentityVerification
from kefu.identity.tests.conftest import last_mailed_code

pytestmark = pytest.mark.django_db


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def test_send_and_verify_through_the_api(alice):
    client = bearer(alice, language="en")
    response = client.post(
        "/api/v1/identity/challenges", {"channel": "email"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"challenge_id", "channel", "destination", "expires_at"}
    assert body["destination"] == "a***e@example.com" and body["channel"] == "email"
    code = last_mailed_code()
    assert code not in response.content.decode()

    url = f"/api/v1/identity/challenges/{body['challenge_id']}/verify"
    bad = client.post(url, {"code": wrong(code)}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["attempts_left"] == 4

    ok = client.post(url, {"code": code}, content_type="application/json")
    assert ok.status_code == 200
    assert ok.json()["verified"] is True and ok.json()["method"] == "email_code"
    assert client.get("/api/v1/identity/status").json()["verified"] is True


def test_the_api_answers_429_with_retry_after_when_sending_too_often(alice):
    client = bearer(alice)
    for _ in range(5):
        assert (
            client.post(
                "/api/v1/identity/challenges", {"channel": "email"}, content_type="application/json"
            ).status_code
            == 201
        )
    response = client.post(
        "/api/v1/identity/challenges", {"channel": "email"}, content_type="application/json"
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0 and response.json()["retry_after"] == int(response["Retry-After"])


def test_the_api_answers_423_when_locked(alice):
    client = bearer(alice, language="en")
    challenge_id = client.post(
        "/api/v1/identity/challenges", {"channel": "email"}, content_type="application/json"
    ).json()["challenge_id"]
    code = last_mailed_code()
    url = f"/api/v1/identity/challenges/{challenge_id}/verify"
    statuses = [
        client.post(url, {"code": wrong(code)}, content_type="application/json").status_code for _ in range(5)
    ]
    assert statuses == [400, 400, 400, 400, 423]
    locked = client.post(url, {"code": code}, content_type="application/json")
    assert locked.status_code == 423 and int(locked["Retry-After"]) > 0
    assert "locked" in locked.json()["detail"]
    assert not IdentityVerification.objects.exists()


def test_staff_cannot_use_customer_verification_endpoints(agent):
    response = bearer(agent).post(
        "/api/v1/identity/challenges", {"channel": "email"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_unknown_challenge_is_404(alice):
    client = bearer(alice)
    response = client.post(
        "/api/v1/identity/challenges/5b0d6f43-5f4e-4a8e-9c61-000000000000/verify",
        {"code": "123456"},
        content_type="application/json",
    )
    assert response.status_code == 404


def test_the_verify_page_sends_and_checks_a_code(alice):
    client = login(alice)
    page = client.get("/identity/verify/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "a***e@example.com" in html and "alice@example.com" not in html.replace(
        '<span class="who">alice@example.com</span>', ""
    )
    sent = client.post(
        "/identity/verify/", {"action": "send", "channel": "email", "next": "/identity/freeze/"}
    )
    assert sent.status_code == 302 and "challenge=" in sent["Location"]
    code_page = client.get(sent["Location"])
    assert 'name="code"' in code_page.content.decode()
    challenge_id = sent["Location"].split("challenge=")[1].split("&")[0]
    done = client.post(
        "/identity/verify/",
        {
            "action": "verify",
            "challenge": challenge_id,
            "code": last_mailed_code(),
            "next": "/identity/freeze/",
        },
    )
    assert done.status_code == 302 and done["Location"] == "/identity/freeze/"
    assert IdentityVerification.objects.filter(user=alice).exists()


def test_in_demo_mode_the_verify_page_says_codes_are_in_the_server_console(alice, settings):
    """With no mail server configured a code mail only reaches the console: the page says so."""
    client = login(alice)
    assert 'id="identity-demo-codes"' not in client.get("/identity/verify/").content.decode()

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    en = client.get("/identity/verify/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="identity-demo-codes"' in en and "printed in the console" in en
    zh = client.get("/identity/verify/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'id="identity-demo-codes"' in zh and "printed in the console" not in zh


def test_the_verify_page_shows_the_lock_out(alice):
    client = login(alice)
    sent = client.post("/identity/verify/", {"action": "send", "channel": "email"})
    challenge_id = sent["Location"].split("challenge=")[1].split("&")[0]
    code = last_mailed_code()
    for _ in range(5):
        response = client.post(
            "/identity/verify/",
            {"action": "verify", "challenge": challenge_id, "code": wrong(code)},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 423
    assert 'id="identity-locked"' in response.content.decode()
    assert len(mail.outbox) == 1


def test_the_verify_page_needs_a_customer_login(agent):
    assert Client().get("/identity/verify/").status_code == 302
    assert login(agent).get("/identity/verify/").status_code == 404
