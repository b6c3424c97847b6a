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


@pytest.fixture(autouse=True)
def _own_wallet(settings, tmp_path):
    """The demo wallet keeps its accounts in this test's directory; no real chain node."""
    settings.KEFU_WALLET_BACKEND = "kefu.wallet.demo.DemoWalletBackend"
    settings.KEFU_WALLET_RECORDS = None
    settings.KEFU_WALLET_DEMO_FILE = str(tmp_path / "wallet-demo.json")
    settings.KEFU_CHAIN_URLS = {}
    settings.KEFU_CHAIN_BACKOFF = 0


@pytest.fixture
def eth():
    """Ethereum on eth-tester, reached through the real chain client."""
    from kefu.wallet.tests.support import install_chain

    yield from install_chain("ethereum", "inprocess")


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
        Fact(kind="deposit", text="I see no USDT (TRC-20) deposit to your account in the last 24 hours.")
    ]


def test_withdrawal_in_review_is_urgent(bob, records):
    facts = facts_for(customer=bob, intent="withdrawal_pending", slots=_slots(coin="ETH"), language="en")
    assert len(facts) == 1 and facts[0].kind == "withdrawal" and facts[0].urgent
    assert "1.2 ETH (ERC-20)" in facts[0].text and "security review" in facts[0].text


def test_chain_confirmations_follow_the_record(alice, eth):
    from kefu.wallet.tests.support import add_address, add_deposit, uid_of

    uid, mine = uid_of("alice@example.com"), eth.accounts[3]
    add_address(uid, mine)
    token = eth.chain.deploy_token()
    tx = eth.chain.send_token(token, eth.accounts[0], mine, 25_000_000)
    eth.chain.mine(11)
    add_deposit(uid, tx, status="confirming", amount="25", address=mine)
    facts = facts_for(
        customer=alice,
        intent="deposit_not_credited",
        slots=_slots(coin="USDT", network="ERC20", txid=tx),
        language="en",
    )
    assert [f.kind for f in facts] == ["deposit", "diagnosis"]
    assert facts[0].text.startswith("25 USDT (ERC-20) arrived at ")
    assert "Confirmations: 12 of 64." in facts[1].text


def test_transfer_to_someone_else_is_said_with_what_to_do(alice, eth):
    from kefu.wallet.tests.support import add_address, uid_of

    add_address(uid_of("alice@example.com"), eth.accounts[3])
    token = eth.chain.deploy_token()
    tx = eth.chain.send_token(token, eth.accounts[0], eth.accounts[5], 25_000_000)
    eth.chain.mine(70)
    facts = facts_for(
        customer=alice,
        intent="deposit_not_credited",
        slots=_slots(coin="USDT", network="ERC20", txid=tx),
        language="zh-hans",
    )
    assert facts[0] == Fact(kind="deposit", text="您的账户中没有这个交易哈希的充值记录。")
    assert facts[1].kind == "diagnosis" and facts[1].urgent


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
    assert "Our official X (Twitter) account is @lumenwallet." in fact.text


def test_telegram_handle_when_there_is_no_official_telegram():
    load_demo_channels()
    fact = check_channel("电报上 @LumenWallet_Help 说可以帮我解冻", language="zh-hans")
    assert fact is not None and fact.urgent
    assert fact.text.startswith("@LumenWallet_Help 不是我们的官方渠道。我们没有官方Telegram 账号。")
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


def test_domain_in_chinese_text_is_checked_alone():
    load_demo_channels()
    fact = check_channel("客服让我去lumenwallet-support.example网站领取补偿", language="zh-hans")
    assert fact is not None and fact.urgent
    assert fact.text.startswith("lumenwallet-support.example 不是我们的官方渠道：它在冒充我们的官方渠道")


def test_a_handle_wins_over_an_attached_file_name():
    load_demo_channels()
    fact = check_channel("see screenshot.png, the guy is @LumenWalletCS on twitter", language="en")
    assert fact is not None and fact.text.startswith("@LumenWalletCS is NOT")


