"""The secret guard: find seed phrases and private keys in a text and hide them.

Every inbound text passes through :func:`scan` before it is stored, logged or shown. The
guard is pure Python (no Django) so that mail handlers, the bot, the CLI and log filters can
all call it.

How each secret is recognised (see ``docs/trust.md`` for the reasoning and trade-offs):

* **Seed phrases (BIP-39).** English: a run of at least 12 consecutive word-list words
  (upper/lower case, spaced, comma/semicolon/newline separated or numbered), tolerating one
  word within edit distance 1 of a list word per 12 words; with seed-phrase context nearby
  ("seed", "mnemonic", 助记词 ...) 9 words suffice. Chinese, spaced (字 字 字 / 1.字 2.字 / ①字):
  a checksum-valid window, exactly a phrase length of list characters, or 9+ with context.
  Chinese, unspaced: only near seed-phrase context, a checksum-valid window of 12–24 list
  characters that does not read like ordinary Chinese (see ``data/zh_common_words.txt``).
* **Hex private keys.** 64 hex digits (optionally ``0x``) decided by context: key words
  nearby → key; tx/hash/交易/地址 words nearby or an explorer URL → kept. With no context a
  bare 64-hex is treated as a key and a ``0x``-prefixed one as a transaction hash (kept);
  :func:`hex_candidates` exposes both so a chain lookup can settle them and
  :func:`scan_with_chain_facts` re-scans with what the chain said.
* **WIF**: base58check-verified. **Extended private keys** (xprv/yprv/zprv/tprv/uprv/vprv and
  SLIP-132 capitals): the prefix and length (a mistyped xprv is still a secret). An xpub is
  not a secret.
* **Solana secret keys**: base58 of 64 bytes whose second half is the Ed25519 public key of the
  first half (a transaction signature is also 64 bytes and is kept), or a JSON array of 64
  integers 0–255.
* **Ethereum keystore JSON**: an object with ``crypto``/``Crypto`` holding ``ciphertext`` and
  ``kdf`` (encrypted, but a weak password falls to brute force).
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Literal

import base58

__all__ = [
    "FieldKind",
    "Finding",
    "HexCandidate",
    "HexFacts",
    "ScanResult",
    "SECRET_KINDS",
    "hex_candidates",
    "redact",
    "scan",
    "scan_answer",
    "scan_field",
    "scan_with_chain_facts",
    "warning_for",
]

SECRET_KINDS = ("mnemonic", "private_key_hex", "wif", "xprv", "solana_secret", "keystore_json")


@dataclass(frozen=True)
class Finding:
    """A secret at ``text[start:end]`` (offsets into the text as given)."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class ScanResult:
    secret: bool
    redacted: str
    findings: list[Finding]
    # Set by scan_field only. ``leaked_key``: a hidden value is the customer's own private key
    # (HexFacts.keys). ``unsettled_hex``: everything hidden is a bare 64-hex from a tx-hash
    # field that nothing settled — perhaps a hash, so the customer is told how to send one.
    leaked_key: bool = False
    unsettled_hex: bool = False


@dataclass(frozen=True)
class HexFacts:
    """What was learned about 64-hex strings outside the guard, for :func:`scan_field`.

    The guard never reaches a chain or the wallet itself (it stays pure and fast); callers
    gather these before any database transaction (``kefu.wallet.settle.hex_facts``). Values
    are lower-case without ``0x``.
    """

    tx_hashes: frozenset[str] = frozenset()  # a chain (or the customer's records) knows it
    not_tx_hashes: frozenset[str] = frozenset()  # the ticket's chain was asked and does not
    keys: frozenset[str] = frozenset()  # derives the customer's own deposit address


@dataclass(frozen=True)
class HexCandidate:
    """A 64-hex string and what the guard made of it.

    ``verdict`` is ``"private_key"`` (key context: always hidden), ``"tx_hash"`` (hash or
    address context, or inside an explorer URL: kept) or ``"ambiguous"`` (no context). An
    ambiguous bare hex is hidden by :func:`scan`, an ambiguous ``0x`` hex is kept; a chain
    lookup settles either through :func:`scan_with_chain_facts`.
    """

    start: int
    end: int
    value: str  # lower-case, without 0x
    prefixed: bool
    verdict: Literal["private_key", "tx_hash", "ambiguous"]


# --------------------------------------------------------------------------- word lists

VALID_PHRASE_LENGTHS = (12, 15, 18, 21, 24)
MIN_RUN = 12  # list words needed without any seed-phrase context
MIN_RUN_WITH_CONTEXT = 9  # ... and with context nearby (a partly pasted phrase)
CONTEXT_WINDOW = 100  # characters either side of a run in which context counts
TYPO_MIN_LENGTH = 4  # 3-letter tokens are edit distance 1 from far too many list words

_DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class _WordList:
    index: dict[str, int]


@cache
def _english() -> _WordList:
    from mnemonic import Mnemonic

    return _WordList({w: i for i, w in enumerate(Mnemonic("english").wordlist)})


@cache
def _chinese() -> tuple[_WordList, _WordList]:
    from mnemonic import Mnemonic

    return (
        _WordList({w: i for i, w in enumerate(Mnemonic("chinese_simplified").wordlist)}),
        _WordList({w: i for i, w in enumerate(Mnemonic("chinese_traditional").wordlist)}),
    )


@cache
def _chinese_chars() -> frozenset[str]:
    simplified, traditional = _chinese()
    return frozenset(simplified.index) | frozenset(traditional.index)


@cache
def _english_deletes() -> dict[str, tuple[str, ...]]:
    """Every list word with one letter deleted → the words it came from (SymSpell index)."""
    table: dict[str, set[str]] = {}
    for word in _english().index:
        for i in range(len(word)):
            table.setdefault(word[:i] + word[i + 1 :], set()).add(word)
    return {key: tuple(sorted(value)) for key, value in table.items()}


