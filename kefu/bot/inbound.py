"""The bot on conversational inboxes (Telegram, WhatsApp): the pipeline's job hands it a message.

The same dialogue as the widget (``do_handle_message``): a conversation is a case in the bot's
stage whose thread holds every turn; the customer may be unknown (a contact not linked to an
account), as for a signed-out widget visitor. The hand-off opens that case to the team
(``replies_here``: no live chat, no "sign in first"), and the agent's replies reach the chat
through the outbox like the bot's. Registered with the pipeline in ``BotConfig.ready``
(``kefu.inbox.pipeline.register_bot_responder``: the inbox app never imports the bot).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu.bot.actions import do_adopt_conversation, do_handle_message, do_start_conversation, prepare_message
from kefu.bot.models import BotConversation, ConversationStatus
from kefu.inbox.pipeline import BotAnswer, BotTurn
from kefu.tickets import stages, thread
from kefu.tickets.models import Message, Sender, Status, Ticket
from kefu.trust import guard


def answer(turn: BotTurn) -> BotAnswer:
    """One customer message of a messaging inbox, answered by the bot; inside the job's
    transaction (``kefu.inbox.pipeline.do_accept``)."""
    conversation = None
    if turn.case is not None:
        conversation = BotConversation.objects.filter(ticket=turn.case).order_by("-id").first()
    if turn.screened.command:
        return _command(turn, conversation)
    if not turn.screened.body.strip() and turn.screened.media:
        return _file_only(turn, conversation)
    text = turn.screened.body
    language = turn.screened.language or "zh-hans"
    prepared = prepare_message(conversation, text=text, language=language)
    if turn.screened.kinds:
        # The pipeline's guard hid a secret before anything was stored, so the bot sees only the
        # redacted text: tell it what was found, and it answers as to a pasted seed phrase
        # (warns, treats it as exposed, routes the case to security at the hand-off).
        hidden = guard.ScanResult(
            secret=True, redacted=text, findings=[], leaked_key=turn.screened.leaked_key
        )
        for asking_tx_hash in (False, True):
            prepared.guards[(text.strip()[:2000], asking_tx_hash)] = hidden
    with transaction.atomic():
        before = (
            Ticket.objects.filter(pk=turn.case.pk).values_list("last_seq", flat=True).first() or 0
            if turn.case is not None
            else 0
        )
        reply = do_handle_message(
            conversation=conversation,
            customer=turn.customer,
            text=text,
            language=language,
            prepared=prepared,
            channel=turn.channel,
            replies_here=True,
        )
        conversation = BotConversation.objects.select_related("ticket").get(public_id=reply.conversation_id)
        case = conversation.ticket
        assert case is not None
        written = list(
            Message.objects.filter(
                ticket=case, seq__gt=before, sender__in=(Sender.CUSTOMER, Sender.BOT)
            ).order_by("seq")
        )
    said = next((m for m in written if m.sender == Sender.CUSTOMER), None)
    return BotAnswer(
        case=Ticket.objects.get(pk=case.pk),
        message=said,
        replies=[m for m in written if m.sender == Sender.BOT],
    )


def greeting(*, linked: bool) -> str:
    """``/start``: who we are, and the two rules that defeat most scams."""
    brand = settings.KEFU_BRAND_NAME
    lines = [
        _(
            "Hello, this is {brand} support. Ask me your question here; a human agent takes over when needed."
        ).format(brand=brand),
        _(
            "Beware of scams: our staff never message you first, and nobody from {brand} will ever ask for your "
            "seed phrase, private key, password or verification codes."
        ).format(brand=brand),
        _("To check whether an account, website or number is really ours, send /verify followed by it."),
    ]
    if linked:
        lines.insert(1, _("This chat is now linked to your {brand} account.").format(brand=brand))
    return "\n\n".join(lines)


def verification(value: str, *, language: str) -> str:
    """``/verify <handle | url | number>``: the official-channel registry's verdict."""
    from kefu.bot import facts

    value = value.strip()
    if not value:
        return _(
            "Send /verify followed by a handle, a link or a phone number, e.g. /verify @example_support."
        )
    fact = facts.check_channel(value, language=language)
    if fact is not None:
        return fact.text
    return _(
        "I could not read “{value}” as a handle, a link, an email address or a phone number. "
        "Try /verify @handle, /verify https://… or /verify +8610…"
    ).format(value=value[:80])


def _command(turn: BotTurn, conversation: BotConversation | None) -> BotAnswer:
    """A command (Telegram's /start, /verify) answered directly, written on the contact's case —
    a new bot-stage conversation when there is none (outside agents' queues until a hand-off)."""
    language = (
        (conversation.language if conversation is not None else "") or turn.screened.language or "zh-hans"
    )
    with transaction.atomic():
        case = turn.case
        if case is None:
            conversation = do_start_conversation(
                customer=turn.customer, language=language, channel=turn.channel
            )
            case = conversation.ticket
        elif conversation is not None and turn.customer is not None and conversation.customer_id is None:
            do_adopt_conversation(conversation=conversation, customer=turn.customer)
        elif turn.customer is not None and case.customer_id is None:
            stages.do_adopt_case(ticket=case, customer=turn.customer)
        assert case is not None
        case = Ticket.objects.select_for_update().get(pk=case.pk)
        shown = f"/{turn.screened.command} {turn.screened.body}".strip()
        if turn.screened.command == "start" and turn.customer is not None:
            shown = "/start"  # the link token is spent: not kept in the thread
        said = thread.append(
            case, body=shown, sender=Sender.CUSTOMER, author=turn.customer, channel=turn.channel
        )
        with override(language):
            if turn.screened.command == "verify":
                text = verification(turn.screened.body, language=language)
            else:
                text = greeting(
                    linked=turn.customer is not None
                    and turn.screened.command == "start"
                    and bool(turn.screened.body.strip())
                )
        reply = thread.append(case, body=text, sender=Sender.BOT, channel=turn.channel)
        if conversation is not None and case.status == Status.BOT:
            BotConversation.objects.filter(pk=conversation.pk, status=ConversationStatus.BOT).update(
                language=language
            )
    return BotAnswer(case=Ticket.objects.get(pk=case.pk), message=said, replies=[reply])


def _file_only(turn: BotTurn, conversation: BotConversation | None) -> BotAnswer:
    """A photo or document without words: kept on the conversation's case (the pipeline attaches
    the files to this message), and the customer is asked what it is about."""
    language = (
        (conversation.language if conversation is not None else "") or turn.screened.language or "zh-hans"
    )
    with transaction.atomic():
        case = turn.case
        if case is None:
            conversation = do_start_conversation(
                customer=turn.customer, language=language, channel=turn.channel
            )
            case = conversation.ticket
        assert case is not None
        case = Ticket.objects.select_for_update().get(pk=case.pk)
        said = thread.append(
            case, body="", sender=Sender.CUSTOMER, author=turn.customer, channel=turn.channel
        )
        with override(language):
            text = _(
                "Thank you, I have your file. Please tell me in a few words what your question is about."
            )
        reply = thread.append(case, body=text, sender=Sender.BOT, channel=turn.channel)
    return BotAnswer(case=Ticket.objects.get(pk=case.pk), message=said, replies=[reply])
