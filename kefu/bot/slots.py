"""Extract what an agent would ask for — coin, network, amount, time, tx hash — from free text."""

from __future__ import annotations

import re

COINS = {
    "usdt": "USDT",
    "泰达币": "USDT",
    "u": "USDT",
    "btc": "BTC",
    "比特币": "BTC",
    "eth": "ETH",
    "以太坊": "ETH",
    "以太币": "ETH",
    "trx": "TRX",
    "波场": "TRX",
    "bnb": "BNB",
    "usdc": "USDC",
    "sol": "SOL",
    "xrp": "XRP",
    "瑞波币": "XRP",
    "doge": "DOGE",
    "狗狗币": "DOGE",
    "ltc": "LTC",
    "莱特币": "LTC",
    "ton": "TON",
    "eos": "EOS",
    "matic": "MATIC",
    "arb": "ARB",
    "dai": "DAI",
    "xlm": "XLM",
    "恒星币": "XLM",
    "恆星幣": "XLM",
    "atom": "ATOM",
}
NETWORKS = [
    (re.compile(r"erc[-\s]?20|以太坊网络|ethereum", re.I), "ERC-20"),
    (re.compile(r"trc[-\s]?20|波场网络|tron", re.I), "TRC-20"),
    (re.compile(r"bep[-\s]?20|bsc|bnb\s*(smart\s*)?chain|币安智能链", re.I), "BEP-20"),
    (re.compile(r"polygon|matic网络", re.I), "Polygon"),
    (re.compile(r"arbitrum", re.I), "Arbitrum"),
    (re.compile(r"optimism", re.I), "Optimism"),
    (re.compile(r"solana|sol\s*网络|spl", re.I), "Solana"),
    (re.compile(r"\bton\b网络|the open network", re.I), "TON"),
    (re.compile(r"比特币网络|bitcoin\s*network|\bbtc\s*(network|网络)", re.I), "Bitcoin"),
]
TX_HASH = re.compile(r"(?<![0-9a-zA-Z])(?:0x)?[0-9a-fA-F]{64}(?![0-9a-zA-Z])")
_COIN_WORD = re.compile(
    r"(?<![a-z])("
    + "|".join(sorted((re.escape(c) for c in COINS if len(c) > 1), key=len, reverse=True))
    + r")(?![a-z])",
    re.I,
)
# A one-letter unit is a unit only as one: "200u", "5 U"; in "5 u know" the "u" is "you".
_LETTER_UNIT = {"u": r"(?-i:U)|(?<=[0-9个枚块])u|u(?!\s*[a-z])"}
_AMOUNT_WITH_COIN = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(?:个|枚|块)?\s*("
    + "|".join(_LETTER_UNIT.get(c, re.escape(c)) for c in sorted(COINS, key=len, reverse=True))
    + r")(?![a-z])",
    re.I,
)
SKIP_WORDS = re.compile(
    r"^\s*(不知道|不清楚|没有|忘了|跳过|skip|don'?t know|no idea|none|n/?a)\s*[。.!！]?\s*$", re.I
)


# Slang for USDT with no amount: 提U, 充U, 转U, 出U, 收U, U币 ("U" alone is too common a letter).
_USDT_SLANG = re.compile(r"(?:[提充转出入收买卖换]\s*U(?![a-z])|(?<![a-z])U\s*币)", re.I)


def find_coin(text: str) -> str | None:
    match = _AMOUNT_WITH_COIN.search(text)
    if match:
        return COINS[match.group(2).lower()]
    match = _COIN_WORD.search(_without_hashes(text))
    if match:
        return COINS[match.group(1).lower()]
    return "USDT" if _USDT_SLANG.search(text) else None


def find_network(text: str) -> str | None:
    for pattern, name in NETWORKS:
        if pattern.search(text):
            return name
    return None


def _without_hashes(text: str) -> str:
    return TX_HASH.sub(" ", text)
