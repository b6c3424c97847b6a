"""The bot reaches live chat only through the LiveHandoff that kefu.chat registers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kefu.bot import handoff
from kefu.bot.tests.support import Chat as Conversation
from kefu.chat.actions import do_set_presence
from kefu.chat.models import ChatConversation
from kefu.chat.selectors import clear_caches
from kefu.conftest import make_user
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def without_live_chat() -> Iterator[None]:
    registered = handoff._live_handoff
    handoff.register_live_handoff(None)
    yield
    handoff.register_live_handoff(registered)


def _deposit_then_not_solved(talk: Conversation) -> dict:
    for text in ("我充值的USDT还没到账", "TRC20", "200", "两个小时前", "0x" + "ab12" * 16):
        talk.say(text)
    return talk.say("没有，还是没到").handoff


def test_live_chat_registers_itself_as_the_bots_hand_off_target():
    """ChatConfig.ready() gives the bot its LiveHandoff (the bot imports no chat code)."""
    from kefu.chat.bot_handoff import ChatHandoff

    assert isinstance(handoff._live_handoff, ChatHandoff)


def test_without_a_live_handoff_the_bot_files_a_ticket_even_with_an_agent_online(alice, without_live_chat):
    """Live chat not installed (nothing registered): the hand-off files a ticket, opens no chat."""
    do_set_presence(agent=make_user("assets1@example.com", "agent", ("assets",)), status="online", capacity=3)
    clear_caches()
    result = _deposit_then_not_solved(Conversation(alice))
    ticket = Ticket.objects.get()
    assert result["kind"] == "ticket" and result["case_number"] == ticket.case_number
    assert not ChatConversation.objects.exists()
