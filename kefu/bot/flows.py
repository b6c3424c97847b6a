"""Guided troubleshooting: which facts each high-volume problem needs, and how to ask for them."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

# Flow intent → slots to collect, in the order an agent would ask.
FLOWS: dict[str, list[str]] = {
    "deposit_not_credited": ["coin", "network", "memo", "amount", "time", "tx_hash"],
    "withdrawal_pending": ["coin", "network", "amount", "time", "tx_hash"],
    "withdrawal_failed": ["coin", "network", "amount", "error"],
    "otp_problem": ["otp_method", "time"],
}

# Topics whose fix is a person's work: coins on the wrong network or without their memo are
# matched and credited by hand. The bot answers from the article and asks for the hash (without
# a question flow: no detail is asked twice); once the hash is given, the case goes to the team.
RECOVERED_BY_HAND = frozenset({"deposit_wrong_network"})

# Handed over at once, with whatever the first message already said.
URGENT_SLOTS = ["coin", "network", "amount", "time", "tx_hash"]

_OTP_METHODS = [
    (re.compile(r"短信|sms|text message|手机", re.I), "sms"),
    (re.compile(r"邮件|邮箱|email|e-mail|mail", re.I), "email"),
    (re.compile(r"谷歌|google|authenticator|验证器|2fa|totp", re.I), "authenticator"),
    (re.compile(r"语音|voice|电话|call", re.I), "voice"),
]
_ERROR_WORDS = re.compile(r"错误|失败|提示|异常|显示|error|failed|fail|rejected|invalid|denied", re.I)


def question_for(slot: str) -> str:
    return {
        "coin": _("Which coin was it (for example USDT, ETH or BTC)?"),
        "network": _("Which network did you choose (for example TRC-20, ERC-20 or BEP-20)?"),
        "amount": _("How much was it?"),
        "time": _("Roughly when did this happen?"),
        "tx_hash": _(
            "Please paste the transaction hash (TxID), if you have one. "
            "Never send your seed phrase or private key — nobody from support will ask for them."
        ),
        "error": _("What does the error message say, exactly?"),
        "otp_method": _("How should the code reach you: SMS, email, voice call or an authenticator app?"),
    }[slot]


def slot_label(slot: str) -> str:
    labels = {
        "coin": _("Coin"),
        "network": _("Network"),
        "amount": _("Amount"),
        "time": _("Time"),
        "tx_hash": _("Transaction hash (TxID)"),
        "error": _("Error message"),
        "otp_method": _("Code delivery"),
        "memo": _("Memo / tag"),
        "address": _("Address"),
        "email": _("Email"),
        "phone": _("Phone"),
        "handle": _("Account handle"),
        "url": _("Website"),
    }
    return labels.get(slot, slot)  # a detail without a label of its own is still passed on


def extract_extra(slot: str, text: str, *, loose: bool) -> str | None:
    """Slots beyond the on-chain facts (see ``understand.extract`` for those)."""
    if slot == "otp_method":
        for pattern, value in _OTP_METHODS:
            if pattern.search(text):
                return value
        return None
    if slot == "error":
        stripped = text.strip()
        if loose or _ERROR_WORDS.search(stripped):
            return stripped[:300] if loose else None
        return None
    return None
