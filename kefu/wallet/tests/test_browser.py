"""The on-chain check card in headless Chromium: it loads by itself and Refresh re-checks the chain."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kefu.conftest import browser_login, make_user
from kefu.tickets import actions
from kefu.tickets.models import Category
from kefu.wallet.tests.support import add_address, install_chain, uid_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eth_inprocess(_web3_loaded):
    yield from install_chain("ethereum", "inprocess")


def test_the_card_shows_the_diagnosis_and_refresh_fetches_new_confirmations(
    browser, live_server, eth_inprocess
):
    eth = eth_inprocess
    alice = make_user("alice@example.com")
    make_user("agent@example.com", "agent", ("assets",))
    mine = eth.accounts[3]
    add_address(uid_of(alice.email), mine, coin="ETH")
    tx_hash = eth.chain.send_eth(eth.accounts[0], mine, 10**18)
    ticket = actions.check_create_ticket(
        customer=alice,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="ETH 充值未到账",
        description="一小时前转了 1 ETH。",
        coin="ETH",
        network="ERC-20",
        tx_hash=tx_hash,
    ).ticket

    context, page = browser_login(browser, live_server.url, "agent@example.com")
    page.goto(live_server.url + reverse("wallet:diagnose_page", args=[ticket.case_number]))
    page.wait_for_selector("#wallet-diagnosis .wallet-diagnosis[data-verdict=confirming]")
    assert "1/64" in page.inner_text("#wallet-diagnosis .wallet-confirmations")
    assert tx_hash in page.inner_text("#wallet-diagnosis")

    eth.chain.mine(4)
    page.reload()  # without Refresh the cached lookup answers
    page.wait_for_selector("#wallet-diagnosis .wallet-diagnosis[data-verdict=confirming]")
    assert "1/64" in page.inner_text("#wallet-diagnosis .wallet-confirmations")

    page.click("#wallet-diagnosis .wallet-refresh")
    page.wait_for_function(
        "() => document.querySelector('#wallet-diagnosis .wallet-confirmations').textContent.includes('5/64')"
    )
    assert page.is_enabled("#wallet-diagnosis .wallet-refresh")
    context.close()
