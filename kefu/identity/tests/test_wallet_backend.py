"""The wallet-backend interface and its demo implementation."""

from __future__ import annotations

import pytest

from kefu.wallet.backend import AccountStatus, WalletBackend, get_wallet_backend
from kefu.wallet.demo import DemoWalletBackend


def test_the_demo_backend_is_the_default(settings):
    settings.KEFU_WALLET_BACKEND = None
    backend = get_wallet_backend()
    assert isinstance(backend, DemoWalletBackend) and isinstance(backend, WalletBackend)


def test_a_backend_that_is_not_a_wallet_backend_is_refused(settings):
    settings.KEFU_WALLET_BACKEND = "collections.OrderedDict"
    with pytest.raises(TypeError):
        get_wallet_backend()


def test_the_demo_finds_the_same_account_by_email_or_uid(tmp_path):
    backend = DemoWalletBackend(tmp_path / "w.json")
    by_email = backend.find_customer(email="Alice@Example.com")
    assert by_email is not None and by_email.email == "alice@example.com"
    assert backend.find_customer(uid=by_email.uid) == by_email
    assert backend.find_customer(email="alice@example.com") == by_email
    assert backend.find_customer() is None


def test_freeze_and_unfreeze_are_idempotent_and_survive_a_restart(tmp_path):
    path = tmp_path / "w.json"
    uid = DemoWalletBackend(path).find_customer(email="bob@example.com").uid
    first = DemoWalletBackend(path).freeze(uid, reason="stolen", requested_by="test")
    again = DemoWalletBackend(path).freeze(uid, reason="stolen", requested_by="test")
    assert first.changed and not again.changed and again.status == AccountStatus.FROZEN
    state = DemoWalletBackend(path).account_state(uid)
    assert state.is_frozen and state.frozen_reason == "stolen" and state.frozen_at is not None
    assert DemoWalletBackend(path).unfreeze(uid, reason="verified", approved_by="spec").changed
    assert not DemoWalletBackend(path).unfreeze(uid, reason="verified", approved_by="spec").changed
    assert DemoWalletBackend(path).account_state(uid).status == AccountStatus.ACTIVE


def test_a_corrupt_demo_file_does_not_take_support_down(tmp_path):
    path = tmp_path / "w.json"
    path.write_text("{not json")
    assert DemoWalletBackend(path).account_state("demo-x").status == AccountStatus.ACTIVE
