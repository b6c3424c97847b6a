"""Staff TOTP seeds sealed at rest: unreadable in the database, usable by the server."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from django.db import connection
from django.utils import timezone

from kefu.accounts.models import Role
from kefu.conftest import make_user
from kefu.identity import twofactor
from kefu.identity.sealed import SealedValueError, is_sealed, seal, unseal


def test_sealing_round_trips_and_differs_each_time():
    sealed = seal("JBSWY3DPEHPK3PXP")
    assert is_sealed(sealed) and "JBSWY3DPEHPK3PXP" not in sealed
    assert unseal(sealed) == "JBSWY3DPEHPK3PXP"
    assert seal("JBSWY3DPEHPK3PXP") != sealed  # random IV: equal seeds do not look equal
    assert seal("") == "" and unseal("") == ""


def test_a_rotated_secret_key_still_opens_old_values_through_the_fallbacks(settings):
    sealed = seal("JBSWY3DPEHPK3PXP")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-after-rotation-0123456789"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert unseal(sealed) == "JBSWY3DPEHPK3PXP"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(SealedValueError):
        unseal(sealed)


def test_a_tampered_value_is_refused():
    sealed = seal("JBSWY3DPEHPK3PXP")
    with pytest.raises(SealedValueError):
        unseal(sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:])


@pytest.mark.django_db
def test_enrolment_stores_the_seed_sealed_and_codes_still_verify():
    agent = make_user("sealed-agent@example.com", Role.AGENT)
    secret = twofactor.new_secret()
    twofactor.do_enrol_totp(user=agent, secret=secret, code=pyotp.TOTP(secret).now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM accounts_user WHERE id = %s", [agent.pk])
        stored = cursor.fetchone()[0]
    assert secret not in stored and is_sealed(stored)
    agent.refresh_from_db()
    # The next time step, so the enrolment's own code does not count as a reuse.
    later = timezone.now() + timedelta(seconds=30)
    twofactor.check_totp(user=agent, code=pyotp.TOTP(secret).at(later), now=later)


@pytest.mark.django_db
def test_a_seed_no_key_opens_accepts_no_code(settings):
    agent = make_user("lost-key@example.com", Role.AGENT)
    secret = twofactor.new_secret()
    agent.totp_secret, agent.totp_enabled = seal(secret), True
    agent.save()
    settings.SECRET_KEY = "someone-replaced-the-secret-key-without-a-fallback-0123"
    with pytest.raises(twofactor.TotpInvalid):
        twofactor.check_totp(user=agent, code=pyotp.TOTP(secret).now())


@pytest.mark.django_db
def test_a_seed_stored_before_sealing_still_works():
    agent = make_user("legacy-seed@example.com", Role.AGENT)
    secret = twofactor.new_secret()
    agent.totp_secret, agent.totp_enabled = secret, True
    agent.save()
    twofactor.check_totp(user=agent, code=pyotp.TOTP(secret).now())


@pytest.mark.django_db
def test_the_migration_seals_plain_seeds_once_and_can_undo_it():
    from importlib import import_module

    from django.apps import apps

    from kefu.accounts.models import User

    migration = import_module("kefu.accounts.migrations.0002_seal_totp_secret")
    agent = make_user("migrated@example.com", Role.AGENT)
    User.objects.filter(pk=agent.pk).update(totp_secret="JBSWY3DPEHPK3PXP")
    migration.seal_existing(apps, None)
    sealed = User.objects.get(pk=agent.pk).totp_secret
    assert is_sealed(sealed) and unseal(sealed) == "JBSWY3DPEHPK3PXP"
    migration.seal_existing(apps, None)
    assert User.objects.get(pk=agent.pk).totp_secret == sealed  # not sealed twice
    migration.open_existing(apps, None)
    assert User.objects.get(pk=agent.pk).totp_secret == "JBSWY3DPEHPK3PXP"
