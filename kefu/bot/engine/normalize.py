"""Text normalisation shared by training and prediction.

Customers write the same thing many ways: traditional or simplified characters, full-width
letters from a Chinese IME, upper or lower case, stray spaces and repeated punctuation. The
engine sees one canonical form so that the training data does not have to spell out every
variant.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
# Runs of the same punctuation ("???", "!!!!", "。。。") carry no meaning for the intent.
_REPEATED_PUNCT = re.compile(r"([^\w\s])\1+")
# Hashes and addresses say "I have a transaction" but their hex/base58 characters would flood
# the character n-grams with noise; each becomes one placeholder word.
_TX_HASH = re.compile(r"(?<![0-9a-z])(?:0x)?[0-9a-f]{64}(?![0-9a-z])", re.I)
_ADDRESS = re.compile(
    r"(?<![0-9a-z])(?:0x[0-9a-f]{40}|t[1-9a-hj-np-z]{33}|bc1[02-9ac-hj-np-z]{25,60}|[13][1-9a-hj-np-z]{25,34})(?![0-9a-z])",
    re.I,
)
# Zero-width and byte-order characters that copy-paste from chat apps leaves behind.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# Simplified variants that OpenCC leaves apart but customers use interchangeably: t2s turns
# 帳戶 into 帐户 while most simplified writers type 账户 (帐 is rare outside 帐篷 "tent").
_VARIANTS = str.maketrans({"帐": "账"})


def _t2s():  # noqa: ANN202 - OpenCC has no type information
    # The code base's one t2s converter (built on first use, which ``kefu --help`` must not pay).
    from kefu import script

    return script.converter("t2s")


def to_simplified(text: str) -> str:
    """Convert traditional Chinese characters to simplified; other text is unchanged."""
    return _t2s().convert(text)


# Cantonese as Hong Kong customers write it, folded to the Mandarin the engine and the bot's
# rules know ("我啲USDT入咗幾個鐘都未到賬" = "我的USDT入了几个小时都未到账"). Applied before
# OpenCC: 係 would become 系 ("system") after t2s. Longer forms first; only words that mean
# nothing else in Mandarin (仲 alone is in 仲裁 "arbitration", so only 仲有/仲未/仲係).
_CANTONESE = (
    ("話係", "說是"), ("點樣", "怎樣"), ("點解", "為什麼"), ("點算", "怎麼辦"), ("乜嘢", "什麼"), ("咩嘢", "什麼"),
    ("搞乜", "搞什麼"), ("幾時", "什麼時候"), ("而家", "現在"), ("琴日", "昨天"), ("尋日", "昨天"),
    ("聽日", "明天"), ("邊個", "誰"), ("邊度", "哪裡"), ("仲有", "還有"), ("仲未", "還沒"),
    ("仲係", "還是"), ("個鐘", "個小時"), ("戶口", "賬戶"), ("遙距", "遠程"), ("螢幕", "屏幕"),
    ("佢哋", "他們"), ("我哋", "我們"), ("你哋", "你們"), ("唔該", "謝謝"), ("冇", "沒有"),
    ("咗", "了"), ("啲", "的"), ("嘅", "的"), ("係", "是"), ("唔", "不"), ("喺", "在"),
    ("俾", "給"), ("畀", "給"), ("佢", "他"), ("嚟", "來"), ("搵", "找"), ("睇", "看"),
    ("攞", "拿"), ("嘢", "東西"), ("啱", "對"), ("蚊", "塊"), ("咁", "這樣"),
    ("㗎", ""), ("喎", ""), ("噃", ""), ("嘞", ""), ("囉", ""),
)
_CANTONESE_RE = re.compile("|".join(re.escape(a) for a, _b in _CANTONESE))
_CANTONESE_MAP = dict(_CANTONESE)


def fold_cantonese(text: str) -> str:
    """Written Cantonese words replaced by their Mandarin equivalents (same script)."""
    return _CANTONESE_RE.sub(lambda m: _CANTONESE_MAP[m.group(0)], text)


def normalize_text(text: str) -> str:
    """Return the canonical form of a customer message.

    NFKC folds full-width letters, digits and punctuation to their ASCII forms; OpenCC maps
    traditional characters to simplified; everything is lower-cased and whitespace collapsed.
    """
    text = fold_cantonese(unicodedata.normalize("NFKC", text).translate(_INVISIBLE))
    text = to_simplified(text).translate(_VARIANTS).lower()
    text = _REPEATED_PUNCT.sub(r"\1", text)
    return _WHITESPACE.sub(" ", text).strip()