@cache
def _zh_common_words() -> frozenset[str]:
    text = (_DATA_DIR / "zh_common_words.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if len(line.strip()) == 2)


def _deletes(token: str) -> Iterator[str]:
    for i in range(len(token)):
        yield token[:i] + token[i + 1 :]


def _english_typo(token: str) -> bool:
    """Whether ``token`` (lower case, not itself a list word) is one edit from a list word."""
    if len(token) < TYPO_MIN_LENGTH:
        return False
    words = _english().index
    deletes = _english_deletes()
    if token in deletes:  # a letter was dropped
        return True
    for shorter in _deletes(token):
        if shorter in words:  # a letter was added
            return True
        for word in deletes.get(shorter, ()):  # a letter was replaced or two were swapped
            if len(word) == len(token):
                diff = [i for i in range(len(word)) if word[i] != token[i]]
                if len(diff) == 1 or (
                    len(diff) == 2
                    and diff[1] == diff[0] + 1
                    and word[diff[0]] == token[diff[1]]
                    and word[diff[1]] == token[diff[0]]
                ):
                    return True
    return False


def _english_corrections(token: str) -> tuple[int, ...]:
    """List indices of the words one edit from ``token`` (lower case, not itself a list word)."""
    if len(token) < TYPO_MIN_LENGTH:
        return ()
    words = _english().index
    deletes = _english_deletes()
    found: set[str] = set(deletes.get(token, ()))  # a letter was dropped
    for shorter in _deletes(token):
        if shorter in words:  # a letter was added
            found.add(shorter)
        for word in deletes.get(shorter, ()):  # a letter was replaced or two were swapped
            if len(word) == len(token):
                diff = [i for i in range(len(word)) if word[i] != token[i]]
                if len(diff) == 1 or (
                    len(diff) == 2
                    and diff[1] == diff[0] + 1
                    and word[diff[0]] == token[diff[1]]
                    and word[diff[1]] == token[diff[0]]
                ):
                    found.add(word)
    return tuple(sorted(words[w] for w in found))


def _checksum_ok(indices: Sequence[int]) -> bool:
    """BIP-39: the last ``n/3`` bits are the first bits of SHA-256 of the entropy."""
    n = len(indices)
    if n not in VALID_PHRASE_LENGTHS:
        return False
    bits = 0
    for i in indices:
        bits = (bits << 11) | i
    checksum_bits = n // 3
    entropy = (bits >> checksum_bits).to_bytes((n * 11 - checksum_bits) // 8, "big")
    return hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits) == bits & ((1 << checksum_bits) - 1)


# List words next to a checksum-valid phrase that may stay visible: on each side, and in all.
MAX_TRIMMED_NEIGHBOURS = 3
MAX_TRIMMED_TOTAL = 4


def _exact_phrase(choices: Sequence[Sequence[int]]) -> tuple[int, int] | None:
    """Where the phrase lies in a run of list words: ``(first, last)`` token, or None if unsure.

    ``choices[k]``: the list indices token k may stand for (one for a list word, the
    corrections of a typo, none for a word outside the list). See :func:`_phrase_span`.
    """
    return _phrase_span(len(choices), _valid_windows(choices))


def _phrase_span(n: int, windows: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """The phrase among the checksum-valid ``windows`` ``(start, end)`` of a run of ``n`` list
    words, as ``(first, last)``; None to hide the whole run.

    Ordinary words that happen to be list words ("hello", "value", "seed", 是, 的) often stand
    next to a pasted phrase, so a run is longer than its phrase. Any window of L words passes
    the checksum by chance once in 2^(L/3) (12 words: 1 in 16; 24 words: 1 in 256), so the
    longest valid window is the likeliest phrase: it is kept with every valid window of the
    same length that overlaps it (nothing tells two shifted 12-word windows apart — one
    neighbour more is hidden, never a phrase word less). A shorter valid window is dropped
    when it sticks out of a longer one by at most 3 words (chance), kept otherwise (a second
    phrase). Neighbours stay visible up to 3 on a side and 4 in all; a longer remainder may
    be most of a mistyped 15–24-word phrase (a word changed into another list word) whose
    inner window passed by chance, so then the whole run is hidden. Of a mistyped phrase at
    most 4 words can show this way; at least 12 always stay hidden.
    """
    chosen = _likely_windows(windows)
    if not chosen:
        return None
    lo, hi = min(s for s, _ in chosen), max(e for _, e in chosen) - 1
    before, after = lo, n - 1 - hi
    if max(before, after) > MAX_TRIMMED_NEIGHBOURS or before + after > MAX_TRIMMED_TOTAL:
        return None
    return lo, hi


def _likely_windows(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The valid windows that may be a phrase: longest first, dropping a shorter one that
    sticks out of a longer one by at most 3 words (see :func:`_phrase_span`)."""
    chosen: list[tuple[int, int]] = []
    for start, end in sorted(set(windows), key=lambda w: (w[0] - w[1], w[0])):  # longest first
        length = end - start
        if any(
            e - s > length and start < e and end > s and max(0, s - start) + max(0, end - e) <= 3
            for s, e in chosen
        ):
            continue
        chosen.append((start, end))
    return chosen


def _valid_windows(choices: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """The checksum-valid windows ``(start, end)`` of a phrase length in a run of list words."""
    n = len(choices)
    if n <= MIN_RUN or n > 96:  # nothing to trim, or no single pasted phrase
        return []
    return [
        (start, start + length)
        for length in VALID_PHRASE_LENGTHS
        for start in range(0, n - length + 1)
        if all(choices[start : start + length]) and _any_checksum_ok(choices[start : start + length])
    ]


def _any_checksum_ok(window: Sequence[Sequence[int]]) -> bool:
    fixed = [c[0] for c in window]
    open_positions = [k for k, c in enumerate(window) if len(c) > 1]
    if not open_positions:
        return _checksum_ok(fixed)
    if len(open_positions) > 2:  # more typos than a phrase may hold: no verdict from the checksum
        return False

    def tries(k: int) -> Iterator[list[int]]:
        if k == len(open_positions):
            yield fixed
            return
        for index in window[open_positions[k]]:
            fixed[open_positions[k]] = index
            yield from tries(k + 1)

    return any(_checksum_ok(candidate) for candidate in tries(0))


# --------------------------------------------------------------------------- patterns

_CIRCLED = "\u2460-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf"
# What may stand between the words of a pasted phrase: spaces, punctuation (ASCII and CJK),
# numbering ("1.", "1)", "(1)", "①"), list bullets.
_SEP = rf"""[ \t\n\r\f\v\u00a0\u3000,;:.。，；：、!?！？()\[\]{{}}（）【】<>《》"'“”‘’`#|/\\*+=~_\-•·0-9０-９{_CIRCLED}]"""
_CJK = "\u4e00-\u9fff"


def _english_run(min_words: int) -> re.Pattern[str]:
    # The pattern opens with a plain character class (the letter, then "no letter before it")
    # so that the regex engine can skip ahead to candidate positions quickly. Possessive
    # quantifiers keep it linear: a 9+ letter word cannot be split into list words, and a
    # separator cannot be re-divided.
    word = "[A-Za-z]{3,8}+"
    gap = f"{_SEP}{{1,10}}+"
    return re.compile(
        rf"[A-Za-z](?<![A-Za-z].)[A-Za-z]{{2,7}}+{gap}(?:{word}{gap}){{{min_words - 2},}}{word}(?![A-Za-z])"
    )


def _spaced_cjk_run(min_chars: int) -> re.Pattern[str]:
    gap = f"{_SEP}{{1,10}}+"
    return re.compile(
        rf"[{_CJK}](?<![{_CJK}].){gap}(?:[{_CJK}]{gap}){{{min_chars - 2},}}[{_CJK}](?![{_CJK}])"
    )


_EN_RUN = _english_run(MIN_RUN)
_EN_RUN_CONTEXT = _english_run(MIN_RUN_WITH_CONTEXT)
_ZH_SPACED_RUN = _spaced_cjk_run(MIN_RUN)
_ZH_SPACED_RUN_CONTEXT = _spaced_cjk_run(MIN_RUN_WITH_CONTEXT)
_WORD = re.compile(r"[A-Za-z]+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_CJK_RUN = re.compile(rf"[{_CJK}]{{12,}}")
_CONNECTOR = re.compile("分别是|分別是|就是|如下|是|为|為")

# Words that say "a seed phrase or key follows/precedes", and substrings (of the lower-cased
# text) without which none of them can occur: plain substring search is far faster than the
# regular expression, and most texts contain none of them.
_PHRASE_CONTEXT_STEMS = tuple(
    "助记 助記 记忆词 記憶詞 恢复 恢復 短语 短語 种子 種子 私钥 私鑰 密钥 密鑰 秘钥 秘鑰 备份词 備份詞 "
    "seed mnemonic phrase word private".split()
)
_PHRASE_CONTEXT_STEM = re.compile("|".join(_PHRASE_CONTEXT_STEMS))
_PHRASE_CONTEXT_ZH = re.compile(
    "助记词|助記詞|助记|助記|记忆词|記憶詞|恢复短语|恢復短語|恢复词|恢復詞|钱包短语|錢包短語|种子|種子"
    "|私钥|私鑰|密钥|密鑰|秘钥|秘鑰|备份词|備份詞"
)
# Matched against the lower-cased text (a plain pattern is much faster than ``(?i)``).
_PHRASE_CONTEXT_EN = re.compile(
    r"seed|mnemonic|recovery[\s_-]*(?:phrase|words?)|secret[\s_-]*(?:recovery[\s_-]*)?(?:phrase|words?)"
    r"|backup[\s_-]*(?:phrase|words?)|private[\s_-]*key|passphrase|(?:12|24)[\s_-]*words"
)
# Near a 64-hex (matched against the lower-cased neighbourhood): words that make it a key,
# and words that make it a transaction hash, block hash or (Aptos/Sui) address.
_KEY_OR_TX_CONTEXT = re.compile(
    r"(?P<key>private[\s_-]*key|priv[\s_-]*key|prv[\s_-]*key|secret|(?<![a-z])(?:key|pk|sk|seed|entropy)(?![a-z])"
    r"|私钥|私鑰|密钥|密鑰|秘钥|秘鑰|助记|助記|种子|種子|导出|導出)"
    r"|(?P<tx>tx[\s_-]*(?:hash|id)|(?<![a-z])(?:tx|txid|txn|txhash|hash|transaction|transfer|block|address|addr"
    r"|contract|explorer|signature|sig|deposit|withdrawal|withdraw|payment|topic)(?![a-z])"
    r"|交易|哈希|转账|轉賬|转帐|轉帳|充值|充币|充幣|提现|提現|提币|提幣|记录|記錄|区块|區塊|地址|合约|合約"
    r"|浏览器|瀏覽器|签名|簽名|单号|單號)"
)
_EXPLORER_PATH = re.compile(
    r"(?i)/(?:tx|txs|transaction|transactions|block|blocks|address|addr|search|hash)/|[?&#](?:tx|txid|hash|txhash|q)="
    r"|#/transaction/"
)
_HEX_KEY_WINDOW_BEFORE = 48
_HEX_KEY_WINDOW_AFTER = 32

# Candidates for hex keys, WIF, xprv and base58 Solana keys: an alphanumeric run of 51+.
_ALNUM_RUN = re.compile(r"[0-9A-Za-z](?<![0-9A-Za-z].)[0-9A-Za-z]{50,}+(?![0-9A-Za-z])")
_HEX64 = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64}")
_HEX128 = re.compile(r"(?:0[xX])?[0-9a-fA-F]{128}")
_BASE58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_BYTE_ARRAY = re.compile(r"\[\s*(?:\d{1,3}\s*,\s*){63}\d{1,3}\s*\]")
_KEYSTORE_CRYPTO = re.compile(r"""["'](?:crypto|Crypto)["']\s*:""")

_WIF_VERSIONS = {0x80, 0xEF, 0xB0, 0x9E}  # BTC main/test, LTC, DOGE
# xprv yprv zprv tprv uprv vprv, and SLIP-132 Yprv Zprv Uprv Vprv.
_EXTENDED_PRIVATE_PREFIX = re.compile(r"[xyztuvYZUV]prv")


# --------------------------------------------------------------------------- placeholders

_PLACEHOLDERS = {
    "zh-hans": {
        "mnemonic": "[已隐藏：疑似助记词]",
        "key": "[已隐藏：疑似私钥]",
        "keystore": "[已隐藏：疑似钱包密钥文件]",
    },
    "zh-hant": {
        "mnemonic": "[已隱藏：疑似助記詞]",
        "key": "[已隱藏：疑似私鑰]",
        "keystore": "[已隱藏：疑似錢包密鑰檔案]",
    },
    "en": {
        "mnemonic": "[hidden: possible seed phrase]",
        "key": "[hidden: possible private key]",
        "keystore": "[hidden: possible keystore file]",
    },
}

_WARNINGS = {
    "zh-hans": {
        "mnemonic": "您的消息中似乎包含助记词，我们已自动将其隐藏。客服人员永远不会向您索要助记词或私钥。"
        "这组助记词应视为已经泄露：请立即创建一个新钱包，并把资产全部转移过去。",
        "key": "您的消息中似乎包含私钥，我们已自动将其隐藏。客服人员永远不会向您索要私钥或助记词。"
        "这个私钥应视为已经泄露：请立即创建一个新钱包，并把资产全部转移过去。",
        "unsettled_hex": "我们隐藏了一串 64 位十六进制字符，因为它可能是私钥。如果它是交易哈希，"
        "请改为粘贴该交易在区块浏览器中的链接；以太坊等 EVM 链也可以填写带 0x 前缀的形式。"
        "如果它是您的私钥，请视为已经泄露：立即创建一个新钱包并把资产全部转移过去。",
    },
    "zh-hant": {
        "mnemonic": "您的訊息中似乎包含助記詞，我們已自動將其隱藏。客服人員永遠不會向您索取助記詞或私鑰。"
        "這組助記詞應視為已經洩露：請立即建立一個新錢包，並把資產全部轉移過去。",
        "key": "您的訊息中似乎包含私鑰，我們已自動將其隱藏。客服人員永遠不會向您索取私鑰或助記詞。"
        "這個私鑰應視為已經洩露：請立即建立一個新錢包，並把資產全部轉移過去。",
        "unsettled_hex": "我們隱藏了一串 64 位十六進位字元，因為它可能是私鑰。如果它是交易雜湊，"
        "請改為貼上該交易在區塊瀏覽器中的連結；以太坊等 EVM 鏈也可以填寫帶 0x 前綴的形式。"
        "如果它是您的私鑰，請視為已經洩露：立即建立一個新錢包並把資產全部轉移過去。",
    },
    "en": {
        "mnemonic": "Your message seemed to contain a seed phrase, so we hid it. Nobody from support will "
        "ever ask for your seed phrase or private key. Treat this phrase as exposed: create a new "
        "wallet and move all your funds to it right away.",
        "key": "Your message seemed to contain a private key, so we hid it. Nobody from support will "
        "ever ask for your private key or seed phrase. Treat this key as exposed: create a new "
        "wallet and move all your funds to it right away.",
        "unsettled_hex": "We hid a 64-character hex string because it could be a private key. If it is "
        "a transaction hash, paste the transaction's block-explorer link instead, or on Ethereum "
        "and other EVM chains its 0x form. If it is your private key, treat it as exposed: create "
        "a new wallet and move all your funds to it right away.",
    },
}

# When secrets overlap, the merged span is reported as the most specific kind.
_PRIORITY = {
    k: i
    for i, k in enumerate(("keystore_json", "mnemonic", "xprv", "wif", "solana_secret", "private_key_hex"))
}


def _language_key(language: str) -> str:
    code = (language or "").lower().replace("_", "-")
    if code.startswith("zh"):
        if any(tag in code for tag in ("hant", "-tw", "-hk", "-mo")):
            return "zh-hant"
        return "zh-hans"
    return "en"


def _placeholder(kind: str, language: str) -> str:
    table = _PLACEHOLDERS[_language_key(language)]
    if kind == "mnemonic":
        return table["mnemonic"]
    if kind == "keystore_json":
        return table["keystore"]
    return table["key"]


# --------------------------------------------------------------------------- public API


def scan(text: str, *, language: str = "zh-hans") -> ScanResult:
    """Find seed phrases and private keys in ``text`` and return it with them hidden."""
    return scan_with_chain_facts(text, language=language)


def scan_with_chain_facts(
    text: str,
    *,
    language: str = "zh-hans",
    tx_hashes: Collection[str] = (),
    not_tx_hashes: Collection[str] = (),
) -> ScanResult:
    """:func:`scan`, settling ambiguous 64-hex strings with what a chain lookup found.

    ``tx_hashes``: hex strings found on chain as transactions (kept, unless key context says
    otherwise — a key is never a transaction hash, so that only happens on a wrong lookup).
    ``not_tx_hashes``: hex strings looked up and not found (hidden as possible keys).
    Either may be given with or without ``0x``, in any case.
    """
    spans = list(_find(text, tx_hashes=_hex_set(tx_hashes), not_tx_hashes=_hex_set(not_tx_hashes)))
    if not spans:
        return ScanResult(secret=False, redacted=text, findings=[])
    findings = _merge(spans)
    parts: list[str] = []
    last = 0
    for finding in findings:
        parts.append(text[last : finding.start])
        parts.append(_placeholder(finding.kind, language))
        last = finding.end
    parts.append(text[last:])
    return ScanResult(secret=True, redacted="".join(parts), findings=findings)


def scan_answer(text: str, *, asked: str, language: str = "zh-hans") -> ScanResult:
    """:func:`scan` for the answer to a question: ``asked`` (e.g. ``"seed phrase:"``) is the
    context a bare value lacks. Not for transaction hashes: a tx-hash field's bare 64-hex must be
    settled first, which only :func:`scan_field` with ``HexFacts`` does."""
    prefix = asked.rstrip() + " "
    result = scan(prefix + text, language=language)
    shift = len(prefix)
    return ScanResult(
        secret=result.secret,
        redacted=result.redacted[shift:] if result.redacted.startswith(prefix) else result.redacted,
        findings=[Finding(f.kind, max(f.start - shift, 0), f.end - shift) for f in result.findings],
    )


FieldKind = Literal["text", "tx_hash"]


def scan_field(
    text: str, *, field: FieldKind = "text", language: str = "zh-hans", facts: HexFacts | None = None
) -> ScanResult:
    """:func:`scan` for the value of a field whose kind is known: the one rule every entry point
    (ticket form and API, the bot's slots, the chat after the bot asked, mail) uses.

    A transaction hash and a private key are both 32 bytes, written as 64 hex digits: nothing in
    the string tells them apart. ``facts`` (gathered by the caller, outside the guard) settle it.

    * ``"tx_hash"`` (a field that asks for a transaction hash): a ``0x`` value or one inside an
      explorer URL is a hash and kept. A **bare** 64-hex is ambiguous — wallets export raw keys
      that way, and Bitcoin/TRON txids look the same — so it is kept only when ``facts`` found
      it as a transaction; not found, or not looked up at all, it is hidden
      (``unsettled_hex`` when nothing else was: :func:`warning_for` then tells the customer how
      to send a hash that survives). Key words in the value (``"private key: …"``, ``"… 私钥"``)
      always hide it.
    * ``"text"`` (every other field and free text: descriptions, order numbers, titles,
      messages): :func:`scan`'s rules — a bare 64-hex with no telling words nearby is hidden as a
      possible key, a ``0x`` one kept as a likely EVM transaction hash. No lookup keeps one.

    In either, a value in ``facts.keys`` (it derives the customer's own address) is hidden
    whatever its form or words, and reported as ``leaked_key``.
    """
    facts = facts or HexFacts()
    candidates = hex_candidates(text)
    keys = [c for c in candidates if c.value in facts.keys]
    found: list[str] = []
    unsettled: list[HexCandidate] = []
    if field == "tx_hash":
        for c in candidates:
            if c.value in facts.keys or c.prefixed or c.verdict == "private_key":
                continue
            if _in_explorer_url(text, c.start):
                continue
            if c.value in facts.tx_hashes:
                found.append(c.value)
            else:
                unsettled.append(c)
    # Unsettled bare values are hidden, whatever words like "txid" say: the field already said
    # "hash", and a pasted key looks the same.
    not_found = [*(c.value for c in unsettled), *(c.value for c in keys)]
    result = scan_with_chain_facts(text, language=language, tx_hashes=found, not_tx_hashes=not_found)
    forced = [
        Finding(kind="private_key_hex", start=c.start, end=c.end)
        for c in [*keys, *(u for u in unsettled if u.verdict == "tx_hash")]
        if not any(f.start <= c.start and c.end <= f.end for f in result.findings)
    ]
    if forced:
        result = _hide_more(text, result, forced, language=language)
    spans = {(c.start, c.end) for c in unsettled}
    return ScanResult(
        secret=result.secret,
        redacted=result.redacted,
        findings=result.findings,
        leaked_key=bool(keys),
        unsettled_hex=bool(result.findings) and all((f.start, f.end) in spans for f in result.findings),
    )


def _hide_more(text: str, result: ScanResult, extra: list[Finding], *, language: str) -> ScanResult:
    """``result`` with the ``extra`` spans hidden as well (whole 64-hex tokens it kept)."""
    findings = sorted([*result.findings, *extra], key=lambda f: f.start)
    parts: list[str] = []
    last = 0
    for finding in findings:
        parts.append(text[last : finding.start])
        parts.append(_placeholder(finding.kind, language))
        last = finding.end
    parts.append(text[last:])
    return ScanResult(secret=True, redacted="".join(parts), findings=findings)


def redact(text: str, *, language: str = "zh-hans") -> str:
    """``text`` with every seed phrase and private key replaced by a placeholder."""
    return scan(text, language=language).redacted


def warning_for(result: ScanResult, *, language: str) -> str | None:
    """The warning to show the customer after a secret was hidden, or ``None``."""
    if not result.secret:
        return None
    table = _WARNINGS[_language_key(language)]
    if result.unsettled_hex and not result.leaked_key:
        return table["unsettled_hex"]
    if any(f.kind == "mnemonic" for f in result.findings):
        return table["mnemonic"]
    return table["key"]


def hex_candidates(text: str) -> list[HexCandidate]:
    """Every 64-hex string in ``text`` with the guard's verdict, for a chain lookup to settle."""
    if len(text) < 64:
        return []
    out = []
    for match in _ALNUM_RUN.finditer(text):
        candidate = _classify_hex(text, match.start(), match.end(), match.group())
        if candidate is not None:
            out.append(candidate)
    return out


# --------------------------------------------------------------------------- detection

_Span = tuple[int, int, str]


def _hex_set(values: Collection[str]) -> frozenset[str]:
    if not values:
        return frozenset()
    return frozenset(v.strip().lower().removeprefix("0x") for v in values)


def _merge(spans: list[_Span]) -> list[Finding]:
    spans.sort()
    merged: list[list] = []
    for start, end, kind in spans:
        if merged and start <= merged[-1][1]:
            top = merged[-1]
            top[1] = max(top[1], end)
            if _PRIORITY[kind] < _PRIORITY[top[2]]:
                top[2] = kind
        else:
            merged.append([start, end, kind])
    return [Finding(kind=kind, start=start, end=end) for start, end, kind in merged]


def _find(text: str, *, tx_hashes: frozenset[str], not_tx_hashes: frozenset[str]) -> Iterator[_Span]:
    if len(text) < 14:  # shorter than any secret we look for (context + 12 characters)
        return
    ascii_only = text.isascii()
    context = _phrase_context(text)
    yield from _find_english_phrases(text, context)
    if not ascii_only:
        yield from _find_spaced_chinese_phrases(text, context)
        if context:
            yield from _find_unspaced_chinese_phrases(text, context)
    if len(text) >= 51:
        yield from _find_keys(text, tx_hashes=tx_hashes, not_tx_hashes=not_tx_hashes)
    if "[" in text:
        for m in _BYTE_ARRAY.finditer(text):
            if all(int(n) <= 255 for n in re.findall(r"\d+", m.group())):
                yield m.start(), m.end(), "solana_secret"
    if "iphertext" in text or "IPHERTEXT" in text:
        yield from _find_keystores(text)


def _phrase_context(text: str) -> list[tuple[int, int]]:
    """Spans of seed-phrase context words, sorted."""
    lowered = text.lower()
    if _PHRASE_CONTEXT_STEM.search(lowered) is None:
        return []
    spans = [(m.start(), m.end()) for m in _PHRASE_CONTEXT_ZH.finditer(text)]
    if len(lowered) != len(text):  # a few characters lower-case to two; offsets would shift
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    spans.extend((m.start(), m.end()) for m in _PHRASE_CONTEXT_EN.finditer(lowered))
    spans.sort()
    return spans


def _near_context(context: list[tuple[int, int]], start: int, end: int, window: int = CONTEXT_WINDOW) -> bool:
    if not context:
        return False
    # ``context`` is sorted by start; find any span overlapping [start - window, end + window].
    i = bisect_left(context, (start - window - 200, 0))
    for c_start, c_end in context[i:]:
        if c_start > end + window:
            return False
        if c_end >= start - window:
            return True
    return False


def _find_english_phrases(text: str, context: list[tuple[int, int]]) -> Iterator[_Span]:
    words = _english().index
    pattern = _EN_RUN_CONTEXT if context else _EN_RUN
    for run in pattern.finditer(text):
        tokens = [
            (m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text, run.start(), run.end())
        ]
        min_words = MIN_RUN_WITH_CONTEXT if _near_context(context, run.start(), run.end()) else MIN_RUN
        # Classify: 0 = list word, 1 = one typo away, 2 = anything else (breaks the run).
        classes = [0 if t in words else (1 if _english_typo(t) else 2) for _, _, t in tokens]
        for first, last in _phrase_segments(classes, min_words):
            phrase = [t for _, _, t in tokens[first : last + 1]]
            choices = [
                (words[t],) if c == 0 else _english_corrections(t) if c == 1 else ()
                for (_, _, t), c in zip(tokens[first : last + 1], classes[first : last + 1], strict=True)
            ]
            # Wallets draw words at random, so repeats are rare; prose and code repeat words. A
            # run with repeats is still a phrase if a window passes the checksum — with its typo
            # corrected (a random phrase repeats two words about once in 2,000).
            if (
                len(phrase) - len(set(phrase)) <= max(1, len(phrase) // 12)
                or _has_checksum_window(phrase)
                or (1 in classes[first : last + 1] and _has_corrected_checksum_window(choices))
            ):
                exact = _exact_phrase(choices)
                if exact is not None:
                    first, last = first + exact[0], first + exact[1]
                yield tokens[first][0], tokens[last][1], "mnemonic"


def _has_checksum_window(phrase: list[str]) -> bool:
    if len(phrase) > 96:  # a wall of list words is no single pasted phrase; bound the work
        return False
    words = _english().index
    indices = [words.get(w, -1) for w in phrase]
    for length in VALID_PHRASE_LENGTHS:
        for start in range(0, len(indices) - length + 1):
            window = indices[start : start + length]
            if -1 not in window and _checksum_ok(window):
                return True
    return False


def _has_corrected_checksum_window(choices: Sequence[Sequence[int]]) -> bool:
    """:func:`_has_checksum_window` for a run holding a typo: its corrections may pass."""
    if len(choices) > 96:
        return False
    return any(
        all(choices[start : start + length]) and _any_checksum_ok(choices[start : start + length])
        for length in VALID_PHRASE_LENGTHS
        for start in range(0, len(choices) - length + 1)
    )


def _phrase_segments(classes: list[int], min_words: int) -> Iterator[tuple[int, int]]:
    """Index ranges (inclusive) of list-word runs long enough to be a phrase.

    ``classes``: 0 list word, 1 one typo away from one, 2 anything else. A run of 12 or more
    may hold one typo per 12 words; a shorter run (allowed only with context) none.
    """
    i, n = 0, len(classes)
    while i < n:
        if classes[i] == 2:
            i += 1
            continue
        j = i
        while j < n and classes[j] != 2:
            j += 1
        # tokens i..j-1 are list words or typos
        typos = [k for k in range(i, j) if classes[k] == 1]
        if len(typos) <= (j - i) // 12 and j - i >= min_words:
            yield i, j - 1
        else:
            # Each segment reaches from after one typo to before the next-but-one, holding one
            # typo (if 12+ long) ...
            bounds = [i - 1, *typos, j]
            for t in range(1, len(bounds) - 1):
                lo, hi = bounds[t - 1] + 1, bounds[t + 1] - 1
                if hi - lo + 1 >= max(min_words, MIN_RUN):
                    yield lo, hi
            # ... or none, which context lets be shorter.
            for t in range(len(bounds) - 1):
                lo, hi = bounds[t] + 1, bounds[t + 1] - 1
                if hi - lo + 1 >= min_words:
                    yield lo, hi
        i = j


def _chinese_phrase_windows(
    chars: str,
    allowed: Sequence[bool],
    *,
    prose_filter: bool,
    bounded: tuple[bool, bool] = (True, True),
    edges: Sequence[bool] | None = None,
) -> Iterator[tuple[int, int]]:
    """Windows ``[start, end)`` of ``chars`` that are checksum-valid phrases in a Chinese list.

    With ``prose_filter``, windows that read like ordinary Chinese are skipped before any
    checksum is computed. Nearly every common character is in the word lists, so a stretch
    of ordinary Chinese passes a 12-word checksum (4 bits) once in 16 windows. Two signals,
    tuned on support articles, tell prose from a phrase: ordinary Chinese is full of common
    two-character words (``data/zh_common_words.txt``) and of the very commonest characters
    (the lists are sorted by frequency, so an index below 256 is a very common character),
    while a phrase draws its characters uniformly from 2048. Score = characters among the top
    256 + 2 x common words; a window scoring 8 per 12 characters or more is prose. A random
    12-character phrase scores that much about once in 1,000 draws, 24 characters practically
    never; a window that fills a whole stretch of Chinese by itself gets 2 points of slack
    (about once in 25,000 draws). ``bounded``: whether ``chars`` begins/ends where the
    Chinese does (rather than being cut out of a longer stretch); ``edges[k]``: whether
    character k ends a stretch (a context word, "是" right after one); default: not allowed.
    """
    n = len(chars)
    if edges is None:
        edges = [not a for a in allowed]
    simplified, traditional = _chinese()
    s_get, t_get = simplified.index.get, traditional.index.get
    s_idx = [s_get(c, -1) for c in chars]
    t_idx = [t_get(c, -1) for c in chars]
    # Prefix sums make each window test O(1): unusable positions per list, very common
    # characters, and common two-character words (counted at their second character).
    bad_s = [0, *accumulate(i < 0 or not a for i, a in zip(s_idx, allowed, strict=True))]
    bad_t = [0, *accumulate(i < 0 or not a for i, a in zip(t_idx, allowed, strict=True))]
    if bad_s[-1] == n and bad_t[-1] == n:
        return
    if prose_filter:
        common = _zh_common_words()
        low = [
            0,
            *accumulate(0 <= (si if si >= 0 else ti) < 256 for si, ti in zip(s_idx, t_idx, strict=True)),
        ]
        pairs = [0, 0, *accumulate(a + b in common for a, b in zip(chars, chars[1:], strict=False))]
    for length in VALID_PHRASE_LENGTHS:
        limit = -(-8 * length // 12)
        for start in range(0, n - length + 1):
            end = start + length
            ok_s = bad_s[end] == bad_s[start]
            ok_t = bad_t[end] == bad_t[start]
            if not (ok_s or ok_t):
                continue
            if prose_filter:
                whole = (bounded[0] if start == 0 else edges[start - 1]) and (
                    bounded[1] if end == n else edges[end]
                )
                score = low[end] - low[start] + 2 * (pairs[end] - pairs[start + 1])
                if score >= limit + (2 if whole else 0):
                    continue
            if ok_s and _checksum_ok(s_idx[start:end]):
                yield start, end
            elif (
                ok_t and (not ok_s or t_idx[start:end] != s_idx[start:end]) and _checksum_ok(t_idx[start:end])
            ):
                yield start, end


def _find_spaced_chinese_phrases(text: str, context: list[tuple[int, int]]) -> Iterator[_Span]:
    chars_in_list = _chinese_chars()
    pattern = _ZH_SPACED_RUN_CONTEXT if context else _ZH_SPACED_RUN
    for run in pattern.finditer(text):
        positions = [m.start() for m in _CJK_CHAR.finditer(text, run.start(), run.end())]
        chars = "".join(text[p] for p in positions)
        near = _near_context(context, run.start(), run.end())
        outside = sum(1 for c in chars if c not in chars_in_list)
        if (near and len(chars) >= MIN_RUN_WITH_CONTEXT and outside <= len(chars) // 12) or (
            outside == 0 and len(chars) in VALID_PHRASE_LENGTHS
        ):
            exact = _exact_chinese_phrase(chars)
            if exact is None:
                yield run.start(), run.end(), "mnemonic"
            else:
                yield positions[exact[0]], positions[exact[1]] + 1, "mnemonic"
            continue
        if MIN_RUN <= len(chars) <= 96:  # longer walls of single characters are no phrase
            windows = _chinese_phrase_windows(chars, [True] * len(chars), prose_filter=False)
            for start, end in _likely_windows(windows):
                yield positions[start], positions[end - 1] + 1, "mnemonic"


def _exact_chinese_phrase(chars: str) -> tuple[int, int] | None:
    """:func:`_exact_phrase` for a run of spaced Chinese characters, in either list."""
    windows = [
        window
        for word_list in _chinese()
        for window in _valid_windows([(word_list.index[c],) if c in word_list.index else () for c in chars])
    ]
    return _phrase_span(len(chars), windows)


def _find_unspaced_chinese_phrases(text: str, context: list[tuple[int, int]]) -> Iterator[_Span]:
    # Only runs of Chinese near context, and only checksum-valid windows that do not read
    # like ordinary Chinese (see _chinese_phrase_windows).
    seen: set[int] = set()
    for c_start, c_end in context:
        lo = max(0, c_start - CONTEXT_WINDOW)
        hi = min(len(text), c_end + CONTEXT_WINDOW)
        for run in _CJK_RUN.finditer(text, lo, hi):
            # A run cut by the window edge is read on far enough to hold a whole phrase.
            start, end = run.start(), run.end()
            floor, ceiling = max(0, lo - 24), min(len(text), hi + 24)
            while start > floor and "\u4e00" <= text[start - 1] <= "\u9fff":
                start -= 1
            while end < ceiling and "\u4e00" <= text[end] <= "\u9fff":
                end += 1
            if start in seen:
                continue
            seen.add(start)
            bounded = (
                start == 0 or not "\u4e00" <= text[start - 1] <= "\u9fff",
                end == len(text) or not "\u4e00" <= text[end] <= "\u9fff",
            )
            chars = text[start:end]
            in_chars = list(_PHRASE_CONTEXT_ZH.finditer(chars))
            # Cheap exit: no stretch of 12 outside the context words ("不要告诉别人助记词").
            cuts = [0, *(x for m in in_chars for x in (m.start(), m.end())), len(chars)]
            if max(cuts[k + 1] - cuts[k] for k in range(0, len(cuts), 2)) < 12:
                continue
            allowed = [True] * len(chars)
            edges = [False] * len(chars)
            for m in in_chars:  # the context words themselves are no phrase
                for k in range(m.start(), m.end()):
                    allowed[k] = False
                    edges[k] = True
                # "助记词是……": the connector may still be a phrase word, but it ends the sentence part.
                connector = _CONNECTOR.match(chars, m.end())
                if connector:
                    for k in range(connector.start(), connector.end()):
                        edges[k] = True
            for w_start, w_end in _chinese_phrase_windows(
                chars, allowed, prose_filter=True, bounded=bounded, edges=edges
            ):
                yield start + w_start, start + w_end, "mnemonic"


def _find_keys(text: str, *, tx_hashes: frozenset[str], not_tx_hashes: frozenset[str]) -> Iterator[_Span]:
    for match in _ALNUM_RUN.finditer(text):
        token = match.group()
        start, end = match.start(), match.end()
        candidate = _classify_hex(text, start, end, token)
        if candidate is not None:
            if candidate.value in tx_hashes and candidate.verdict != "private_key":
                continue
            if candidate.value in not_tx_hashes and candidate.verdict != "tx_hash":
                yield start, end, "private_key_hex"
            elif candidate.verdict == "private_key" or (
                candidate.verdict == "ambiguous" and not candidate.prefixed
            ):
                yield start, end, "private_key_hex"
            continue
        if _HEX128.fullmatch(token):
            if _key_or_tx_context(text, start, end) == "key":
                yield start, end, "private_key_hex"
            continue
        kind = _classify_base58(text, start, end, token)
        if kind is not None:
            yield start, end, kind


def _classify_hex(text: str, start: int, end: int, token: str) -> HexCandidate | None:
    if not _HEX64.fullmatch(token):
        return None
    prefixed = token[:2] in ("0x", "0X")
    value = token[2:].lower() if prefixed else token.lower()
    verdict: Literal["private_key", "tx_hash", "ambiguous"]
    if _in_explorer_url(text, start):
        verdict = "tx_hash"
    else:
        said = _key_or_tx_context(text, start, end)
        verdict = "private_key" if said == "key" else "tx_hash" if said == "tx" else "ambiguous"
    return HexCandidate(start=start, end=end, value=value, prefixed=prefixed, verdict=verdict)


def _in_explorer_url(text: str, start: int) -> bool:
    """Whether the token ending at ``start`` is a URL path like ``/tx/`` or ``?hash=``."""
    lo = max(0, start - 300)
    before = text[lo:start]
    cut = max(before.rfind(" "), before.rfind("\n"), before.rfind("\t"), before.rfind("\u3000"))
    return bool(_EXPLORER_PATH.search(before[cut + 1 :]))


def _key_or_tx_context(text: str, start: int, end: int) -> str | None:
    """``"key"`` or ``"tx"`` from the nearest telling word before (else after) the string."""
    before = text[max(0, start - _HEX_KEY_WINDOW_BEFORE) : start].lower()
    last = None
    for last in _KEY_OR_TX_CONTEXT.finditer(before):  # noqa: B007 - the last is the nearest
        pass
    if last is None:
        last = _KEY_OR_TX_CONTEXT.search(text[end : end + _HEX_KEY_WINDOW_AFTER].lower())
    if last is None:
        return None
    return "key" if last.group("key") is not None else "tx"


def _classify_base58(text: str, start: int, end: int, token: str) -> str | None:
    if not _BASE58.fullmatch(token):
        return None
    length = len(token)
    if _EXTENDED_PRIVATE_PREFIX.match(token) and length >= 100:
        # A mistyped or cut xprv is still one brute force away from the wallet, so the
        # prefix and length are enough; a verified checksum only confirms it.
        return "xprv"
    if length in (51, 52):
        try:
            payload = base58.b58decode_check(token)
        except ValueError:
            return None
        if payload[0] in _WIF_VERSIONS and (
            len(payload) == 33 or (len(payload) == 34 and payload[33] == 0x01)
        ):
            return "wif"
        return None
    if 85 <= length <= 90:
        raw = base58.b58decode(token)
        if len(raw) != 64:
            return None
        keypair = _is_ed25519_keypair(raw)
        if keypair is True:
            return "solana_secret"
        said = _key_or_tx_context(text, start, end)
        if said == "key" or (keypair is None and said != "tx"):
            return "solana_secret"
    return None


def _is_ed25519_keypair(raw: bytes) -> bool | None:
    """Whether the last 32 bytes are the Ed25519 public key of the first 32 (None: cannot tell)."""
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:  # pragma: no cover - cryptography comes with PyJWT[crypto]
        return None
    public = Ed25519PrivateKey.from_private_bytes(raw[:32]).public_key().public_bytes_raw()
    return public == raw[32:]


def _find_keystores(text: str) -> Iterator[_Span]:
    covered_until = -1
    for m in _KEYSTORE_CRYPTO.finditer(text):
        if m.start() < covered_until:
            continue
        start = _enclosing_brace(text, m.start())
        end = _matching_brace(text, start) if start is not None else None
        if start is None:
            start = m.start()
        # A cut-off paste (no closing brace) is hidden to the end of the text.
        stop = end if end is not None else len(text)
        body = text[start:stop].lower()
        if "ciphertext" in body and "kdf" in body:
            covered_until = stop
            yield start, stop, "keystore_json"


def _enclosing_brace(text: str, pos: int) -> int | None:
    depth = 0
    for i in range(pos - 1, max(-1, pos - 20000), -1):
        ch = text[i]
        if ch == "}":
            depth += 1
        elif ch == "{":
            if depth == 0:
                return i
            depth -= 1
    return None


def _matching_brace(text: str, start: int) -> int | None:
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, min(len(text), start + 50000)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None
