"""Ticket actions: creation, routing, lifecycle, escalation, merge and the audit log."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.audit.models import AuditEvent
from kefu.tickets import actions
from kefu.tickets.models import Category, Message, MessageKind, Priority, Status, Ticket

pytestmark = pytest.mark.django_db


def create(customer, slug="deposit-not-credited", **kwargs) -> Ticket:
    kwargs.setdefault("title", "充值未到账")
    kwargs.setdefault("description", "USDT 充值两小时没有到账")
    return actions.check_create_ticket(
        customer=customer, category=Category.objects.get(slug=slug), **kwargs
    ).ticket


def audit_actions(ticket: Ticket) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="ticket", target_id=ticket.case_number)
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_create_ticket_routes_to_the_category_team_with_a_quotable_case_number(alice):
    ticket = create(alice)
    assert re.fullmatch(r"KF-\d{8}-\d{8}", ticket.case_number)
    assert ticket.team.slug == "assets"
    assert ticket.status == Status.NEW
    first = ticket.messages.get()
    assert first.kind == MessageKind.PUBLIC and first.author == alice
    assert audit_actions(ticket) == ["ticket.created"]


def test_case_numbers_are_not_sequential(alice):
    numbers = [create(alice).case_number for _ in range(5)]
    suffixes = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert len(set(numbers)) == 5
    assert sorted(suffixes) != list(range(suffixes[0], suffixes[0] + 5))


def test_empty_title_and_description_are_refused_in_the_active_language(alice):
    from django.utils.translation import override

    with override("zh-hans"), pytest.raises(ValidationError) as info:
        create(alice, title="  ", description="")
    assert "请" in str(info.value.message_dict["title"]) and "description" in info.value.message_dict
    assert Ticket.objects.count() == 0


def test_agent_reply_waits_for_customer_and_customer_reply_reopens(alice, agent):
    ticket = create(alice)
    actions.check_add_message(ticket=ticket, author=agent, body="请提供交易哈希")
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING_CUSTOMER and ticket.first_response_at is not None
    actions.check_add_message(ticket=ticket, author=alice, body="哈希是 0xabc")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_customer_reply_reopens_a_resolved_ticket(alice, agent):
    ticket = create(alice)
    actions.do_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    assert ticket.resolved_at is not None
    actions.check_add_message(ticket=ticket, author=alice, body="还是没到账")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolved_at is None
    assert "ticket.status_changed" in audit_actions(ticket)


def test_customer_can_reopen_but_not_change_status_or_write_notes(alice):
    ticket = create(alice)
    with pytest.raises(PermissionDenied):
        actions.do_change_status(ticket=ticket, actor=alice, status=Status.CLOSED)
    with pytest.raises(PermissionDenied):
        actions.check_add_message(ticket=ticket, author=alice, body="x", kind=MessageKind.INTERNAL)
    with pytest.raises(ValidationError):
        actions.do_reopen(ticket=ticket, actor=alice)  # it is not resolved


def test_invalid_transition_is_refused(alice, agent):
    ticket = create(alice)
    actions.do_change_status(ticket=ticket, actor=agent, status=Status.CLOSED)
    with pytest.raises(ValidationError):
        actions.do_change_status(ticket=ticket, actor=agent, status=Status.PENDING_CUSTOMER)


def test_internal_note_does_not_change_the_customer_facing_status(alice, agent):
    ticket = create(alice)
    actions.check_add_message(
        ticket=ticket, author=agent, body="查了链上，确认数 3/12", kind=MessageKind.INTERNAL
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.first_response_at is None
    assert audit_actions(ticket)[-1] == "ticket.note_added"


def test_escalation_needs_a_reason_and_moves_up_one_tier(alice, agent):
    ticket = create(alice)
    actions.do_assign(ticket=ticket, actor=agent, assignee=agent)
    with pytest.raises(ValidationError):
        actions.do_escalate(ticket=ticket, actor=agent, reason=" ")
    actions.do_escalate(ticket=ticket, actor=agent, reason="需要查看热钱包出账记录")
    ticket.refresh_from_db()
    assert ticket.tier == 2 and ticket.assignee is None
    note = ticket.messages.filter(kind=MessageKind.INTERNAL).get()
    assert "需要查看热钱包出账记录" in note.body
    event = AuditEvent.objects.get(target_id=ticket.case_number, action="ticket.escalated")
    assert event.actor == agent and event.data["to_tier"] == 2


def test_assign_only_to_staff_of_the_ticket_team(alice, agent, tech_agent, bob):
    ticket = create(alice)  # assets team
    with pytest.raises(ValidationError):
        actions.do_assign(ticket=ticket, actor=agent, assignee=tech_agent)
    with pytest.raises(ValidationError):
        actions.do_assign(ticket=ticket, actor=agent, assignee=bob)
    actions.do_assign(ticket=ticket, actor=agent, assignee=agent)
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == Status.OPEN


def test_changing_category_reroutes_to_the_new_team(alice, agent):
    ticket = create(alice)
    actions.do_assign(ticket=ticket, actor=agent, assignee=agent)
    actions.do_change_category(
        ticket=ticket, actor=agent, category=Category.objects.get(slug="app-not-opening")
    )
    ticket.refresh_from_db()
    assert ticket.team.slug == "tech" and ticket.assignee is None


def test_merge_moves_the_thread_and_closes_the_duplicate(alice, bob, agent):
    target = create(alice, title="提现失败")
    source = create(alice, title="提现失败（重复）", description="重复提交")
    merged = actions.do_merge(source=source, target=target, actor=agent)
    source.refresh_from_db()
    assert source.status == Status.CLOSED and source.merged_into == merged
    assert Message.objects.filter(ticket=source).count() == 0
    assert merged.messages.filter(body="重复提交").exists()
    assert "ticket.merged" in audit_actions(source) and "ticket.merged" in audit_actions(target)
    other = create(bob)
    with pytest.raises(ValidationError):
        actions.do_merge(source=other, target=target, actor=agent)
    with pytest.raises(ValidationError):
        actions.check_add_message(ticket=source, author=alice, body="still here?")


def test_priority_change_is_audited(alice, agent):
    ticket = create(alice)
    actions.do_set_priority(ticket=ticket, actor=agent, priority=Priority.URGENT)
    event = AuditEvent.objects.get(target_id=ticket.case_number, action="ticket.priority_changed")
    assert event.data == {"from": Priority.NORMAL, "to": Priority.URGENT}


def test_a_seed_phrase_in_a_ticket_is_never_stored_and_routes_to_security(alice):
    from mnemonic import Mnemonic

    phrase = Mnemonic("english").generate(128)
    submission = actions.check_create_ticket(
        customer=alice,
        category=Category.objects.get(slug="withdrawal-issue"),
        title="help",
        description=f"my wallet words are {phrase} please check",
    )
    ticket = submission.ticket
    assert submission.secret_warning
    assert ticket.security_flag and ticket.team.slug == "security" and ticket.priority >= Priority.HIGH
    for stored in [ticket.description, *ticket.messages.values_list("body", flat=True)]:
        assert phrase not in stored and phrase.split()[3] + " " + phrase.split()[4] not in stored


def test_a_bare_txid_in_the_tx_hash_field_is_kept_only_once_settled(alice):
    """A bare 64-hex (Bitcoin/TRON style) in the tx-hash field may be a pasted private key: it is
    kept when the entry point's facts say a chain knows it, hidden otherwise (test_field_guard)."""
    from kefu.trust.guard import HexFacts

    txid = "9f" * 32
    ticket = create(alice, tx_hash=txid)
    assert txid not in ticket.tx_hash and not ticket.security_flag  # hidden, not a security case
    ticket = create(alice, tx_hash=txid, hex_facts=HexFacts(tx_hashes=frozenset({txid})))
    assert ticket.tx_hash == txid and not ticket.security_flag


def test_a_bare_64_hex_in_free_text_without_context_is_hidden(alice):
    key = "3a" * 32
    ticket = create(alice, description=f"here you go {key}")
    assert key not in ticket.description and ticket.security_flag
