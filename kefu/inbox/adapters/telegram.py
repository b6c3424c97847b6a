"""Telegram (Bot API): private chats with the bot, a configured community group, deep links.

Receive: the webhook (``POST /channels/telegram/webhook``, ``kefu.telegram.views``) or the
long-polling loop (``kefu telegram poll``, ``kefu.telegram.polling``) hands each Update to
:func:`kefu.inbox.pipeline.receive`; ``update_id`` is the dedupe key, so Telegram's redeliveries
and a poll that overlaps a webhook are harmless. Everything after is the pipeline's: the bot
answers first (a bot-stage case, customer unknown until a signed deep link links the contact),
the hand-off opens the case to the team, agents answer from the workspace. Send: one
``sendMessage`` per delivery, the bot's quick replies as an inline keyboard (a tap comes back as
a ``callback_query`` whose button text is the customer's answer).

Updates that are not a customer's message (edits, joins, a blocked bot, unknown types, malformed
JSON, group chatter that does not mention the bot) are stored as ignored events with a reason and
logged: seen, deduplicated, never blocking the inbox.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu import inputs
from kefu.inbox.adapters.base import Health, Parsed, RequestRefused, SendFailed, Sent
from kefu.inbox.models import Inbox, InboxKind, OutboundDelivery
from kefu.tickets.models import Channel, Message

logger = logging.getLogger(__name__)

_COMMAND = re.compile(
    r"^/(?P<name>[A-Za-z0-9_]{1,32})(?:@(?P<bot>[A-Za-z0-9_]{3,64}))?(?:\s+(?P<args>.*))?$", re.S
)
COMMANDS = frozenset({"start", "verify"})
# Topics a public group never discusses: the bot moves them into a private chat.
_ACCOUNT_TOPIC = re.compile(
    r"账户|账号|帳戶|帳號|充值|提现|提幣|提币|冻结|凍結|余额|餘額|订单|訂單|验证码|驗證碼|密码|密碼|"
    r"account|deposit|withdraw|balance|frozen|freeze|password|2fa|otp|kyc|order|my funds|my money",
    re.I,
)


def _name(user: dict[str, Any]) -> str:
    full = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    return full or str(user.get("username") or "")


class TelegramAdapter:
    kind: ClassVar[str] = InboxKind.TELEGRAM
    channel: ClassVar[str] = Channel.TELEGRAM
    pushes: ClassVar[bool] = True
    continues_open_case: ClassVar[bool] = True

    # --- receive ---------------------------------------------------------------------------

    def verify(self, inbox: Inbox, request: Any) -> None:
        """The webhook's ``X-Telegram-Bot-Api-Secret-Token`` (constant time); the poller's updates
        come from our own getUpdates call and carry ``polled``."""
        from kefu.telegram.client import config, secret_ok

        if isinstance(request, dict) and request.get("polled") is True:
            return
        headers = getattr(request, "headers", None)
        header = headers.get("X-Telegram-Bot-Api-Secret-Token") if headers is not None else None
        if not secret_ok(config().webhook_secret, header):
            raise RequestRefused("bad or missing secret token")

    def parse(self, inbox: Inbox, request: Any) -> list[Parsed]:
        """One Update (the webhook's body, or ``{"polled": True, "update": {...}}``)."""
        if isinstance(request, dict):
            update = request.get("update")
        else:
            try:
                # Untrusted JSON: depth-limited, NUL and lone surrogates cleaned (kefu.inputs).
                update = inputs.loads(request.body or b"null")
            except ValueError:
                update = None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            logger.warning("telegram inbox %s: a malformed update was skipped", inbox.pk)
            # No update_id: nothing to deduplicate on; a fresh key, ignored with its reason.
            return [Parsed(external_id="", address="", body="", ignore="malformed")]
        return [self.parse_update(inbox, update)]

    def parse_update(self, inbox: Inbox, update: dict[str, Any]) -> Parsed:
        update_id = str(update["update_id"])
        try:
            if isinstance(update.get("message"), dict):
                return self._message(update_id, update["message"])
            if isinstance(update.get("callback_query"), dict):
                return self._callback(update_id, update["callback_query"])
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.warning("telegram inbox %s: update %s is malformed, skipped", inbox.pk, update_id)
            return Parsed(external_id=update_id, address="", body="", ignore="malformed")
        kinds = sorted(k for k in update if k != "update_id")
        logger.info(
            "telegram inbox %s: update %s of type %s skipped", inbox.pk, update_id, ",".join(kinds)[:60]
        )
        return Parsed(external_id=update_id, address="", body="", ignore="unsupported_update")

    def _message(self, update_id: str, message: dict[str, Any]) -> Parsed:
        chat = message["chat"]
        sender = message.get("from") or {}
        if sender.get("is_bot"):
            return Parsed(external_id=update_id, address="", body="", ignore="from_a_bot")
        text = str(message.get("text") or message.get("caption") or "")
        chat_type = str(chat.get("type") or "")
        address = str(int(chat["id"]))
        if chat_type != "private":
            return self._group(update_id, message, text, address)
        media = []
        photos = message.get("photo")
        if isinstance(photos, list) and photos:
            largest = photos[-1]  # Telegram lists the sizes smallest first
            media.append(
                {
                    "id": str(largest["file_id"]),
                    "name": f"photo-{message.get('message_id', update_id)}.jpg",
                    "mime": "image/jpeg",
                    "size": str(largest.get("file_size") or ""),
                }
            )
        document = message.get("document")
        if isinstance(document, dict):
            media.append(
                {
                    "id": str(document["file_id"]),
                    "name": str(document.get("file_name") or "document"),
                    "mime": str(document.get("mime_type") or ""),
                    "size": str(document.get("file_size") or ""),
                }
            )
        if not text and not media:
            return Parsed(external_id=update_id, address=address, body="", ignore="no_text")
        command, body = "", text
        found = _COMMAND.match(text.strip())
        if found and found.group("name").lower() in COMMANDS:
            command, body = found.group("name").lower(), (found.group("args") or "").strip()
        return Parsed(
            external_id=update_id,
            address=address,
            display_name=_name(sender),
            body=body,
            language=_language(sender),
            command=command,
            media=media,
        )

    def _callback(self, update_id: str, query: dict[str, Any]) -> Parsed:
        """A tap on an inline button: the button's text is the customer's answer."""
        data = str(query.get("data") or "")
        message = query.get("message") or {}
        chat = message.get("chat") or {}
        label = ""
        keyboard = ((message.get("reply_markup") or {}).get("inline_keyboard")) or []
        for row in keyboard:
            for button in row:
                if isinstance(button, dict) and button.get("callback_data") == data:
                    label = str(button.get("text") or "")
        if not label or not chat.get("id"):
            return Parsed(external_id=update_id, address="", body="", ignore="unknown_button")
        from kefu.telegram.tasks import answer_callback

        answer_callback(str(query.get("id") or ""))  # stops the button's spinner (best effort)
        return Parsed(
            external_id=update_id,
            address=str(int(chat["id"])),
            display_name=_name(query.get("from") or {}),
            body=label,
            language=_language(query.get("from") or {}),
        )

    def _group(self, update_id: str, message: dict[str, Any], text: str, address: str) -> Parsed:
        """The configured community group: answer mentions (and replies to the bot) only, in
        public with general help and a deep link to a private chat — never an account."""
        from kefu.telegram.group import handle_group_message

        handle_group_message(message, text)
        return Parsed(external_id=update_id, address=address, body="", ignore="group_message")

    # --- send ------------------------------------------------------------------------------

    def render(self, message: Message) -> str:
        return message.body

    def keyboard(self, message: Message) -> dict[str, Any] | None:
        options = [str(o) for o in (message.extra or {}).get("quick_replies") or []]
        if not options:
            return None
        # callback_data is at most 64 bytes: an index; the tap's text is read back from the
        # keyboard the update carries (``_callback``).
        return {
            "inline_keyboard": [
                [{"text": label[:64], "callback_data": f"q{i}"}] for i, label in enumerate(options)
            ]
        }

    def send(self, delivery: OutboundDelivery) -> Sent:
        from kefu.telegram.client import TEXT_LIMIT, Client
        from kefu.telegram.selectors import chat_of

        message = delivery.message
        chat_id = chat_of(message.ticket, delivery.inbox)
        if chat_id is None:
            raise SendFailed("no Telegram chat for this case")
        text = self.render(message)
        if len(text) > TEXT_LIMIT:
            with override(message.ticket.language):
                more = _("(continued in the next message)")
            text = text[: TEXT_LIMIT - len(more) - 2] + "\n" + more
        params: dict[str, Any] = {"chat_id": int(chat_id), "text": text or "…"}
        markup = self.keyboard(message)
        if markup is not None:
            params["reply_markup"] = markup
        result = Client().call("sendMessage", **params)
        return Sent(provider_id=str((result or {}).get("message_id", "")))

    def fetch_media(self, inbox: Inbox, ref: dict[str, str]) -> tuple[str, bytes] | None:
        """getFile, then the download; None for a file over the attachment limit (skipped)."""
        from kefu.telegram.client import MAX_DOWNLOAD_BYTES, Client, TelegramError

        limit = min(int(settings.KEFU_ATTACHMENT_MAX_BYTES), MAX_DOWNLOAD_BYTES)
        try:
            size = int(ref.get("size") or 0)
        except ValueError:
            size = 0
        if size > limit:
            return None
        client = Client()
        try:
            info = client.call("getFile", file_id=ref["id"])
        except TelegramError as exc:
            if exc.code == 400:  # "file is too big" and the like: not a passing failure
                return None
            raise
        path = str((info or {}).get("file_path") or "")
        if not path:
            return None
        content = client.download(path, limit=limit)
        return None if content is None else (ref.get("name") or path.rsplit("/", 1)[-1], content)

    def health(self, inbox: Inbox) -> Health:
        from kefu.telegram.health import check

        return check(inbox)


def _language(user: dict[str, Any]) -> str:
    code = str(user.get("language_code") or "").lower()
    if code.startswith("zh"):
        return "zh-hans"  # the bot answers traditional Chinese in kind (understand.detect_language)
    if code.startswith("en"):
        return "en"
    return ""
