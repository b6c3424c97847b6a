"""Extract what an agent would ask for — coin, network, amount, time, tx hash — from free text."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

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
_AMOUNT_WITH_COIN = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(?:个|枚|块)?\s*("
    + "|".join(re.escape(c) for c in sorted(COINS, key=len, reverse=True))
    + r")(?![a-z])",
    re.I,
)
_NUMBER = re.compile(r"(?<![\w.])(\d{1,15}(?:[.,]\d{1,18})?)(?![\w.])")
_TIME = re.compile(
    r"(\d+\s*(?:个)?\s*(?:分钟|小时|天|周|min(?:ute)?s?|hours?|hrs?|days?|weeks?)\s*(?:前|了|ago)?"
    r"|今天|昨天|前天|今早|今晚|昨晚|刚才|刚刚|上午|下午|晚上|凌晨|yesterday|today|this morning|last night|just now"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:\s+\d{1,2}:\d{2})?|\d{1,2}月\d{1,2}[日号]|\d{1,2}:\d{2})",
    re.I,
)
SKIP_WORDS = re.compile(
    r"^\s*(不知道|不清楚|没有|忘了|跳过|skip|don'?t know|no idea|none|n/?a)\s*[。.!！]?\s*$", re.I
)


def find_tx_hash(text: str) -> str | None:
    match = TX_HASH.search(text)
    return match.group(0) if match else None


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


def find_amount(text: str, *, loose: bool = False) -> str | None:
    """An amount next to a coin name; with ``loose`` (we just asked for it) any lone number."""
    text = _without_hashes(text)
    match = _AMOUNT_WITH_COIN.search(text)
    raw = match.group(1) if match else None
    if raw is None and loose:
        numbers = _NUMBER.findall(text)
        raw = numbers[0] if len(numbers) == 1 else None
    if raw is None:
        return None
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        return None
    return format(value.normalize(), "f") if value >= 0 else None


def find_time(text: str, *, loose: bool = False) -> str | None:
    match = _TIME.search(text)
    if match:
        return match.group(0).strip()
    stripped = text.strip()
    return stripped[:60] if loose and stripped and not SKIP_WORDS.match(stripped) else None


def _without_hashes(text: str) -> str:
    return TX_HASH.sub(" ", text)


EXTRACTORS = {
    "tx_hash": lambda text, loose: find_tx_hash(text),
    "coin": lambda text, loose: find_coin(text),
    "network": lambda text, loose: find_network(text),
    "amount": lambda text, loose: find_amount(text, loose=loose),
    "time": lambda text, loose: find_time(text, loose=loose),
}


def extract(text: str, *, wanted: list[str], asking: str | None = None) -> dict[str, str]:
    """Every wanted slot found in ``text``; the slot just asked for is parsed more leniently."""
    found = {}
    for slot in wanted:
        value = EXTRACTORS[slot](text, slot == asking)
        if value:
            found[slot] = value
    return found
