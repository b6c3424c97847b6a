"""Test helpers for the bot's dialogue."""

from __future__ import annotations

from kefu.bot.actions import do_handle_message
from kefu.bot.models import BotConversation


def thread_text(ticket) -> str:
    """Everything said in a case, in order: where a conversation's words are (not its description)."""
    return "\n".join(ticket.messages.order_by("seq").values_list("body", flat=True))


class Chat:
    """Drives one conversation as the chat panel or an HTTP API integration does."""

    def __init__(self, customer=None, language: str = "zh-hans") -> None:
        self.customer = customer
        self.language = language
        self.conversation: BotConversation | None = None

    def say(self, text: str):
        reply = do_handle_message(
            conversation=self.conversation, customer=self.customer, text=text, language=self.language
        )
        self.conversation = BotConversation.objects.get(public_id=reply.conversation_id)
        return reply
