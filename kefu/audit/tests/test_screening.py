"""Nothing reaches the audit log without the secret guard: whatever a caller records
(a typed sign-in name, a channel value, free text in ``data``) is screened in do_record."""

from __future__ import annotations

import pytest
from django.test import Client
from mnemonic import Mnemonic

from kefu.audit.actions import do_record
from kefu.audit.models import AuditEvent

PHRASE = Mnemonic("english").to_mnemonic(bytes(range(16)))
PHRASE_24 = Mnemonic("english").to_mnemonic(bytes(range(32)))
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def _words_left(text: str, phrase: str) -> list[str]:
    """Phrase words of 4+ letters still in ``text`` (short ones also occur in placeholders)."""
    return [w for w in phrase.split() if len(w) >= 4 and w in text]


@pytest.mark.django_db
@pytest.mark.parametrize("typed", [PHRASE, PHRASE_24, f"  {PHRASE.upper()}  ", KEY])
def test_a_secret_typed_as_the_sign_in_name_is_not_audited(typed: str) -> None:
    response = Client().post("/accounts/login/", {"username": typed, "password": "wrong password"})
    assert response.status_code == 200  # the form again, with its error
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert _words_left(event.target_id.lower(), PHRASE_24 if typed == PHRASE_24 else PHRASE) == []
    assert KEY not in event.target_id
    assert "[已隐藏：疑似" in event.target_id


@pytest.mark.django_db
def test_a_phrase_cut_to_fit_by_the_caller_is_still_hidden() -> None:
    """A caller that cuts the text to 64 characters leaves ~9 words: still hidden."""
    event = do_record(actor=None, action="auth.login_failed", target_type="user", target_id=PHRASE_24[:64])
    assert _words_left(event.target_id, PHRASE_24[:58]) == []


@pytest.mark.django_db
def test_every_string_in_data_is_screened() -> None:
    event = do_record(
        actor=None,
        action="test.recorded",
        target_type="ticket",
        target_id="KF-20261122-12345678",
        data={"reason": f"customer said: hello {PHRASE} thanks", PHRASE: 1, "list": [f"key {KEY}", 3]},
    )
    event.refresh_from_db()
    stored = str(event.data)
    assert _words_left(stored, PHRASE) == [] and KEY not in stored
    assert event.data["reason"] == "customer said: hello [已隐藏：疑似助记词] thanks"
    assert event.data["list"][1] == 3
    assert event.target_id == "KF-20261122-12345678"  # identifiers stay as they are


@pytest.mark.django_db
def test_ordinary_targets_are_untouched() -> None:
    for target in ("alice@example.com", "website:lumenwallet.example", "telegram:lumenwalletsupport", "-"):
        assert do_record(actor=None, action="x", target_type="y", target_id=target).target_id == target
