"""Customers arriving from the wallet app with a signed identity token (JWT)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from kefu.accounts.models import Role, User
from kefu.audit.models import AuditEvent
from kefu.conftest import make_user
from kefu.identity import actions
from kefu.identity.exceptions import InvalidIdentityToken
from kefu.identity.models import IdentityVerification, Method, WalletLink

pytestmark = pytest.mark.django_db

SECRET = "shared-secret-for-tests-0123456789abcdef"


@pytest.fixture(autouse=True)
def _jwt_settings(settings):
    settings.KEFU_IDENTITY_JWT_SECRET = SECRET
    settings.KEFU_IDENTITY_JWT_AUDIENCE = "kefu"
    settings.KEFU_IDENTITY_JWT_ISSUER = "wallet.example"


@pytest.fixture
def es256_key(settings):
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # As it would come from an environment variable: newlines escaped.
    settings.KEFU_IDENTITY_JWT_PUBLIC_KEY = pem.decode().replace("\n", "\\n")
    settings.KEFU_IDENTITY_JWT_SECRET = ""
    return private_key


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {
        "sub": "wallet-uid-1001",
        "email": "carol@example.com",
        "phone": "+8613800138000",
        "iat": now,
        "exp": now + 300,
        "aud": "kefu",
        "iss": "wallet.example",
        "jti": uuid.uuid4().hex,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256(**overrides) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


def test_a_valid_hs256_token_creates_the_customer_and_verifies_them():
    verification = actions.do_sign_in_with_token(raw=hs256(), ip_address="203.0.113.1")
    user = verification.user
    assert user.email == "carol@example.com" and user.role == Role.CUSTOMER
    assert not user.has_usable_password()
    assert verification.method == Method.WALLET_TOKEN
    assert WalletLink.objects.get(user=user).wallet_uid == "wallet-uid-1001"
    assert AuditEvent.objects.filter(action="identity.verified", target_id=str(user.public_id)).exists()


def test_a_token_for_a_known_email_signs_in_that_customer(alice):
    verification = actions.do_sign_in_with_token(raw=hs256(email="ALICE@example.com"))
    assert verification.user == alice


def test_a_valid_es256_token_is_accepted(es256_key):
    token = jwt.encode(claims(), es256_key, algorithm="ES256")
    assert actions.do_sign_in_with_token(raw=token).method == Method.WALLET_TOKEN


def test_an_hs256_token_is_refused_when_only_a_public_key_is_configured(es256_key, settings):
    """No algorithm confusion: with a public key configured, a shared-secret token is not checked."""
    pem = settings.KEFU_IDENTITY_JWT_PUBLIC_KEY.replace("\\n", "\n").encode()
    # Forged by hand: PyJWT itself refuses to sign HMAC with a PEM key.
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims()).encode())
    signature = _b64(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    with pytest.raises(InvalidIdentityToken) as info:
        actions.do_sign_in_with_token(raw=f"{header}.{payload}.{signature}")
    assert info.value.reason == "algorithm"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: hs256(exp=int(time.time()) - 120, iat=int(time.time()) - 600), "expired"),
        (
            lambda: jwt.encode(claims(), "another-secret-that-is-long-enough-32b", algorithm="HS256"),
            "signature",
        ),
        (lambda: hs256(aud="someone-else"), "audience"),
        (lambda: hs256(iss="evil.example"), "issuer"),
        (lambda: hs256(jti=None), "missing_jti"),
        (lambda: hs256(exp=None), "missing_exp"),
        (lambda: hs256(exp=int(time.time()) + 30 * 86400), "lifetime"),
        (lambda: hs256(email="not-an-email"), "email"),
        (lambda: jwt.encode(claims(), None, algorithm="none"), "algorithm"),
        (lambda: "not.a.token", "malformed"),
    ],
    ids=[
        "expired",
        "wrong-signature",
        "wrong-audience",
        "wrong-issuer",
        "no-jti",
        "no-exp",
        "too-long",
        "email",
        "alg-none",
        "garbage",
    ],
)
def test_bad_tokens_are_refused(token, reason):
    with pytest.raises(InvalidIdentityToken) as info:
        actions.do_sign_in_with_token(raw=token())
    assert info.value.reason == reason
    assert not IdentityVerification.objects.exists()
    assert not User.objects.filter(email="carol@example.com").exists()
    assert AuditEvent.objects.filter(action="identity.token_rejected").count() == 1


def test_a_token_expired_within_the_leeway_still_works():
    actions.do_sign_in_with_token(raw=hs256(exp=int(time.time()) - 5))


def test_a_replayed_token_is_refused():
    token = hs256()
    actions.do_sign_in_with_token(raw=token)
    with pytest.raises(InvalidIdentityToken) as info:
        actions.do_sign_in_with_token(raw=token)
    assert info.value.reason == "replayed"
    assert IdentityVerification.objects.count() == 1


def test_a_token_never_signs_in_staff(agent):
    with pytest.raises(InvalidIdentityToken) as info:
        actions.do_sign_in_with_token(raw=hs256(email=agent.email))
    assert info.value.reason == "not_a_customer"
    assert not WalletLink.objects.exists()


def test_an_email_linked_to_another_wallet_account_is_refused():
    actions.do_sign_in_with_token(raw=hs256(sub="wallet-a"))
    with pytest.raises(InvalidIdentityToken) as info:
        actions.do_sign_in_with_token(raw=hs256(sub="wallet-b"))
    assert info.value.reason == "wallet_conflict"


def test_post_identity_token_signs_in_with_json_or_form():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/identity/token", {"identity_token": hs256()}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["signed_in"] is True and response.json()["method"] == "wallet_token"
    assert client.get("/portal/").status_code == 200  # the session is signed in

    form_client = Client()
    response = form_client.post(
        "/identity/token", {"identity_token": hs256(sub="wallet-x", email="x@example.com")}
    )
    assert response.status_code == 200


def test_post_identity_token_refuses_a_bad_token():
    client = Client()
    response = client.post("/identity/token", {"identity_token": hs256(aud="other")})
    assert response.status_code == 400 and response.json()["error"] == "audience"
    assert client.get("/portal/").status_code == 302


def test_the_sso_landing_url_signs_in_and_redirects_to_next():
    client = Client()
    response = client.get("/identity/sso/", {"identity_token": hs256(), "next": "/portal/"})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.get("/portal/").status_code == 200


def test_the_sso_landing_url_ignores_an_offsite_next():
    response = Client().get("/identity/sso/", {"identity_token": hs256(), "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil.example" not in response["Location"]


def test_the_sso_landing_url_shows_an_error_for_a_replayed_token():
    token = hs256()
    Client().get("/identity/sso/", {"identity_token": token})
    response = Client().get("/identity/sso/", {"identity_token": token}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and 'id="sso-error"' in response.content.decode()


def test_make_user_helper_still_works_for_staff():
    # Guard against the token path changing roles of existing people.
    user = make_user("lead@example.com", Role.SUPERVISOR)
    with pytest.raises(InvalidIdentityToken):
        actions.do_sign_in_with_token(raw=hs256(email="lead@example.com"))
    user.refresh_from_db()
    assert user.role == Role.SUPERVISOR
