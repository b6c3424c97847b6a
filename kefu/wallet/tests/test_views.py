"""The sidebar's diagnosis endpoint: staff only, ticket permissions hold, refresh skips the cache."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from kefu.conftest import login
from kefu.tickets import actions
from kefu.tickets.models import Category
from kefu.wallet.tests.support import add_address, add_withdrawal, uid_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def deposit_ticket(eth, alice):
    mine = eth.accounts[3]
    add_address(uid_of(alice.email), mine, coin="ETH")
    tx_hash = eth.chain.send_eth(eth.accounts[0], mine, 10**18)
    return actions.check_create_ticket(
        customer=alice,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="ETH deposit not credited",
        description="Sent 1 ETH an hour ago.",
        language="en",
        coin="ETH",
        network="ERC-20",
        tx_hash=tx_hash,
    ).ticket


def url(ticket, **query) -> str:
    base = reverse("wallet:diagnose", args=[ticket.case_number])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_an_agent_of_the_team_gets_the_diagnosis_as_json_and_html(deposit_ticket, agent):
    client = login(agent)
    data = client.get(url(deposit_ticket, format="json"), HTTP_ACCEPT_LANGUAGE="en").json()
    assert data["case_number"] == deposit_ticket.case_number
    assert (data["verdict"], data["found"], data["status"], data["confirmations"]) == (
        "confirming", True, "success", 1
    )  # fmt: skip
    html = client.get(url(deposit_ticket)).content.decode()
    assert 'data-verdict="confirming"' in html and deposit_ticket.tx_hash in html


def test_an_agent_outside_the_team_a_customer_and_a_guest_get_nothing(
    deposit_ticket, tech_agent, alice, client
):
    assert login(tech_agent).get(url(deposit_ticket)).status_code == 404
    # Even the ticket's own customer: this is an agent tool.
    assert login(alice).get(url(deposit_ticket, format="json")).status_code == 404
    response = client.get(url(deposit_ticket))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert (
        login(tech_agent).get(reverse("wallet:diagnose_page", args=[deposit_ticket.case_number])).status_code
        == 404
    )


def test_a_supervisor_sees_every_ticket(deposit_ticket, supervisor):
    assert login(supervisor).get(url(deposit_ticket, format="json")).json()["verdict"] == "confirming"


def test_refresh_bypasses_the_cached_lookup(deposit_ticket, agent, eth):
    client = login(agent)
    assert client.get(url(deposit_ticket, format="json")).json()["confirmations"] == 1
    eth.chain.mine(5)
    assert client.get(url(deposit_ticket, format="json")).json()["confirmations"] == 1
    assert client.get(url(deposit_ticket, format="json", refresh=1)).json()["confirmations"] == 6


def test_a_withdrawal_ticket_without_a_hash_is_diagnosed_from_the_records(bob, agent):
    add_withdrawal(uid_of(bob.email), status="reviewing")
    ticket = actions.check_create_ticket(
        customer=bob,
        category=Category.objects.get(slug="withdrawal-issue"),
        title="Withdrawal stuck in processing",
        description="My ETH withdrawal has been processing for 6 hours.",
        coin="ETH",
        network="ERC-20",
    ).ticket
    data = login(agent).get(url(ticket, format="json")).json()
    assert (data["verdict"], data["kind"]) == ("held_for_review", "withdrawal")
    html = login(agent).get(url(ticket), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<span class="badge" title="held_for_review">审核中</span>' in html


def test_the_answer_is_never_cached_by_the_browser(deposit_ticket, agent):
    response = login(agent).get(url(deposit_ticket))
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_the_sidebar_names_the_verdict_in_the_agents_language():
    from kefu.wallet.diagnosis import VERDICT_LABELS, Verdict

    with translation.override("zh-hans"):
        assert str(VERDICT_LABELS[Verdict.HELD_FOR_REVIEW]) == "审核中"
    with translation.override("en"):
        assert str(VERDICT_LABELS[Verdict.HELD_FOR_REVIEW]) == "Held for review"
    assert set(VERDICT_LABELS) == set(Verdict)  # every verdict has a name