def test_hash_finds_the_record_whatever_coin_was_named(alice, records):
    tx = demo_records.demo_hash("alice-eth-1")
    facts = facts_for(customer=alice, intent=None, slots=_slots(coin="USDT", txid=tx), language="en")
    assert facts[0].kind == "deposit" and facts[0].text.startswith("0.5 ETH (ERC-20) arrived at")
    # Found as a deposit: nothing is said about withdrawals, and the chain (not configured in
    # tests) adds nothing the record did not say.
    assert [f.kind for f in facts] == ["deposit"]


def test_unknown_hash_is_said_once(alice, records):
    facts = facts_for(customer=alice, intent=None, slots=_slots(txid="ab" * 32), language="en")
    assert facts[0] == Fact(
        kind="deposit", text="I see no deposit or withdrawal with that transaction hash in your account."
    )
    assert sum("transaction hash" in f.text for f in facts) == 1


def test_whole_short_announcement_is_said(alice, records, trc20_maintenance):
    facts = facts_for(customer=alice, intent="deposit_not_credited", slots=_slots(coin="USDT"), language="en")
    assert facts[0].kind == "announcement" and "Deposits are credited once it ends." in facts[0].text
    assert "(until " in facts[0].text


def test_site_wide_incident_without_coin_is_said_but_not_a_general_notice(fake_support_notice):
    Announcement.objects.create(
        kind=AnnouncementKind.INCIDENT,
        title_zh="部分用户无法登录",
        title_en="Some users cannot sign in",
        starts_at=timezone.now() - timedelta(minutes=5),
    )
    facts = facts_for(customer=None, intent="account_locked", slots=_slots(), language="en")
    assert [f.text for f in facts] == ["Announcement: Some users cannot sign in."]


def test_a_customer_hears_only_their_own_records(alice, bob, records):
    bobs_hash = demo_records.demo_hash("bob-usdt-1")
    facts = facts_for(customer=alice, intent=None, slots=_slots(txid=bobs_hash), language="en")
    assert not any("80 USDT" in f.text for f in facts)
    assert facts[0].text == "I see no deposit or withdrawal with that transaction hash in your account."
    theirs = facts_for(customer=bob, intent=None, slots=_slots(txid=bobs_hash), language="en")
    assert theirs[0].text.startswith("80 USDT (BEP-20) arrived at")


def test_nothing_recent_without_a_coin(alice, bob, records):
    said = facts_for(customer=bob, intent="deposit_not_credited", slots=_slots(), language="zh-hans")
    assert said == [Fact(kind="deposit", text="最近 24 小时内，您的账户没有充值记录。")]
    recent = facts_for(customer=alice, intent="deposit_not_credited", slots=_slots(), language="en")
    assert [f.text.split(" arrived")[0] for f in recent] == ["1200 USDT (ERC-20)", "0.015 BTC (Bitcoin)"]


def test_a_silent_chain_node_gets_one_short_try(alice, records, settings):
    """A node that accepts and never answers is asked once, with the short timeout, and the
    customer still hears their record; without the pre-check the diagnosis would retry."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)  # never answered

    threading.Thread(target=accept, daemon=True).start()
    settings.KEFU_CHAIN_URLS = {"ethereum": f"http://127.0.0.1:{server.getsockname()[1]}/"}
    settings.KEFU_CHAIN_TIMEOUT = 1
    settings.KEFU_CHAIN_RETRIES = 3
    tx = demo_records.demo_hash("alice-usdt-1")  # confirming, so the chain would be asked
    try:
        facts = facts_for(
            customer=alice,
            intent="deposit_not_credited",
            slots=_slots(coin="USDT", network="ERC20", txid=tx),
            language="en",
        )
    finally:
        server.close()
        for connection in held:
            connection.close()
    assert [f.kind for f in facts] == ["deposit"] and facts[0].text.startswith("1200 USDT (ERC-20)")
    assert len(held) == 1
