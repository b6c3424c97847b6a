"""facts.facts_for and facts.check_channel over the real announcement table, the demo wallet
records, the HTTP wallet backend pointed at a closed port, and the real channel verifier."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kefu.bot.facts import Fact, check_channel, facts_for
from kefu.helpcenter.models import Announcement, AnnouncementKind
from kefu.trust.demo import load_demo_channels
from kefu.wallet import demo_records

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    demo_records.load()


@pytest.fixture
def trc20_maintenance():
    now = timezone.now()
    return Announcement.objects.create(
        kind=AnnouncementKind.MAINTENANCE,
        title_zh="TRC-20 网络钱包维护，USDT 充提暂停",
        title_en="TRC-20 wallet maintenance: USDT deposits and withdrawals paused",
        body_zh="维护期间 USDT（TRC-20）充值和提现暂停，其他网络不受影响。恢复后自动入账。",
        body_en="USDT (TRC-20) deposits and withdrawals are paused meanwhile; other networks are not affected. "
        "Deposits are credited once it ends.",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        coins=["USDT"],
        networks=["TRC-20"],
    )


@pytest.fixture
def fake_support_notice():
    return Announcement.objects.create(
        kind=AnnouncementKind.NOTICE,
        title_zh="谨防假冒客服",
        title_en="Beware of fake support",
        starts_at=timezone.now() - timedelta(days=3),
    )


def _slots(**values: str) -> dict[str, str]:
    return {"coin": "", "network": "", "amount": "", "time": "", "txid": "", "address": "", **values}


def test_matching_announcement_comes_first(alice, records, trc20_maintenance, fake_support_notice):
    facts = facts_for(
        customer=alice,
        intent="deposit_not_credited",
        slots=_slots(coin="USDT", network="TRC20"),
        language="en",
    )
    assert facts[0].kind == "announcement" and facts[0].urgent
    assert "TRC-20 wallet maintenance" in facts[0].text and "other networks are not affected" in facts[0].text
    # The general scam notice is not news about a TRC-20 deposit.
    assert not any("fake support" in f.text for f in facts)
    zh = facts_for(
        customer=None,
        intent="deposit_not_credited",
        slots=_slots(coin="USDT", network="TRC20"),
        language="zh-hans",
    )
    assert zh == [Fact(kind="announcement", text=zh[0].text, urgent=True)]
    assert zh[0].text.startswith("公告：TRC-20 网络钱包维护") and "其他网络不受影响" in zh[0].text


def test_announcement_for_another_network_is_not_said(trc20_maintenance):
    facts = facts_for(
        customer=None,
        intent="deposit_not_credited",
        slots=_slots(coin="USDT", network="ERC20"),
        language="en",
    )
    assert facts == []
    btc = facts_for(customer=None, intent="deposit_not_credited", slots=_slots(coin="BTC"), language="en")
    assert btc == []


def test_credited_and_confirming_deposits_are_said_plainly(alice, records):
    facts = facts_for(
        customer=alice,
        intent="deposit_not_credited",
        slots=_slots(coin="USDT", network="ERC20"),
        language="en",
    )
    assert [f.kind for f in facts] == ["deposit"]
    assert facts[0].text.startswith("1200 USDT (ERC-20) arrived at ")
    assert "waiting for network confirmations" in facts[0].text
    eth = facts_for(
        customer=alice,
        intent="deposit_not_credited",
        slots=_slots(coin="ETH", time=(timezone.now() - timedelta(days=2)).isoformat()),
        language="zh-hans",
    )
    assert len(eth) == 1 and eth[0].text.startswith("0.5 ETH (ERC-20) 于") and "入账" in eth[0].text


def test_no_matching_deposit_is_said(alice, records):
    facts = facts_for(
        customer=alice,
        intent="deposit_not_credited",
        slots=_slots(coin="USDT", network="TRC20"),
        language="en",
    )
    assert facts == [
        Fact(kind="deposit", text="I see no USDT (TRC20) deposit to your account in the last 24 hours.")
    ]


def test_withdrawal_in_review_is_urgent(bob, records):
    facts = facts_for(customer=bob, intent="withdrawal_pending", slots=_slots(coin="ETH"), language="en")
    assert len(facts) == 1 and facts[0].kind == "withdrawal" and facts[0].urgent
    assert "1.2 ETH (ERC-20)" in facts[0].text and "security review" in facts[0].text


def test_txid_finds_the_record_and_the_diagnosis(alice, records):
    tx = demo_records.demo_hash("alice-eth-1")
    facts = facts_for(customer=alice, intent=None, slots=_slots(txid=tx), language="en")
    kinds = [f.kind for f in facts]
    assert kinds[0] == "deposit" and "0.5 ETH (ERC-20)" in facts[0].text and "credited" in facts[0].text
    assert "diagnosis" in kinds


def test_guest_gets_no_records(records):
    assert (
        facts_for(customer=None, intent="deposit_not_credited", slots=_slots(coin="USDT"), language="en")
        == []
    )


def test_backend_down_is_a_fact_not_an_error(alice, settings):
    settings.KEFU_WALLET_BACKEND = "http"
    settings.KEFU_WALLET_RECORDS = ""
    settings.KEFU_WALLET_API_URL = "http://127.0.0.1:9/"
    settings.KEFU_WALLET_API_TOKEN = "t" * 32
    settings.KEFU_WALLET_API_TIMEOUT = 2
    facts = facts_for(
        customer=alice, intent="withdrawal_pending", slots=_slots(coin="USDT"), language="zh-hans"
    )
    assert len(facts) == 1 and facts[0].kind == "withdrawal"
    assert "暂时无法查看" in facts[0].text


def test_lookalike_handle_names_the_official_one():
    load_demo_channels()
    fact = check_channel("a support guy @LumenWalletCS on twitter DMed me, is he real?", language="en")
    assert fact is not None and fact.kind == "official_channel" and fact.urgent
    assert fact.text.startswith(
        "@LumenWalletCS is NOT one of our official channels: it imitates our official"
    )
    assert "Our official X (Twitter) is @lumenwallet." in fact.text


def test_telegram_handle_when_there_is_no_official_telegram():
    load_demo_channels()
    fact = check_channel("电报上 @LumenWallet_Help 说可以帮我解冻", language="zh-hans")
    assert fact is not None and fact.urgent
    assert fact.text.startswith("@LumenWallet_Help 不是我们的官方渠道：我们没有官方Telegram。")
    assert "lumenwallet.example" in fact.text and "助记词" in fact.text


def test_our_x_handle_is_official_even_without_saying_where():
    load_demo_channels()
    fact = check_channel("is @LumenWallet you?", language="en")
    assert (
        fact is not None and not fact.urgent and "@LumenWallet is one of our official channels" in fact.text
    )


def test_official_site_and_email_are_official():
    load_demo_channels()
    site = check_channel("is https://lumenwallet.example/login real?", language="en")
    assert site is not None and not site.urgent and "is one of our official channels" in site.text
    mail = check_channel("我收到 support@lumenwallet.example 的邮件", language="zh-hans")
    assert mail is not None and not mail.urgent and "官方渠道" in mail.text


def test_phone_without_official_phone_lists_the_real_channels():
    load_demo_channels()
    fact = check_channel("有人打电话 +86 138 0013 8000 说是客服", language="zh-hans")
    assert fact is not None and fact.urgent
    assert "lumenwallet.example" in fact.text


def test_nothing_to_check():
    assert check_channel("my deposit has not arrived", language="en") is None
