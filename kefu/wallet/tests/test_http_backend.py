"""The HTTP wallet backend against a local server implementing its OpenAPI document."""

from __future__ import annotations

from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator

from kefu.wallet.backend import AccountStatus, UnknownAccount, WalletBackend, WalletBackendError
from kefu.wallet.http_backend import HttpWalletBackend
from kefu.wallet.records import DepositState, WalletRecords, WithdrawalState
from kefu.wallet.tests.wallet_api_support import TOKEN, load_document, serve_wallet_api, validator_for

UID = "u-1001"
ADDRESS = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"
TX = "0x" + "5e" * 32


@pytest.fixture
def api():
    with serve_wallet_api() as server:
        server.customers[UID] = {
            "email": "alice@example.com",
            "phone": "+8613800000000",
            "display_name": "Alice",
        }
        server.accounts[UID] = {
            "status": "active", "kyc_level": 2, "two_factor_enabled": True, "frozen_at": None, "frozen_reason": "",
        }  # fmt: skip
        server.addresses[UID] = [
            {"coin": "USDT", "network": "ERC-20", "address": ADDRESS, "memo": ""},
            {"coin": "XRP", "network": "XRP", "address": "rShared", "memo": "384721"},
        ]
        server.deposits[UID] = [
            {
                "id": "d-1", "coin": "USDT", "network": "ERC-20", "amount": "25.5", "address": ADDRESS,
                "memo": "", "tx_hash": TX, "status": "confirming", "created_at": "2026-05-01T08:30:00Z",
                "credited_at": None,
            },
            {
                "id": "d-2", "coin": "USDT", "network": "ERC-20", "amount": "10", "address": ADDRESS,
                "tx_hash": "0x" + "77" * 32, "status": "credited", "created_at": "2026-04-01T08:30:00Z",
                "credited_at": "2026-04-01T08:41:00+08:00",
            },
        ]  # fmt: skip
        server.withdrawals[UID] = [
            {
                "id": "w-1", "coin": "ETH", "network": "ERC-20", "amount": "1.2", "fee": "0.0008",
                "address": "0x" + "ab" * 20, "memo": "", "tx_hash": "", "status": "reviewing",
                "created_at": "2026-05-01T02:00:00Z", "updated_at": None,
            }
        ]  # fmt: skip
        yield server
        assert server.violations == []


@pytest.fixture
def backend(api) -> HttpWalletBackend:
    return HttpWalletBackend(api.url, token=TOKEN, timeout=2)


def test_the_document_is_a_valid_openapi_31_document_whose_refs_resolve():
    document = load_document()
    assert document["openapi"].startswith("3.1")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation.get("operationId"), (path, method)
            for response in operation["responses"].values():
                resolved = response
                if "$ref" in response:
                    resolved = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                schema = resolved["content"]["application/json"]["schema"]
                Draft202012Validator.check_schema(schema)
                validator_for(document, schema).is_valid({})  # every $ref resolves


def test_both_interfaces_are_implemented(backend):
    assert isinstance(backend, WalletBackend) and isinstance(backend, WalletRecords)


def test_customers_are_found_by_any_identifier(backend):
    by_email = backend.find_customer(email="ALICE@example.com")
    assert by_email is not None and by_email.uid == UID and by_email.display_name == "Alice"
    assert backend.find_customer(phone="+8613800000000").uid == UID
    assert backend.find_customer(uid=UID).email == "alice@example.com"
    assert backend.find_customer(email="nobody@example.com") is None
    assert backend.find_customer() is None


def test_account_state_and_unknown_accounts(backend):
    state = backend.account_state(UID)
    assert state.status == AccountStatus.ACTIVE and state.kyc_level == 2 and state.two_factor_enabled
    with pytest.raises(UnknownAccount):
        backend.account_state("u-404")


def test_freeze_and_unfreeze_are_idempotent(backend, api):
    first = backend.freeze(UID, reason="stolen phone", requested_by="kefu:customer:1")
    again = backend.freeze(UID, reason="stolen phone", requested_by="kefu:customer:1")
    assert (first.status, first.changed, again.changed) == (AccountStatus.FROZEN, True, False)
    assert backend.account_state(UID).is_frozen
    assert backend.account_state(UID).frozen_reason == "stolen phone"
    lifted = backend.unfreeze(UID, reason="verified", approved_by="kefu:agent:7")
    assert lifted.status == AccountStatus.ACTIVE and lifted.changed
    assert api.requests[0] == ("POST", f"/customers/{UID}/freeze")


