"""Live chat as the bot's hand-off target (:class:`kefu.bot.handoff.LiveHandoff`).

Registered in ``ChatConfig.ready()``, so the bot reaches live chat through this interface and
never imports it (chat may import the bot: the dependency points one way).
"""

from __future__ import annotations

from kefu.accounts.models import User
from kefu.bot.handoff import LiveChat, QueueWait
from kefu.bot.models import BotConversation
from kefu.chat import actions, selectors
from kefu.chat.models import ChatConversation, ChatStatus
from kefu.tickets.models import Ticket


def _live_chat(
    chat: ChatConversation, *, wait: selectors.HandoffWait | None = None, in_chat: bool = False
) -> LiveChat:
    return LiveChat(
        chat_id=chat.public_id.hex,
        url=selectors.chat_url(chat),
        wait=None
        if wait is None
        else QueueWait(position=wait.position, eta_seconds=wait.eta_seconds, agent_free=wait.agent_free),
        in_chat=in_chat,
    )


class ChatHandoff:
    def available(self, *, intent: str | None, language: str, security: bool) -> bool:
        return selectors.live_chat_available(intent=intent, language=language, security=security)

    def enqueue(
        self,
        *,
        bot_conversation: BotConversation,
        customer: User,
        intent: str | None,
        slots: dict[str, str],
        language: str,
        security: bool,
        ticket: Ticket | None,
    ) -> LiveChat:
        # An open chat linked before the hand-off is the chat panel's: the customer is in it.
        in_chat = (
            ChatConversation.objects.filter(bot_conversation=bot_conversation)
            .exclude(status=ChatStatus.CLOSED)
            .exists()
        )
        chat = actions.enqueue_from_bot(
            bot_conversation=bot_conversation,
            customer=customer,
            intent=intent,
            slots=slots,
            language=language,
            security=security,
            ticket=ticket,
        )
        return _live_chat(chat, wait=selectors.handoff_wait(chat), in_chat=in_chat)

    def current(self, bot_conversation: BotConversation) -> LiveChat | None:
        chat = selectors.handed_off_chat(bot_conversation)
        return None if chat is None else _live_chat(chat)
