"""Details from free text (kefu/bot/understand.py): several per message, in any order, checked."""

from __future__ import annotations

import pytest

from kefu.bot.understand import cn_to_number, detect_language, extract, to_traditional

EVM_TX = "0x" + "4b7e2f9a" * 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TRC20的，五百U，三个小时了", {"network": "TRC-20", "amount": "500", "time": "三个小时了"}),
        ("sent 2k usdt yesterday night", {"coin": "USDT", "amount": "2000", "time": "yesterday night"}),
        (
            "我的deposit一直pending，USDT ERC20，1.5w",
            {"coin": "USDT", "network": "ERC-20", "amount": "15000"},
        ),
        ("USDT 儲值沒到帳，TRC20，金額1000，今天上午10點轉的", {"amount": "1000", "time": "今天上午10點"}),
        ("200个，昨天晚上转的", {"amount": "200", "time": "昨天晚上"}),
        ("我刚充的500U到账没有？", {"coin": "USDT", "amount": "500"}),
        (
            "deposited 12 SOL an hour ago",
            {"coin": "SOL", "network": "Solana", "amount": "12", "time": "an hour ago"},
        ),
        (
            "充了0.02个BTC，今天上午10点转的",
            {"coin": "BTC", "network": "Bitcoin", "amount": "0.02", "time": "今天上午10点"},
        ),
    ],
)
def test_several_details_in_one_message(text, expected):
    assert expected.items() <= extract(text).items()


def test_a_network_the_coin_does_not_run_on_is_not_taken():
    assert extract("BTC，TRC20")["network"] == "Bitcoin"
    assert "network" not in extract("TRC20", known={"coin": "BTC"})


def test_a_hash_is_never_a_time_or_an_amount():
    found = extract(f"时间: {EVM_TX}")
    assert found == {"tx_hash": EVM_TX}
    assert extract("交易哈希 " + "3a1f5c9e" * 8)["tx_hash"] == "3a1f5c9e" * 8


def test_a_0x_hash_on_bitcoin_is_questioned():
    found = extract(f"txid {EVM_TX}", known={"coin": "BTC", "network": "Bitcoin"})
    assert found.get("tx_hash_problem") == "format"


def test_memo_coins_and_handles():
    assert extract("我转XRP进来忘记填标签了")["memo"] == "missing"
    assert extract("I did put the tag, 50 XRP")["memo"] == "provided"
    assert extract("memo: 384721", known={"coin": "EOS"})["memo"] == "384721"
    assert extract("TG上有个 @Kefu_Support_Help 说是客服")["handle"] == "@Kefu_Support_Help"


def test_chinese_numerals():
    assert [cn_to_number(t) for t in ("五百", "两千五", "一万二千", "十五", "三")] == [
        500,
        2500,
        12000,
        15,
        3,
    ]


def test_language_is_what_the_customer_writes():
    assert detect_language("我的充值没到账", fallback="en") == "zh-hans"
    assert detect_language("我的儲值沒到帳", fallback="en") == "zh-hant"
    assert detect_language("my deposit is missing", fallback="zh-hans") == "en"
    assert detect_language("My 提币 is stuck since yesterday", fallback="zh-hans") == "en"
    assert detect_language("我的deposit一直pending，USDT ERC20，1.5w", fallback="en") == "zh-hans"
    assert detect_language("it says “地址格式错误”", fallback="zh-hans") == "en"
    assert detect_language("500", fallback="zh-hant") == "zh-hant"  # nothing either way: the fallback
    assert detect_language(EVM_TX, fallback="en") == "en"
    assert to_traditional("账户余额") == "賬戶餘額"
    # A link keeps its simplified section anchor.
    assert (
        to_traditional("详见 /help/a/withdrawal-pending/#s-一直处理中 。")
        == "詳見 /help/a/withdrawal-pending/#s-一直处理中 。"
    )


def test_a_memo_written_after_its_name():
    assert extract("标签填了 123456，金额300", known={"coin": "XRP"}) == {"memo": "123456", "amount": "300"}
