"""Sign-in limits: one canonical key, per account and client with back-off, no lockout of the
real user by others, the Django admin behind the same limiter, the client IP behind proxies."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.accounts import throttle
from kefu.accounts.models import Role
from kefu.audit.models import AuditEvent
from kefu.clientip import client_ip_from_scope, resolve
from kefu.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

THROTTLED = "Too many sign-in attempts"


def sign_in(client: Client, email: str, password: str = PASSWORD, path: str = "/accounts/login/"):
    return client.post(path, {"username": email, "password": password}, HTTP_ACCEPT_LANGUAGE="en")


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def sign_out(client: Client) -> None:
    """Sign out as a browser does: the session ends, the device cookie stays (the test
    client's logout() would drop every cookie)."""
    device = client.cookies.get(throttle.DEVICE_COOKIE)
    client.logout()
    if device is not None:
        client.cookies[throttle.DEVICE_COOKIE] = device.value


def fail(times: int, email: str, ip: str, path: str = "/accounts/login/") -> Client:
    client = Client(REMOTE_ADDR=ip)
    for _ in range(times):
        sign_in(client, email, "wrong-password", path)
    return client


@pytest.fixture
def small_limits(settings):
    """Small thresholds keep the tests quick; the mechanism is the same as with the defaults."""
    settings.KEFU_LOGIN_RATE = "3/300"
    settings.KEFU_LOGIN_ACCOUNT_RATE = "8/900"
    settings.KEFU_LOGIN_IP_RATE = "12/900"


def test_a_full_width_or_upper_case_address_counts_against_the_same_account(specialist, settings):
    settings.KEFU_LOGIN_RATE = "10/300"
    client = fail(10, "specialist@example.com", "198.51.100.7")
    for variant in (
        "ｓpecialist@example.com",
        "SPECIALIST@Example.COM",
        " ｓｐｅｃｉａｌｉｓｔ＠ｅｘａｍｐｌｅ.ｃｏｍ",
    ):
        response = sign_in(client, variant)
        assert THROTTLED in response.content.decode() and not signed_in(client)


def test_any_spelling_of_the_address_signs_in(alice):
    """The backend looks accounts up with the same canonical form the limiter counts under."""
    for variant in ("ＡＬＩＣＥ@example.com", "Alice@Example.com"):
        client = Client()
        sign_in(client, variant)
        assert signed_in(client)


def test_wrong_attempts_from_elsewhere_do_not_block_the_right_password(alice):
    attacker = fail(11, alice.email, "203.0.113.66")  # the attack: 11 wrong attempts
    # The limiter is on: the attacking client now waits before it may guess again ...
    assert THROTTLED in sign_in(attacker, alice.email, "another-guess").content.decode()
    # ... and the owner, elsewhere, is not held up by it.
    owner = Client(REMOTE_ADDR="198.51.100.20")
    sign_in(owner, alice.email)
    assert signed_in(owner)


def test_a_distributed_attack_cannot_lock_out_a_known_device_or_ip(alice, small_limits):
    # The owner signed in before from home: the browser keeps a device cookie, the IP is known.
    home = Client(REMOTE_ADDR="198.51.100.20")
    sign_in(home, alice.email)
    assert signed_in(home) and home.cookies.get(throttle.DEVICE_COOKIE)
    sign_out(home)
    # A botnet: 3 wrong guesses from each of 6 addresses trips the account-wide counter.
    for n in range(6):
        fail(3, alice.email, f"203.0.113.{n + 1}")
    stranger = Client(REMOTE_ADDR="192.0.2.99")
    assert THROTTLED in sign_in(stranger, alice.email).content.decode() and not signed_in(stranger)
    # ...but not the owner's browser (even on the road, from a new IP) nor the home IP.
    home.defaults["REMOTE_ADDR"] = "192.0.2.123"
    sign_in(home, alice.email)
    assert signed_in(home)
    from_home_ip = Client(REMOTE_ADDR="198.51.100.20")
    sign_in(from_home_ip, alice.email)
    assert signed_in(from_home_ip)


def test_a_device_cookie_for_another_account_or_forged_does_not_bypass(alice, bob, small_limits):
    device = Client(REMOTE_ADDR="198.51.100.30")
    sign_in(device, bob.email)
    assert signed_in(device)
    sign_out(device)
    for n in range(6):
        fail(3, alice.email, f"203.0.113.{n + 1}")
    assert THROTTLED in sign_in(device, alice.email).content.decode() and not signed_in(device)
    forged = Client(REMOTE_ADDR="198.51.100.31")
    forged.cookies[throttle.DEVICE_COOKIE] = "e30:forged:signature"
    assert THROTTLED in sign_in(forged, alice.email).content.decode() and not signed_in(forged)


def test_failures_behind_one_nat_do_not_lock_out_everybody_behind_it(alice, bob, small_limits):
    # Credential stuffing from an office NAT: many accounts, one address.
    nat = "198.51.100.1"
    office = Client(REMOTE_ADDR=nat)
    sign_in(office, bob.email)  # bob signed in from this office before
    for n in range(20):
        fail(1, f"victim{n}@example.com", nat)
    assert AuditEvent.objects.filter(action="auth.login_throttled").exists()  # the brake works
    again = Client(REMOTE_ADDR=nat)  # another browser, same office IP
    sign_in(again, bob.email)
    assert signed_in(again)
    # alice has a device cookie from signing in elsewhere.
    laptop = Client(REMOTE_ADDR="192.0.2.5")
    sign_in(laptop, alice.email)
    sign_out(laptop)
    laptop.defaults["REMOTE_ADDR"] = nat
    sign_in(laptop, alice.email)
    assert signed_in(laptop)


def test_the_default_per_ip_threshold_is_high(alice):
    """50 failures from one IP across accounts used to lock every user behind it out."""
    nat = "198.51.100.2"
    for n in range(55):
        fail(1, f"victim{n}@example.com", nat)
    colleague = Client(REMOTE_ADDR=nat)
    sign_in(colleague, alice.email)
    assert signed_in(colleague)


def test_the_admin_login_is_behind_the_same_limiter(db):
    admin = make_user("root@example.com", Role.ADMIN)
    # Failures on the admin's own form count, and show the same refusal.
    client = fail(10, admin.email, "203.0.113.9", path="/admin/login/")
    response = sign_in(client, admin.email, path="/admin/login/")
    assert THROTTLED in response.content.decode() and not signed_in(client)
    # Failures on Kefu's form count for the admin form too: one counter per account and client.
    other = fail(10, "ROOT@example.com", "203.0.113.10")
    sign_in(other, admin.email, path="/admin/login/")
    assert not signed_in(other)
    assert AuditEvent.objects.filter(action="auth.login_throttled", target_id=admin.email).exists()


def test_back_off_doubles_and_waiting_attempts_do_not_extend_it(settings):
    settings.KEFU_LOGIN_RATE = "3/100"  # 3 free failures, then 5 s doubling up to 100 s
    ip = "203.0.113.50"
    for t in range(3):
        assert throttle.attempt("login", "x@example.com", ip=ip, now=1000.0 + t).admitted
    refused = throttle.attempt("login", "x@example.com", ip=ip, now=1003.0)
    assert not refused.admitted and refused.retry_after == 4
    for _ in range(20):  # hammering while refused is not counted
        assert not throttle.attempt("login", "x@example.com", ip=ip, now=1004.0).admitted
    assert throttle.attempt("login", "x@example.com", ip=ip, now=1007.0).admitted  # 4th failure
    assert throttle.attempt("login", "x@example.com", ip=ip, now=1016.0).retry_after == 1  # 10 s now
    gate = throttle.attempt("login", "x@example.com", ip=ip, now=1017.0)
    assert gate.admitted
    gate.succeeded()  # the right password resets this client's counter
    assert throttle.attempt("login", "x@example.com", ip=ip, now=1017.5).admitted


def test_the_client_ip_is_only_taken_from_x_forwarded_for_behind_a_trusted_proxy(settings):
    settings.KEFU_TRUSTED_PROXIES = ""
    assert resolve("203.0.113.1", "1.2.3.4") == "203.0.113.1"
    settings.KEFU_TRUSTED_PROXIES = "10.0.0.0/8, 2001:db8::1"
    # The rightmost hop that is not ours; a forged leftmost entry is ignored.
    assert resolve("10.0.0.2", "6.6.6.6, 198.51.100.4, 10.1.2.3") == "198.51.100.4"
    assert resolve("2001:db8::1", "198.51.100.5:4321") == "198.51.100.5"
    assert resolve("203.0.113.1", "1.2.3.4") == "203.0.113.1"  # not from our proxy: header ignored
    assert resolve("10.0.0.2", None) == "10.0.0.2"
    assert resolve("10.0.0.2", "not-an-ip, 10.0.0.3") == "10.0.0.3"
    scope = {"client": ("10.0.0.2", 5555), "headers": [(b"x-forwarded-for", b"7.7.7.7, 198.51.100.8")]}
    assert client_ip_from_scope(scope) == "198.51.100.8"


def test_behind_a_proxy_the_limiter_and_audit_see_the_real_client(alice, settings):
    settings.KEFU_TRUSTED_PROXIES = "10.0.0.2"
    settings.KEFU_LOGIN_RATE = "3/300"
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    for n in range(3):  # a forged leftmost hop per try does not make a fresh client
        proxy.post(
            "/accounts/login/",
            {"username": alice.email, "password": "nope-nope"},
            HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 198.51.100.77",
        )
    assert set(
        AuditEvent.objects.filter(action="auth.login_failed").values_list("ip_address", flat=True)
    ) == {"198.51.100.77"}
    response = proxy.post(
        "/accounts/login/",
        {"username": alice.email, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.77",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert THROTTLED in response.content.decode()
    other = Client(REMOTE_ADDR="10.0.0.2")
    other.post(
        "/accounts/login/",
        {"username": alice.email, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.78",
    )
    assert signed_in(other)


def test_sessions_signed_in_before_the_limiter_stay_valid(alice):
    client = Client()
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/portal/").status_code == 200


def test_authenticate_itself_is_limited(alice, settings):
    """Any caller of authenticate() with a request, not only the two login forms."""
    from django.contrib.auth import authenticate
    from django.http import HttpRequest

    settings.KEFU_LOGIN_RATE = "2/300"
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = "203.0.113.77"
    assert authenticate(request, username=alice.email, password="wrong-one") is None
    assert authenticate(request, username=alice.email, password="wrong-two") is None
    assert authenticate(request, username=alice.email, password=PASSWORD) is None  # waits now
    assert getattr(request, "kefu_throttled", 0) > 0
