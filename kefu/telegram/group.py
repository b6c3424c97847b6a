"""The configured community group (``KEFU_TELEGRAM_GROUP_ID``): the bot answers mentions only,
in public with general help and a link to a private chat; anything about an account moves to
the private chat. Nothing a member wrote is stored or forwarded: the decision is taken here,
from the message, and only its outcome (which answer, in which language) goes to the job."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu.trust import guard

logger = logging.getLogger(__name__)

# Telegram retries an unacknowledged update for at most a day.
REDELIVERY_WINDOW = 2 * 24 * 3600
_ACCOUNT_TOPIC = re.compile(
    r"账户|账号|帳戶|帳號|充值|提现|提币|提幣|冻结|凍結|余额|餘額|订单|訂單|验证码|驗證碼|密码|密碼|到账|到賬"
    r"|account|deposit|withdraw|balance|frozen|freeze|password|2fa|otp|kyc|\border\b|my funds|my money",
    re.I,
)


def _bot_username() -> str:
    from kefu.telegram.setup import bot_username

    return bot_username()


def _mentioned(message: dict[str, Any], text: str) -> bool:
    username = _bot_username()
    replied = (message.get("reply_to_message") or {}).get("from") or {}
    if replied.get("is_bot") and username and str(replied.get("username") or "").lower() == username.lower():
        return True
    return bool(username) and f"@{username.lower()}" in text.lower()


def handle_group_message(message: dict[str, Any], text: str) -> str:
    """Decide the public answer to a group message; returns what was decided ("" for none)."""
    chat = message.get("chat") or {}
    configured = str(settings.KEFU_TELEGRAM_GROUP_ID or "").strip()
    if not configured or str(chat.get("id")) != configured or not text or not _mentioned(message, text):
        return ""
    scanned = guard.scan(text, language="en")
    # A secret or an account topic in public: move it to a private chat, say nothing about it.
    kind = "account" if scanned.secret or _ACCOUNT_TOPIC.search(scanned.redacted) else "general"
    code = str((message.get("from") or {}).get("language_code") or "")
    from kefu.bot.understand import detect_language

    # The language the member wrote in (their app's language only when the text says nothing).
    written = detect_language(scanned.redacted, fallback="en" if code.startswith("en") else "zh-hans")
    language = "en" if written == "en" else "zh-hans"
    from kefu.telegram.tasks import group_reply

    message_id = int(message.get("message_id") or 0)
    # Telegram redelivers an update it thinks was not received: answer a message once. (A
    # shared cache across processes with Redis; the embedded default is one process.)
    if not cache.add(f"telegram:group:{chat['id']}:{message_id}", 1, timeout=REDELIVERY_WINDOW):
        return kind
    answer, url = ("", "") if kind == "account" else _help_centre_answer(scanned.redacted, language)
    group_reply(int(chat["id"]), message_id, kind, language, answer, url)
    return kind


def _help_centre_answer(text: str, language: str) -> tuple[str, str]:
    """The help centre's answer to a general question asked in the group (our own article text
    and its link; the member's words are not passed on), or nothing when none fits."""
    from kefu.bot import answers

    question = re.sub(r"@\w+", " ", text).strip()
    if len(question) < 4:
        return "", ""
    try:
        found = answers.answer_question(question, language=language)
    except Exception:  # an answer must never stop the group reply
        logger.exception("group answer failed")
        return "", ""
    if found is None or found.score < answers.MIN_SCORE:
        return "", ""
    return found.text, found.article_url


def public_text(kind: str, *, language: str, answer: str = "", url: str = "") -> str:
    username = _bot_username()
    link = f"https://t.me/{username}" if username else ""
    with override(language):
        if answer:
            base = str(settings.KEFU_BASE_URL or "").rstrip("/")
            more = _("More: {url}").format(url=base + url) if url else ""
            private = _(
                "For anything about your own account, message me privately: {link}. "
                "Our staff never message you first and never ask for your seed phrase."
            ).format(link=link or "@" + (username or "…"))
            return "\n\n".join(part for part in (answer, more, private) if part)
        if kind == "account":
            text = _(
                "For your safety we never discuss accounts in public. Please message me privately: {link} — "
                "and never post seed phrases, passwords or codes anywhere. Our staff never message you first."
            )
        else:
            text = _(
                "Hi! I answer questions about our service. For anything about your own account, message me "
                "privately: {link}. Our staff never message you first and never ask for your seed phrase."
            )
    return text.format(link=link or "@" + (username or "…"))
