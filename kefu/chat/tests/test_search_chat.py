"""A live chat's words are found by the agents' search once the chat ends: its messages are
written by the hot path without the search subscriber, and the case's whole thread is indexed
when the case is opened to humans (kefu.tickets.stages.do_open_to_humans)."""

from __future__ import annotations

import pytest

from kefu.chat import actions
from kefu.chat.models import ChatConversation
from kefu.chat.tests.test_writer import active_chat
from kefu.conftest import make_user
from kefu.tickets import search
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def found(agent, query: str) -> list[str]:
    return [hit.ticket.case_number for hit in search.search_tickets(agent, query).hits]


def chat_and_close(customer, agent, *, said: str, answered: str) -> Ticket:
    chat = active_chat(customer, agent)
    actions.check_customer_message(conversation=chat, customer=customer, client_id="", text=said)
    actions.check_agent_message(conversation=chat, agent=agent, client_id="", text=answered)
    actions.do_close(conversation=ChatConversation.objects.get(pk=chat.pk), actor=agent, reason="resolved")
    return Ticket.objects.get(chats__pk=chat.pk)


def test_words_of_a_chat_are_found_after_it_ends(alice):
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    case = chat_and_close(alice, agent, said="冷钱包迁移以后余额不见了", answered="请提供 memo 标签")
    assert found(agent, "冷钱包迁移") == [case.case_number]
    assert found(agent, "memo") == [case.case_number]


def test_a_second_chat_is_found_as_its_own_case(alice):
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    first = chat_and_close(alice, agent, said="冷钱包迁移以后余额不见了", answered="请提供 memo 标签")
    second = chat_and_close(alice, agent, said="硬件钱包固件升级失败", answered="请重新连接设备")
    assert second.pk != first.pk
    assert found(agent, "固件升级") == [second.case_number]
    assert found(agent, "重新连接") == [second.case_number]
    assert first.case_number in found(agent, "冷钱包迁移")
