"""One-time codes: lifecycle, storage, send limits and lock-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from kefu.audit.models import AuditEvent
from kefu.identity import actions, selectors
from kefu.identity.exceptions import (
    ChallengeInvalid,
    ChallengeNotFound,
    ChannelUnavailable,
    Locked,
    SendThrottled,
    WrongCode,
)
from kefu.identity.models import Method, VerificationChallenge, VerificationState
from kefu.identity.tests.conftest import last_mailed_code

pytestmark = pytest.mark.django_db


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def send(user, **kwargs) -> VerificationChallenge:
    kwargs.setdefault("channel", "email")
    kwargs.setdefault("ip_address", "203.0.113.7")
    return actions.check_send_code(user=user, **kwargs)


def test_a_code_verifies_once_and_records_who_how_and_when(alice):
    """The right code verifies the customer by email; the same code cannot be used again."""
    challenge = send(alice)
    code = last_mailed_code()
    assert mail.outbox[-1].to == ["alice@example.com"]

    verification = actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=code)

    assert verification.method == Method.EMAIL_CODE
    assert verification.detail == "a***e@example.com"
    status = selectors.verification_status(alice)
    assert status is not None and status.still_valid and status.method == Method.EMAIL_CODE
    with pytest.raises(ChallengeInvalid):
        actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=code)
    assert list(
        AuditEvent.objects.filter(target_id=str(alice.public_id))
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["identity.code_sent", "identity.verified"]


def test_the_code_is_never_stored_or_audited_in_plain_text(alice):
    """Neither the challenge row, nor any audit row, nor the raw database file holds the code."""
    challenge = send(alice)
    code = last_mailed_code()
    challenge.refresh_from_db()
    assert len(challenge.code_hash) == 64 and code not in challenge.code_hash
    row = VerificationChallenge.objects.filter(pk=challenge.pk).values().get()
    assert all(code not in str(value) for value in row.values())
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM identity_verificationchallenge")
        assert all(code not in str(value) for value in cursor.fetchall()[0])
    for event in AuditEvent.objects.all():
        assert code not in str(event.data)
    actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=code)
    for event in AuditEvent.objects.all():
        assert code not in str(event.data)


def test_codes_have_six_digits_by_default_and_eight_when_configured(alice, settings):
    send(alice)
    assert len(last_mailed_code()) == 6
    settings.KEFU_IDENTITY_CODE_LENGTH = 8
    challenge = send(alice)
    from kefu.identity.tests.conftest import code_from

    code = code_from(mail.outbox[-1].body, length=8)
    actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=code)


def test_a_code_expires_after_ten_minutes(alice):
    now = timezone.now()
    challenge = send(alice, now=now)
    code = last_mailed_code()
    assert challenge.expires_at == now + timedelta(minutes=10)
    with pytest.raises(ChallengeInvalid) as info:
        actions.check_verify_code(
            user=alice,
            challenge_id=challenge.public_id,
            code=code,
            now=now + timedelta(minutes=10, seconds=1),
        )
    assert not isinstance(info.value, ChallengeNotFound)
    # Still usable just before expiry.
    actions.check_verify_code(
        user=alice, challenge_id=challenge.public_id, code=code, now=now + timedelta(minutes=9, seconds=59)
    )


def test_a_customer_cannot_use_another_customers_challenge(alice, bob):
    challenge = send(alice)
    code = last_mailed_code()
    with pytest.raises(ChallengeNotFound):
        actions.check_verify_code(user=bob, challenge_id=challenge.public_id, code=code)
    with pytest.raises(ChallengeNotFound):
        actions.check_verify_code(user=bob, challenge_id="not-a-uuid", code=code)


def test_sms_is_unavailable_without_a_phone_or_a_provider(alice):
    with pytest.raises(ChannelUnavailable):
        send(alice, channel="sms")
    alice.phone = "+86 138 0013 8000"
    alice.save()
    with pytest.raises(ChannelUnavailable):
        send(alice, channel="sms")  # no SMS provider configured
    assert [o.channel for o in selectors.available_channels(alice)] == ["email"]
    with pytest.raises(ChannelUnavailable):
        send(alice, channel="carrier-pigeon")


def test_sending_is_limited_per_account_in_a_sliding_hour(alice):
    """Five codes an hour per account; the sixth is refused with a retry-after until the first ages out."""
    start = timezone.now()
    for minute in range(5):
        send(alice, now=start + timedelta(minutes=minute), ip_address=f"203.0.113.{minute}")
    with pytest.raises(SendThrottled) as info:
        send(alice, now=start + timedelta(minutes=10), ip_address="198.51.100.1")
    assert info.value.retry_after == 50 * 60
    assert len(mail.outbox) == 5
    assert AuditEvent.objects.filter(action="identity.code_throttled").count() == 1
    send(alice, now=start + timedelta(hours=1, seconds=1))


def test_sending_is_limited_per_ip_across_accounts(alice, bob, settings):
    settings.KEFU_IDENTITY_SEND_RATE_IP = "3/3600"
    send(alice, ip_address="198.51.100.9")
    send(alice, ip_address="198.51.100.9")
    send(bob, ip_address="198.51.100.9")
    with pytest.raises(SendThrottled):
        send(bob, ip_address="198.51.100.9")
    send(bob, ip_address="198.51.100.10")


def test_five_wrong_codes_lock_verification_with_doubling_back_off(alice):
    now = timezone.now()
    challenge = send(alice, now=now)
    code = last_mailed_code()
    for attempts_left in (4, 3, 2, 1):
        with pytest.raises(WrongCode) as info:
            actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=wrong(code), now=now)
        assert info.value.attempts_left == attempts_left
    with pytest.raises(Locked) as info:
        actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=wrong(code), now=now)
    assert info.value.retry_after == 15 * 60

    # While locked even the right code is refused, and no new code is sent.
    with pytest.raises(Locked):
        actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=code, now=now)
    with pytest.raises(Locked):
        send(alice, now=now + timedelta(minutes=1))
    assert selectors.lock_remaining(alice, now=now) == 15 * 60

    # After the lock, five more failures lock for twice as long.
    later = now + timedelta(minutes=15, seconds=1)
    challenge = send(alice, now=later)
    code = last_mailed_code()
    for _ in range(4):
        with pytest.raises(WrongCode):
            actions.check_verify_code(
                user=alice, challenge_id=challenge.public_id, code=wrong(code), now=later
            )
    with pytest.raises(Locked) as info:
        actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=wrong(code), now=later)
    assert info.value.retry_after == 30 * 60
    assert AuditEvent.objects.filter(action="identity.locked").count() == 2


def test_asking_for_a_new_code_does_not_reset_the_failure_count(alice):
    """NIST SP 800-63B: failures count per account, so a fresh code is no fresh set of guesses."""
    first = send(alice)
    first_code = last_mailed_code()
    for _ in range(4):
        with pytest.raises(WrongCode):
            actions.check_verify_code(user=alice, challenge_id=first.public_id, code=wrong(first_code))
    second = send(alice)
    second_code = last_mailed_code()
    with pytest.raises(Locked):
        actions.check_verify_code(user=alice, challenge_id=second.public_id, code=wrong(second_code))


def test_a_successful_verification_clears_failures_and_voids_other_codes(alice):
    first = send(alice)
    first_code = last_mailed_code()
    second = send(alice)
    second_code = last_mailed_code()
    with pytest.raises(WrongCode):
        actions.check_verify_code(user=alice, challenge_id=second.public_id, code=wrong(second_code))
    actions.check_verify_code(user=alice, challenge_id=second.public_id, code=second_code)
    assert VerificationState.objects.get(user=alice).failures == 0
    with pytest.raises(ChallengeInvalid):
        actions.check_verify_code(user=alice, challenge_id=first.public_id, code=first_code)


def test_require_verified_honours_max_age(alice):
    from kefu.identity.exceptions import VerificationRequired

    with pytest.raises(VerificationRequired):
        selectors.require_verified(alice)
    now = timezone.now()
    challenge = send(alice, now=now)
    actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=last_mailed_code(), now=now)
    assert selectors.require_verified(alice, max_age=600, now=now + timedelta(minutes=5))
    with pytest.raises(VerificationRequired):
        selectors.require_verified(alice, max_age=600, now=now + timedelta(minutes=11))
    with pytest.raises(VerificationRequired):  # past the verification's own validity
        selectors.require_verified(alice, now=now + timedelta(hours=2))
