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


def normalize_text(text: str) -> str:
    """Return the canonical form of a customer message.

    NFKC folds full-width letters, digits and punctuation to their ASCII forms; OpenCC maps
    traditional characters to simplified; everything is lower-cased and whitespace collapsed.
    """
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = to_simplified(text).translate(_VARIANTS).lower()
    text = _REPEATED_PUNCT.sub(r"\1", text)
    return _WHITESPACE.sub(" ", text).strip()
