"""Slot extraction from the way customers actually write."""

from __future__ import annotations

import pytest

from kefu.bot.slots import find_coin


@pytest.mark.parametrize(
    ("text", "coin"),
    [
        ("提U一直没到", "USDT"),
        ("昨天充u到现在还没上账", "USDT"),
        ("转 U 给朋友失败了", "USDT"),
        ("U币提不出来", "USDT"),
        ("提了 200U 还没到", "USDT"),
        ("我的以太坊没到账", "ETH"),
        ("Withdrawal of 0.5 BTC pending", "BTC"),
        ("I uploaded my ID, still under review", None),
        ("USB 连不上硬件钱包", None),
        ("提现一直没到", None),
    ],
)
def test_coins_including_usdt_slang(text, coin):
    assert find_coin(text) == coin