def test_records_are_read_and_parsed(backend):
    addresses = backend.deposit_addresses(UID)
    assert [(a.coin, a.network, a.memo) for a in addresses] == [
        ("USDT", "ERC-20", ""),
        ("XRP", "XRP", "384721"),
    ]

    deposits = backend.deposits(UID)
    assert [d.status for d in deposits] == [DepositState.CONFIRMING, DepositState.CREDITED]
    assert (
        deposits[0].amount == Decimal("25.5")
        and deposits[1].credited_at.utcoffset().total_seconds() == 8 * 3600
    )

    (by_hash,) = backend.deposits(UID, tx_hash=TX.upper().replace("0X", ""))
    assert by_hash.id == "d-1"

    (withdrawal,) = backend.withdrawals(UID)
    assert withdrawal.status == WithdrawalState.REVIEWING and withdrawal.fee == Decimal("0.0008")
    assert backend.withdrawals(UID, tx_hash=TX) == []


def test_an_unknown_customer_has_no_records(backend):
    assert backend.deposit_addresses("u-404") == [] and backend.deposits("u-404") == []


def test_a_wrong_token_is_an_error(api):
    with pytest.raises(WalletBackendError) as excinfo:
        HttpWalletBackend(api.url, token="wrong").account_state(UID)
    assert "401" in str(excinfo.value)


def test_a_server_error_is_retried_once(backend, api):
    api.fail_next = 1
    assert backend.account_state(UID).kyc_level == 2
    api.fail_next = 2
    with pytest.raises(WalletBackendError):
        backend.account_state(UID)


def test_an_unreachable_api_is_an_error():
    from kefu.wallet.tests.evm_support import closed_port_url

    with pytest.raises(WalletBackendError):
        HttpWalletBackend(closed_port_url(), token=TOKEN, timeout=1).deposits(UID)


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"id": "d", "coin": "USDT", "network": "ERC-20", "amount": 25.5, "address": "a",
                    "tx_hash": "", "status": "confirming", "created_at": "2026-05-01T08:30:00Z"}]},
        {"items": [{"id": "d", "coin": "USDT", "network": "ERC-20", "amount": "1", "address": "a",
                    "tx_hash": "", "status": "lost", "created_at": "2026-05-01T08:30:00Z"}]},
        {"items": [{"id": "d", "coin": "USDT", "network": "ERC-20", "amount": "1", "address": "a",
                    "tx_hash": "", "status": "credited", "created_at": "2026-05-01 08:30"}]},
        {"items": "none"},
    ],
)  # fmt: skip
def test_an_answer_that_breaks_the_document_is_an_error(backend, api, body):
    """A float amount, an unknown status, a time without a zone, a non-list: all refused."""
    api.override_body = body
    with pytest.raises(WalletBackendError):
        backend.deposits(UID)


@pytest.mark.django_db
def test_diagnosis_uses_the_http_backend_for_customer_and_records(api, eth, settings):
    from kefu.wallet.diagnosis import Verdict, diagnose_for_bot

    settings.KEFU_WALLET_BACKEND = "kefu.wallet.http_backend.HttpWalletBackend"
    settings.KEFU_WALLET_API_URL = api.url
    settings.KEFU_WALLET_API_TOKEN = TOKEN
    token = eth.chain.deploy_token()
    mine = eth.accounts[2]
    api.addresses[UID][0]["address"] = mine
    tx_hash = eth.chain.send_token(token, eth.accounts[0], mine, 10**6)

    class Customer:
        email, phone, is_authenticated = "alice@example.com", "", True

    result = diagnose_for_bot(
        customer=Customer(), coin="USDT", network="ERC-20", tx_hash=tx_hash, language="en"
    )

    assert result.verdict == Verdict.CONFIRMING
    assert f"{mine} is your USDT deposit address on ERC-20." in result.evidence
    assert ("GET", f"/customers/{UID}/deposit-addresses") in api.requests


def test_the_configured_backend_is_built_once_per_configuration(api, settings):
    from kefu.wallet.backend import get_wallet_backend

    settings.KEFU_WALLET_BACKEND = "kefu.wallet.http_backend.HttpWalletBackend"
    settings.KEFU_WALLET_API_URL = api.url
    settings.KEFU_WALLET_API_TOKEN = TOKEN
    shared = get_wallet_backend()
    assert get_wallet_backend() is shared  # one client, its connections kept between requests
    assert shared.account_state(UID).kyc_level == 2
    settings.KEFU_WALLET_API_TOKEN = "rotated-token"
    rotated = get_wallet_backend()
    assert rotated is not shared and rotated.token == "rotated-token"
