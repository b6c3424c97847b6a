"""Staff security: TOTP two-factor sign-in, forced enrolment for admins, idle time-out."""

from __future__ import annotations

import time

import pyotp
import pytest
import segno
from django.conf import settings
from django.test import Client
from django.utils import timezone

from kefu.accounts.models import Role
from kefu.audit.models import AuditEvent
from kefu.conftest import PASSWORD, login, make_user
from kefu.identity import twofactor
from kefu.identity.middleware import LAST_SEEN_KEY
from kefu.identity.sealed import seal, unseal

pytestmark = pytest.mark.django_db

MIDDLEWARE = [
    "kefu.identity.middleware.StaffSessionTimeoutMiddleware",
    "kefu.identity.middleware.StaffTwoFactorMiddleware",
]


@pytest.fixture(autouse=True)
def _staff_middleware(settings):
    """The two middlewares right after MessageMiddleware, as settings.py will have them."""
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE[0] not in middleware:
        at = middleware.index("django.contrib.messages.middleware.MessageMiddleware") + 1
        middleware[at:at] = MIDDLEWARE
    settings.MIDDLEWARE = middleware


@pytest.fixture
def admin(db):
    return make_user("root@example.com", Role.ADMIN)


@pytest.fixture
def agent_2fa(agent):
    agent.totp_secret = seal(pyotp.random_base32())
    agent.totp_enabled = True
    agent.save()
    return agent


def authenticator(user) -> pyotp.TOTP:
    """The user's authenticator app: it holds the plain seed the server keeps sealed."""
    return pyotp.TOTP(unseal(user.totp_secret))


