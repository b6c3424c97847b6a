"""Conversations the customer left with the bot: closed after ``KEFU_BOT_IDLE_CLOSE_HOURS``.

A conversation with the bot is a case from its first message (``kefu.tickets.stages``). A
customer who simply leaves kept it with the bot for ever: the reports could not tell a
conversation the bot finished from one still going, and the set of open conversations only grew.
The periodic sweep (``kefu.bot.tasks.close_idle``) closes each conversation still with the bot
whose last activity is older than the setting, recording why (``BotConversation.close_reason``):

* ``answered``: the bot had answered a topic in this conversation, and its last reply neither
  asked for a detail nor missed (the dialogue's state after the last turn: ``answered``,
  ``misses``; the last reply's ``extra.asking``). The customer got an answer and left.
* ``unanswered``: anything else — the bot was still asking, its last reply did not understand,
  it never got past a greeting, or a hand-off was waiting for the customer to sign in.

The case stays in the bot's stage (status ``bot``): it never reached the team, so it stays out of
agents' queues, counts and search and out of the customer's ticket list, as before.

A customer who writes again continues the same conversation (the widget, the chat panel and a
messaging chat all show its thread where they left it, as a chat app would): it reopens and the
dialogue starts over, so that a question asked a day ago is not answered by today's first words.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from kefu.bot.models import BotConversation, CloseReason, ConversationStatus
from kefu.tickets.models import Message, Sender

logger = logging.getLogger(__name__)

BATCH = 500  # conversations per transaction
MAX_BATCHES = 20  # per sweep: a backlog is worked off over several sweeps, never in one long run


def idle_hours() -> float:
    return float(settings.KEFU_BOT_IDLE_CLOSE_HOURS)


def close_reason(state: dict, last_reply_extra: dict | None) -> str:
    """Why a conversation idle with the bot ends: see the module's docstring."""
    extra = last_reply_extra or {}
    if (
        state.get("answered")
        and not state.get("misses")
        and not extra.get("asking")
        and not state.get("asking")
        and not state.get("pending_handoff")
    ):
        return CloseReason.ANSWERED
    return CloseReason.UNANSWERED


def _close_batch(cutoff: datetime, now: datetime, size: int) -> int:
    last_reply = (
        Message.objects.filter(ticket_id=OuterRef("ticket_id"), sender=Sender.BOT)
        .order_by("-seq")
        .values("extra")[:1]
    )
    with transaction.atomic():
        # The partial index botconv_with_bot, oldest first; a conversation a message is being
        # answered in right now is locked by that message and skipped (it is not idle).
        rows = list(
            BotConversation.objects.filter(status=ConversationStatus.BOT, updated_at__lt=cutoff)
            .order_by("updated_at")
            .select_for_update(skip_locked=True, of=("self",))
            .annotate(last_reply_extra=Subquery(last_reply))
            .values_list("pk", "state", "last_reply_extra")[:size]
        )
        by_reason: dict[str, list[int]] = {}
        for pk, state, extra in rows:
            by_reason.setdefault(close_reason(state or {}, extra), []).append(pk)
        for reason, ids in by_reason.items():
            # ``update`` leaves ``updated_at`` alone: it stays the last activity. The dialogue's
            # state goes (a reopened conversation starts over); the reason keeps what it said.
            BotConversation.objects.filter(pk__in=ids, status=ConversationStatus.BOT).update(
                status=ConversationStatus.CLOSED, closed_at=now, close_reason=reason, state={}
            )
    return len(rows)


def do_close_idle(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Close conversations idle with the bot past the setting (0: never); returns how many."""
    hours = idle_hours()
    if hours <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - timedelta(hours=hours)
    closed = 0
    for _batch in range(MAX_BATCHES):
        count = _close_batch(cutoff, now, batch)
        closed += count
        if count < batch:
            break
    if closed:
        logger.info("bot: closed %s conversations idle for %s hours", closed, hours)
    return closed


def reopen(conversation: BotConversation) -> None:
    """The customer wrote again in a conversation closed for idleness (the caller holds its row
    lock and saves it): it is with the bot again, and its dialogue starts over."""
    conversation.status = ConversationStatus.BOT
    conversation.closed_at = None
    conversation.close_reason = ""
    conversation.state = {}