def password_step(client: Client, email: str, next_url: str = ""):
    data = {"username": email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def actions_for(user) -> list[str]:
    return list(
        AuditEvent.objects.filter(actor=user, action__startswith="auth.")
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_an_admin_without_2fa_is_sent_to_enrol_and_is_not_signed_in_until_done(admin):
    client = Client()
    response = password_step(client, admin.email, next_url="/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/setup/"
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302
    assert client.get("/workspace/").status_code == 302

    page = client.get("/accounts/2fa/setup/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200 and "otpauth://totp/" in html
    secret = client.session["_kefu_2fa_secret"]
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html

    bad = client.post(
        "/accounts/2fa/setup/", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"}
    )
    assert bad.status_code == 400 and not signed_in(client)

    done = client.post("/accounts/2fa/setup/", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert signed_in(client)
    admin.refresh_from_db()
    assert admin.totp_enabled and unseal(admin.totp_secret) == secret
    assert secret not in admin.totp_secret  # sealed at rest
    assert client.get("/admin/").status_code == 200
    assert actions_for(admin) == [
        "auth.password_ok",
        "auth.2fa_enrol_failed",
        "auth.2fa_enrolled",
        "auth.login",
    ]


def test_enrolment_shows_a_scannable_qr_code_of_the_setup_link(admin):
    """The setup page draws the otpauth:// link as an inline SVG QR code (no external image)."""
    client = Client()
    password_step(client, admin.email)
    html = client.get("/accounts/2fa/setup/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    secret = client.session["_kefu_2fa_secret"]
    uri = pyotp.TOTP(secret).provisioning_uri(name=admin.email, issuer_name=settings.KEFU_BRAND_NAME)
    expected = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    figure = html.split('id="totp-qr"', 1)[1].split("</figure>", 1)[0]
    assert expected in figure
    assert "<img" not in figure and "http" not in figure.replace("http://www.w3.org", "")


def test_an_agent_with_2fa_must_pass_the_code(agent_2fa):
    client = Client()
    response = password_step(client, agent_2fa.email)
    assert response["Location"] == "/accounts/2fa/verify/"
    assert not signed_in(client)
    assert client.get("/workspace/").status_code == 302

    totp = authenticator(agent_2fa)
    wrong = "000000" if totp.now() != "000000" else "111111"
    refused = client.post("/accounts/2fa/verify/", {"code": wrong})
    assert refused.status_code == 400 and not signed_in(client)

    ok = client.post("/accounts/2fa/verify/", {"code": totp.now()})
    assert ok.status_code == 302 and signed_in(client)
    assert client.get("/workspace/").status_code == 200
    assert "auth.2fa_failed" in actions_for(agent_2fa) and "auth.2fa_ok" in actions_for(agent_2fa)


def test_a_code_cannot_be_used_twice(agent_2fa):
    code = authenticator(agent_2fa).now()
    first = Client()
    password_step(first, agent_2fa.email)
    assert first.post("/accounts/2fa/verify/", {"code": code}).status_code == 302

    second = Client()
    password_step(second, agent_2fa.email)
    response = second.post("/accounts/2fa/verify/", {"code": code}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "already used" in response.content.decode()
    assert not signed_in(second)


def test_totp_attempts_are_rate_limited(agent_2fa):
    client = Client()
    password_step(client, agent_2fa.email)
    totp = authenticator(agent_2fa)
    wrong = "000000" if totp.now() != "000000" else "111111"
    for _ in range(5):
        client.post("/accounts/2fa/verify/", {"code": wrong})
    response = client.post("/accounts/2fa/verify/", {"code": totp.now()}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and not signed_in(client)
    assert "auth.2fa_throttled" in actions_for(agent_2fa)


def test_the_pending_step_expires(agent_2fa):
    client = Client()
    password_step(client, agent_2fa.email)
    session = client.session
    session["_kefu_2fa_pending"]["since"] = time.time() - 600
    session.save()
    response = client.post("/accounts/2fa/verify/", {"code": authenticator(agent_2fa).now()})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not signed_in(client)


def test_an_agent_without_2fa_signs_in_with_the_password_and_may_enrol(agent):
    client = Client()
    response = password_step(client, agent.email)
    assert response.status_code == 302 and signed_in(client)
    page = client.get("/accounts/2fa/setup/")
    assert page.status_code == 200
    secret = client.session["_kefu_2fa_secret"]
    assert client.post("/accounts/2fa/setup/", {"code": pyotp.TOTP(secret).now()}).status_code == 302
    agent.refresh_from_db()
    assert agent.totp_enabled
    assert client.get("/workspace/").status_code == 200  # this session passed the code


def test_customers_have_no_2fa_setup_page(alice):
    assert login(alice).get("/accounts/2fa/setup/").status_code == 404
    response = password_step(Client(), alice.email)
    assert response.status_code == 302 and "2fa" not in response["Location"]


def test_every_staff_member_must_enrol_when_configured(agent, settings):
    settings.KEFU_STAFF_2FA_REQUIRED = "staff"
    response = password_step(Client(), agent.email)
    assert response["Location"] == "/accounts/2fa/setup/"


def test_a_session_that_skipped_the_second_factor_is_ended(admin):
    """E.g. the Django admin's own login form: the middleware signs the admin out again."""
    client = Client()
    client.force_login(admin)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    assert not signed_in(client)
    assert "auth.2fa_missing" in actions_for(admin)


def test_staff_are_signed_out_after_the_idle_time(agent, settings):
    settings.KEFU_STAFF_IDLE_SECONDS = 1800
    client = login(agent)
    assert client.get("/workspace/").status_code == 200
    session = client.session
    assert session[LAST_SEEN_KEY] > 0
    session[LAST_SEEN_KEY] = timezone.now().timestamp() - 1801
    session.save()

    response = client.get("/workspace/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not signed_in(client)
    assert "auth.session_expired" in actions_for(agent)


def test_activity_within_the_idle_time_keeps_staff_signed_in(agent):
    client = login(agent)
    client.get("/workspace/")
    session = client.session
    session[LAST_SEEN_KEY] = timezone.now().timestamp() - 1700
    session.save()
    assert client.get("/workspace/").status_code == 200
    assert client.session[LAST_SEEN_KEY] > timezone.now().timestamp() - 100


def test_customers_have_no_idle_time_out(alice):
    client = login(alice)
    client.get("/portal/")
    assert LAST_SEEN_KEY not in client.session


def test_second_step_rules():
    customer = make_user("c@example.com")
    agent = make_user("a@example.com", Role.AGENT)
    admin = make_user("r@example.com", Role.ADMIN)
    assert twofactor.second_step_for(customer) is None
    assert twofactor.second_step_for(agent) is None
    assert twofactor.second_step_for(admin) == "setup"
    admin.totp_secret, admin.totp_enabled = pyotp.random_base32(), True
    assert twofactor.second_step_for(admin) == "verify"


@pytest.mark.django_db(transaction=True)
def test_the_session_rules_hold_under_asgi_too(admin, agent, settings):
    """Kefu serves HTTP through ASGI, where the middlewares run in their async mode."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import sync_to_async
    from django.test import AsyncClient

    settings.KEFU_STAFF_IDLE_SECONDS = 1800

    async def scenario() -> tuple[int, str, int, int, str]:
        skipped = AsyncClient()
        await skipped.aforce_login(admin)  # no second factor
        first = await skipped.get("/admin/")
        worker = AsyncClient()
        await worker.aforce_login(agent)
        fine = await worker.get("/workspace/")

        def age_session() -> None:
            session = worker.session
            session[LAST_SEEN_KEY] = timezone.now().timestamp() - 1801
            session.save()

        await sync_to_async(age_session)()
        idle = await worker.get("/workspace/")
        return first.status_code, first["Location"], fine.status_code, idle.status_code, idle["Location"]

    with ThreadPoolExecutor(max_workers=1) as pool:  # a loop of its own, whatever the test thread has
        first, first_to, fine, idle, idle_to = pool.submit(asyncio.run, scenario()).result(timeout=60)
    assert (first, fine, idle) == (302, 200, 302)
    assert first_to.startswith("/accounts/login/?next=") and idle_to.startswith("/accounts/login/")
    assert "auth.2fa_missing" in actions_for(admin) and "auth.session_expired" in actions_for(agent)


def test_a_reset_ends_the_sessions_that_passed_the_old_factor_and_is_audited(agent_2fa, capsys):
    client = Client()
    password_step(client, agent_2fa.email)
    assert client.post("/accounts/2fa/verify/", {"code": authenticator(agent_2fa).now()}).status_code == 302
    assert client.get("/workspace/").status_code == 200

    from kefu.cli import main

    assert main(["2fa", "reset", agent_2fa.email, "--reason", "lost phone"]) == 0
    assert "2FA reset" in capsys.readouterr().out
    agent_2fa.refresh_from_db()
    assert not agent_2fa.totp_enabled and agent_2fa.totp_secret == ""
    assert client.get("/workspace/").status_code == 302  # signed out
    reset = AuditEvent.objects.get(action="auth.2fa_reset", target_id=str(agent_2fa.public_id))
    assert reset.actor is None and reset.data == {"reason": "lost phone"}
    assert main(["2fa", "reset", "nobody@example.com"]) == 2
