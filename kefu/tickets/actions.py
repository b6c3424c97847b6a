"""State changes of tickets. Views, the API, the bot and mail all call these.

Every inbound text passes the secret guard before it is stored; every change is audited in
the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu import events, inputs, rowlookup
from kefu.accounts.models import Team, User
from kefu.audit.actions import do_record
from kefu.events import (
    MessageAdded,
    TicketAssigned,
    TicketCreated,
    TicketMerged,
    TicketReclassified,
    TicketStatusChanged,
)
from kefu.tickets import routing, thread
from kefu.tickets.attachments import CheckedFile
from kefu.tickets.models import (
    ACTIVE_STATUSES,
    Attachment,
    Category,
    Channel,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
    attachment_storage,
)
from kefu.trust import guard

SECURITY_TEAM_SLUG = routing.SECURITY_TEAM_SLUG
MAX_TIER = 3

# Which status an agent may move a ticket to from each status. Customers only reopen.
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.PENDING_CUSTOMER, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED},
    Status.PENDING_CUSTOMER: {Status.OPEN, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED},
    Status.ON_HOLD: {Status.OPEN, Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: {Status.OPEN},
}


@dataclass
class Guarded:
    """Texts after the secret guard, and what it found."""

    texts: dict[str, str]
    secret_found: bool = False
    warning: str | None = None
    kinds: list[str] = field(default_factory=list)
    leaked_key: bool = False  # a hidden value is the private key of the customer's own address
    # A secret was hidden that must be treated as exposed (security team, flag). False when all
    # that was hidden is a bare 64-hex nothing could settle in the tx-hash field: most are TRON or
    # Bitcoin txids, and sending every such deposit question to the security team would bury the
    # real leaks; the customer is told how to send the hash in a form that is kept.
    exposed: bool = False


def guard_texts(texts: dict[str, str], *, language: str, facts: guard.HexFacts | None = None) -> Guarded:
    """Redact secrets from every field; the result is what may be stored, logged or shown.

    ``facts`` settle 64-hex strings (``kefu.wallet.settle.hex_facts``, gathered before any
    transaction); without them a bare 64-hex in the tx-hash field is hidden as unsettled.
    """
    out = Guarded(texts={})
    exposed: str | None = None  # a secret was hidden: treat it as exposed
    notice: str | None = None  # only an unsettled 64-hex: how to send a hash that is kept
    for key, value in texts.items():
        value = inputs.strip_nul(value or "")  # mail and the bot reach here without a form
        # The field says what it holds; the facts settle a bare 64-hex in it (guard.scan_field).
        result = guard.scan_field(
            value or "", field="tx_hash" if key == "tx_hash" else "text", language=language, facts=facts
        )
        out.texts[key] = result.redacted
        if result.secret:
            out.secret_found = True
            out.leaked_key = out.leaked_key or result.leaked_key
            out.kinds.extend(f.kind for f in result.findings)
            said = guard.warning_for(result, language=language)
            if result.unsettled_hex and not result.leaked_key:
                notice = notice or said
            else:
                out.exposed = True
                exposed = exposed or said
    out.warning = exposed or notice
    return out


def hex_facts_for(
    *, customer: User | None, network: str = "", tx_hash: str = "", texts: Iterable[str] = ()
) -> guard.HexFacts:
    """Settle the 64-hex strings of a submission (``kefu.wallet.settle.hex_facts``).

    Slow (wallet records, a chain node): entry points call it before opening a transaction.
    """
    from kefu.wallet.settle import hex_facts

    return hex_facts(tx_hash=tx_hash, texts=texts, customer=customer, network=network)


@dataclass
class Submission:
    """What a customer-facing entry point needs after a create or a reply."""

    ticket: Ticket
    message: Message | None
    secret_warning: str | None = None
    # Made by this call (not a redelivery's first case): ``ticket`` and ``message`` are the rows
    # as written, with what a create's answer shows (category, team, author) in hand.
    created: bool = False


def new_case_number() -> str:
    """``KF-YYYYMMDD-NNNNNNNN``: quotable, sortable by day, not guessable from a row id."""
    today = timezone.localdate()
    return f"KF-{today:%Y%m%d}-{secrets.randbelow(10**8):08d}"


def create_case(**fields: object) -> Ticket:
    """Insert a case under a fresh case number, drawing again on a collision. Call inside a
    transaction."""
    for _attempt in range(5):
        # ON CONFLICT (case_number) DO NOTHING: a number taken writes nothing and needs no
        # savepoint (two round trips a case); the INSERT's SQL is built once (kefu.rowlookup).
        created = rowlookup.insert(Ticket(case_number=new_case_number(), **fields), unless_taken="case_number")
        if created:
            return created[0]
    raise RuntimeError("could not allocate a case number")  # pragma: no cover - 5 in 10^8 a day


def _security_team() -> Team | None:
    return routing.security_team()


def _store_attachments(
    *,
    ticket: Ticket,
    message: Message | None,
    files: list[CheckedFile],
    user: User | None,
    language: str,
    written: list[str],
) -> list[Attachment]:
    """Write files and their rows; paths go to ``written`` so a failed transaction can remove them."""
    stored = []
    for checked in files:
        attachment = Attachment(
            ticket=ticket,
            message=message,
            uploaded_by=user,
            original_name=guard.redact(checked.name, language=language)[:200],
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
        )
        attachment.file.save(attachment.public_id.hex, ContentFile(checked.content), save=False)
        written.append(attachment.file.name)
        attachment.save()
        stored.append(attachment)
    return stored


def do_attach_files(
    *, ticket: Ticket, message: Message, files: list[CheckedFile], user: User | None
) -> list[Attachment]:
    """Checked files for a message written by another step (the bot's record of a customer's turn
    on a messaging channel, ``kefu.inbox.pipeline``); the same storage as a reply's files."""
    if not files:
        return []
    with files_removed_on_failure() as written, transaction.atomic():
        return _store_attachments(
            ticket=ticket, message=message, files=files, user=user, language=ticket.language, written=written
        )


_written_files: ContextVar[list[str] | None] = ContextVar("kefu_written_files", default=None)


@contextmanager
def files_removed_on_failure() -> Iterator[list[str]]:
    """Django has no on-rollback hook: remove attachment files written inside a block that raised.

    Blocks nest: inside an outer one (e.g. mail processing wrapping a ticket action in its own
    transaction) paths go to the outermost list, so files are removed whenever the rows are.
    """
    outer = _written_files.get()
    if outer is not None:
        yield outer
        return
    written: list[str] = []
    token = _written_files.set(written)
    try:
        yield written
    except BaseException:
        for path in written:
            attachment_storage().delete(path)
        raise
    finally:
        _written_files.reset(token)


def check_create_ticket(
    *,
    customer: User | None,
    category: Category,
    title: str,
    description: str,
    channel: str = Channel.PORTAL,
    language: str = "zh-hans",
    priority: int | None = None,
    coin: str = "",
    network: str = "",
    amount: Decimal | None = None,
    tx_hash: str = "",
    order_number: str = "",
    files: list[CheckedFile] | None = None,
    actor: User | None = None,
    ip_address: str | None = None,
    force_security: bool = False,
    already_guarded: bool = False,
    hex_facts: guard.HexFacts | None = None,
    screened: Guarded | None = None,
    external_id: str = "",
    client_id: str = "",
) -> Submission:
    """Validate, guard and create a ticket with its first message.

    ``screened``: the guard's result for these fields, when the inbound pipeline
    (kefu.inbox.pipeline) screened them before storing its event; they are not scanned twice.
    ``external_id``/``client_id``: the channel's and the client's ids of the first message.

    ``hex_facts``: what settles a 64-hex in the fields (:func:`hex_facts_for`, called by the
    entry point before its transaction); without them an unsettled bare one is hidden.

    ``force_security`` routes it to the security team even when this text holds no secret
    (the bot saw one earlier, or the topic is a stolen account or a scam).
    ``already_guarded``: every piece of the text passed the guard where it came in (a bot
    transcript); scanning the composition again would read our own warnings as key context.
    """
    errors: dict[str, list[str]] = {}
    if not (title or "").strip():
        errors.setdefault("title", []).append(_("Please give your ticket a title."))
    if not (description or "").strip():
        errors.setdefault("description", []).append(_("Please describe the problem."))
    if len(title or "") > 200:
        errors.setdefault("title", []).append(_("The title can be at most 200 characters."))
    if len(description or "") > 20000:
        errors.setdefault("description", []).append(_("The description can be at most 20,000 characters."))
    if not category.is_active:
        errors.setdefault("category", []).append(_("This category is not available."))
    if priority is not None and priority not in Priority.values:
        errors.setdefault("priority", []).append(_("Choose a priority from 1 (low) to 4 (urgent)."))
    try:
        # Whatever the entry point: a number the column cannot hold must never reach the insert.
        amount = inputs.decimal_for(amount, Ticket._meta.get_field("amount"))
    except ValidationError as exc:
        errors.setdefault("amount", []).extend(exc.message_dict["amount"])
    if errors:
        raise ValidationError(errors)
    return do_create_ticket(
        customer=customer,
        category=category,
        title=title.strip(),
        description=description.strip(),
        channel=channel,
        language=language,
        priority=priority,
        coin=coin,
        network=network,
        amount=amount,
        tx_hash=tx_hash,
        order_number=order_number,
        files=files or [],
        actor=actor or customer,
        ip_address=ip_address,
        force_security=force_security,
        already_guarded=already_guarded,
        hex_facts=hex_facts,
        screened=screened,
        external_id=external_id,
        client_id=client_id,
    )


def do_create_ticket(
    *,
    customer: User | None,
    category: Category,
    title: str,
    description: str,
    channel: str,
    language: str,
    priority: int | None,
    coin: str,
    network: str,
    amount: Decimal | None,
    tx_hash: str,
    order_number: str,
    files: list[CheckedFile],
    actor: User | None,
    ip_address: str | None,
    force_security: bool = False,
    already_guarded: bool = False,
    hex_facts: guard.HexFacts | None = None,
    screened: Guarded | None = None,
    external_id: str = "",
    client_id: str = "",
) -> Submission:
    fields = {
        "title": title,
        "description": description,
        "coin": coin,
        "network": network,
        "tx_hash": tx_hash,
        "order_number": order_number,
    }
    if screened is not None:
        guarded = screened
    elif already_guarded:
        guarded = Guarded(texts={key: inputs.strip_nul(value or "") for key, value in fields.items()})
    else:
        guarded = guard_texts(fields, language=language, facts=hex_facts)
    t = guarded.texts
    # The one routing function (kefu.tickets.routing) every channel uses.
    routed = routing.route(
        category=category,
        security=guarded.exposed or force_security,
        leaked_key=guarded.leaked_key,
        priority=priority,
    )
    team, security, priority = routed.team, routed.security, routed.priority
    # No savepoint inside a caller's transaction (the inbound pipeline's, a request's): a
    # failure here fails the caller's whole unit of work, which nobody continues after.
    with files_removed_on_failure() as written, transaction.atomic(savepoint=False):
        ticket = create_case(
            customer=customer,
            category=category,
            team=team,
            title=t["title"][:200],
            description=t["description"],
            status=Status.NEW,
            priority=priority or Priority.NORMAL,
            channel=channel,
            language=language,
            coin=t["coin"][:20].upper(),
            network=t["network"][:40],
            amount=amount,
            tx_hash=t["tx_hash"][:130],
            order_number=t["order_number"][:64],
            security_flag=security,
            last_seq=1,  # the first message's number, taken with the insert (one UPDATE less)
        )
        message = thread.append(
            ticket,
            author=actor,
            kind=MessageKind.PUBLIC,
            body=t["description"],
            channel=channel,
            external_id=external_id,
            client_id=client_id,
            first=True,
        )
        _store_attachments(
            ticket=ticket, message=message, files=files, user=actor, language=language, written=written
        )
        do_record(
            actor=actor,
            action="ticket.created",
            target_type="ticket",
            target_id=ticket.case_number,
            data={"category": category.slug, "channel": channel, "team": team.slug if team else None},
            ip_address=ip_address,
        )
        if guarded.exposed:
            do_flag_secret(
                ticket=ticket,
                actor=actor,
                kinds=guarded.kinds,
                ip_address=ip_address,
                leaked_key=guarded.leaked_key,
            )
        events.publish(TicketCreated(ticket=ticket, message=message, secret_warning=guarded.warning or ""))
    return Submission(ticket=ticket, message=message, secret_warning=guarded.warning, created=True)


def do_flag_secret(
    *,
    ticket: Ticket,
    actor: User | None,
    kinds: list[str],
    ip_address: str | None = None,
    leaked_key: bool = False,
) -> Ticket:
    """A secret was hidden from this ticket: flag it, route it to security, tell the agents.

    Callers redact first (the guard runs before anything is stored); this records the fact.
    ``leaked_key``: the hidden value is certainly the private key of the customer's own
    deposit address (it derives it): urgent, and the note says so.
    """
    fields = []
    if not ticket.security_flag:
        ticket.security_flag = True
        fields.append("security_flag")
    team = _security_team()
    if team is not None and ticket.team_id != team.pk:
        ticket.team = team
        ticket.assignee = None
        fields += ["team", "assignee"]
    wanted = Priority.URGENT if leaked_key else Priority.HIGH
    if ticket.priority < wanted:
        ticket.priority = wanted
        fields.append("priority")
    if fields:
        ticket.save(update_fields=[*fields, "updated_at"])
    with override(ticket.language):
        note = _(
            "The secret guard hid a possible seed phrase or private key in this ticket. "
            "Advise the customer to move their funds to a new wallet; never ask for the secret."
        )
        if leaked_key:
            note = _(
                "The secret guard hid the private key of this customer's own deposit address: "
                "their wallet is compromised. Tell them to move their funds to a new wallet now; "
                "never ask for the key."
            )
    do_add_system_note(ticket=ticket, body=note)
    data: dict[str, object] = {"kinds": sorted(set(kinds))}
    if leaked_key:
        data["own_key"] = True
    do_record(
        actor=actor,
        action="ticket.secret_redacted",
        target_type="ticket",
        target_id=ticket.case_number,
        data=data,
        ip_address=ip_address,
    )
    return ticket


def do_add_system_note(*, ticket: Ticket, body: str, channel: str = Channel.AGENT) -> Message:
    """An event agents should see in the thread (customers never do)."""
    return thread.append(ticket, kind=MessageKind.SYSTEM, body=body, channel=channel)


def check_add_message(
    *,
    ticket: Ticket,
    author: User | None,
    body: str,
    kind: str = MessageKind.PUBLIC,
    channel: str = Channel.PORTAL,
    files: list[CheckedFile] | None = None,
    new_status: str | None = None,
    ip_address: str | None = None,
    screened: Guarded | None = None,
    external_id: str = "",
    client_id: str = "",
) -> Submission:
    """Validate and add a reply or internal note. Customers may only post public replies.

    ``screened``, ``external_id``, ``client_id``: as for :func:`check_create_ticket`.
    ``author`` None: the case's contact not linked to a customer (a messaging channel's
    stranger, ``kefu.inbox.pipeline``): a customer's public reply without an account.
    """
    if not (body or "").strip() and not files:
        raise ValidationError({"body": [_("Please write a message.")]})
    if len(body or "") > 20000:
        raise ValidationError({"body": [_("The message can be at most 20,000 characters.")]})
    if (author is None or not author.is_agent) and (kind != MessageKind.PUBLIC or new_status):
        raise PermissionDenied
    if ticket.merged_into_id is not None:
        raise ValidationError(
            {
                "body": [
                    _("This ticket was merged into {case}; please reply there.").format(
                        case=ticket.merged_into.case_number if ticket.merged_into else ""
                    )
                ]
            }
        )
    return do_add_message(
        ticket=ticket,
        author=author,
        body=(body or "").strip(),
        kind=kind,
        channel=channel,
        files=files or [],
        new_status=new_status,
        ip_address=ip_address,
        screened=screened,
        external_id=external_id,
        client_id=client_id,
    )


def do_add_message(
    *,
    ticket: Ticket,
    author: User | None,
    body: str,
    kind: str,
    channel: str,
    files: list[CheckedFile],
    new_status: str | None,
    ip_address: str | None,
    screened: Guarded | None = None,
    external_id: str = "",
    client_id: str = "",
) -> Submission:
    guarded = screened if screened is not None else guard_texts({"body": body}, language=ticket.language)
    with files_removed_on_failure() as written, transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        message = thread.append(
            ticket,
            author=author,
            kind=kind,
            body=guarded.texts["body"],
            channel=channel,
            external_id=external_id,
            client_id=client_id,
        )
        _store_attachments(
            ticket=ticket,
            message=message,
            files=files,
            user=author,
            language=ticket.language,
            written=written,
        )
        fields = ["updated_at"]
        previous_status = ticket.status
        # No author: the case's unlinked contact (check_add_message), a customer.
        from_customer = author is None or author.pk == ticket.customer_id
        if from_customer and ticket.status != Status.OPEN and ticket.status != Status.NEW:
            # A customer's reply puts the ticket back in front of agents, even once resolved.
            _set_status(ticket, Status.OPEN, actor=author, ip_address=ip_address, reason="customer_reply")
            fields += ["status", "resolved_at"]
        elif author is not None and author.is_agent and kind == MessageKind.PUBLIC:
            if ticket.first_response_at is None:
                ticket.first_response_at = timezone.now()
                fields.append("first_response_at")
            target = new_status or (Status.PENDING_CUSTOMER if ticket.is_active else None)
            if target and target != ticket.status:
                _check_transition(ticket.status, target)
                _set_status(ticket, target, actor=author, ip_address=ip_address, reason="agent_reply")
                fields += ["status", "resolved_at"]
        elif author is not None and author.is_agent and new_status and new_status != ticket.status:
            _check_transition(ticket.status, new_status)
            _set_status(ticket, new_status, actor=author, ip_address=ip_address, reason="agent_note")
            fields += ["status", "resolved_at"]
        ticket.save(update_fields=sorted(set(fields)))
        do_record(
            actor=author,
            action="ticket.note_added" if kind == MessageKind.INTERNAL else "ticket.replied",
            target_type="ticket",
            target_id=ticket.case_number,
            data={"message": str(message.public_id), "attachments": len(files)},
            ip_address=ip_address,
        )
        if guarded.exposed:
            do_flag_secret(ticket=ticket, actor=author, kinds=guarded.kinds, ip_address=ip_address)
        if ticket.status != previous_status:
            _publish_status_changed(
                ticket,
                previous_status,
                actor=author,
                reason=_status_reason(from_customer, kind),
                message=message,
            )
        events.publish(
            MessageAdded(
                ticket=ticket,
                message=message,
                kind=kind,
                author_role="customer"
                if from_customer
                else ("agent" if author is not None and author.is_agent else "system"),
                requested_status=new_status,
            )
        )
    return Submission(ticket=ticket, message=message, secret_warning=guarded.warning)


def _check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, set()):
        raise ValidationError(
            {
                "status": [
                    _("A ticket cannot go from “{current}” to “{target}”.").format(
                        current=Status(current).label, target=Status(target).label
                    )
                ]
            }
        )


def _status_reason(from_customer: bool, kind: str) -> str:
    if from_customer:
        return "customer_reply"
    return "agent_reply" if kind == MessageKind.PUBLIC else "agent_note"


def _publish_status_changed(
    ticket: Ticket, previous: str, *, actor: User | None, reason: str, message: Message | None = None
) -> None:
    events.publish(
        TicketStatusChanged(
            ticket=ticket,
            previous=previous,
            status=ticket.status,
            actor=actor,
            reason=reason,
            message=message,
        )
    )


def _set_status(
    ticket: Ticket, status: str, *, actor: User | None, ip_address: str | None, reason: str
) -> None:
    previous = ticket.status
    ticket.status = status
    ticket.resolved_at = (
        timezone.now()
        if status == Status.RESOLVED
        else (ticket.resolved_at if status == Status.CLOSED else None)
    )
    do_record(
        actor=actor,
        action="ticket.status_changed",
        target_type="ticket",
        target_id=ticket.case_number,
        data={"from": previous, "to": status, "reason": reason},
        ip_address=ip_address,
    )


def do_change_status(*, ticket: Ticket, actor: User, status: str, ip_address: str | None = None) -> Ticket:
    if not actor.is_agent:
        raise PermissionDenied
    if status == ticket.status:
        return ticket
    _check_transition(ticket.status, status)
    with transaction.atomic():
        previous = ticket.status
        _set_status(ticket, status, actor=actor, ip_address=ip_address, reason="manual")
        ticket.save(update_fields=["status", "resolved_at", "updated_at"])
        _publish_status_changed(ticket, previous, actor=actor, reason="manual")
    return ticket


def do_reopen(*, ticket: Ticket, actor: User, ip_address: str | None = None) -> Ticket:
    """The customer (or an agent) reopens a resolved or closed ticket."""
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise ValidationError({"status": [_("Only a resolved or closed ticket can be reopened.")]})
    if ticket.merged_into_id is not None:
        raise ValidationError({"status": [_("A merged ticket cannot be reopened.")]})
    with transaction.atomic():
        previous = ticket.status
        _set_status(ticket, Status.OPEN, actor=actor, ip_address=ip_address, reason="reopened")
        ticket.save(update_fields=["status", "resolved_at", "updated_at"])
        _publish_status_changed(ticket, previous, actor=actor, reason="reopened")
    return ticket


def do_set_priority(*, ticket: Ticket, actor: User, priority: int, ip_address: str | None = None) -> Ticket:
    if not actor.is_agent:
        raise PermissionDenied
    if priority not in Priority.values:
        raise ValidationError({"priority": [_("Unknown priority.")]})
    if priority == ticket.priority:
        return ticket
    with transaction.atomic():
        do_record(
            actor=actor,
            action="ticket.priority_changed",
            target_type="ticket",
            target_id=ticket.case_number,
            data={"from": ticket.priority, "to": priority},
            ip_address=ip_address,
        )
        ticket.priority = priority
        ticket.save(update_fields=["priority", "updated_at"])
        events.publish(TicketReclassified(ticket=ticket, changed=("priority",), actor=actor))
    return ticket


def do_raise_priority(*, ticket: Ticket, reason: str) -> bool:
    """Raise the priority one step without an agent (an SLA breach's automatic escalation);
    False when it is already urgent. Recorded in the audit log with ``reason``."""
    if ticket.priority >= Priority.URGENT:
        return False
    with transaction.atomic():
        previous = ticket.priority
        ticket.priority = previous + 1
        ticket.save(update_fields=["priority", "updated_at"])
        do_record(
            actor=None,
            action="ticket.priority_changed",
            target_type="ticket",
            target_id=ticket.case_number,
            data={"from": previous, "to": ticket.priority, "reason": reason},
        )
        events.publish(TicketReclassified(ticket=ticket, changed=("priority",), actor=None))
    return True


def do_change_category(
    *, ticket: Ticket, actor: User, category: Category, ip_address: str | None = None
) -> Ticket:
    """Recategorise and re-route to the new category's team (a security-flagged ticket stays)."""
    if not actor.is_agent:
        raise PermissionDenied
    if category.pk == ticket.category_id:
        return ticket
    with transaction.atomic():
        previous = ticket.category.slug
        ticket.category = category
        fields = ["category", "updated_at"]
        team = routing.route(category=category).team
        if not ticket.security_flag and team is not None and team.pk != ticket.team_id:
            ticket.team = team
            ticket.assignee = None
            fields += ["team", "assignee"]
        ticket.save(update_fields=fields)
        do_record(
            actor=actor,
            action="ticket.category_changed",
            target_type="ticket",
            target_id=ticket.case_number,
            data={"from": previous, "to": category.slug, "team": ticket.team.slug if ticket.team else None},
            ip_address=ip_address,
        )
        events.publish(TicketReclassified(ticket=ticket, changed=("category",), actor=actor))
    return ticket


def do_assign(*, ticket: Ticket, actor: User, assignee: User | None, ip_address: str | None = None) -> Ticket:
    """Assign to a staff member of the ticket's team (supervisors may assign anyone on staff)."""
    if not actor.is_agent:
        raise PermissionDenied
    if assignee is not None:
        if not assignee.is_agent:
            raise ValidationError({"assignee": [_("Tickets can only be assigned to support staff.")]})
        in_team = ticket.team_id is None or assignee.teams.filter(pk=ticket.team_id).exists()
        if not in_team and not assignee.is_supervisor:
            raise ValidationError(
                {"assignee": [_("{name} is not a member of this ticket's team.").format(name=assignee)]}
            )
        if assignee.pk != actor.pk and not (
            actor.is_supervisor
            or (ticket.team_id is not None and actor.teams.filter(pk=ticket.team_id).exists())
        ):
            raise PermissionDenied
    with transaction.atomic():
        do_record(
            actor=actor,
            action="ticket.assigned",
            target_type="ticket",
            target_id=ticket.case_number,
            data={
                "from": ticket.assignee.email if ticket.assignee else None,
                "to": assignee.email if assignee else None,
            },
            ip_address=ip_address,
        )
        previous_assignee_id, previous_status = ticket.assignee_id, ticket.status
        ticket.assignee = assignee
        fields = ["assignee", "updated_at"]
        if assignee is not None and ticket.status == Status.NEW:
            ticket.status = Status.OPEN
            fields.append("status")
        ticket.save(update_fields=fields)
        if ticket.status != previous_status:
            _publish_status_changed(ticket, previous_status, actor=actor, reason="assigned")
        events.publish(
            TicketAssigned(
                ticket=ticket, previous_assignee_id=previous_assignee_id, assignee=assignee, actor=actor
            )
        )
    return ticket


def do_escalate(*, ticket: Ticket, actor: User, reason: str, ip_address: str | None = None) -> Ticket:
    """升级: move the ticket to the next support tier with a reason agents can read."""
    if not actor.is_agent:
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Please give a reason for the escalation.")]})
    if ticket.tier >= MAX_TIER:
        raise ValidationError({"reason": [_("This ticket is already at the highest tier.")]})
    reason = guard.redact(reason, language=ticket.language)
    with transaction.atomic():
        previous, previous_status, previous_assignee_id = ticket.tier, ticket.status, ticket.assignee_id
        ticket.tier = previous + 1
        ticket.assignee = None  # the next tier picks it up from the escalated queue
        if ticket.status in (Status.NEW, Status.PENDING_CUSTOMER, Status.ON_HOLD):
            ticket.status = Status.OPEN
        ticket.save(update_fields=["tier", "assignee", "status", "updated_at"])
        if ticket.status != previous_status:
            _publish_status_changed(ticket, previous_status, actor=actor, reason="escalated")
        if previous_assignee_id is not None:
            events.publish(
                TicketAssigned(
                    ticket=ticket, previous_assignee_id=previous_assignee_id, assignee=None, actor=actor
                )
            )
        with override(ticket.language):
            body = _("Escalated from tier {old} to tier {new}: {reason}").format(
                old=previous, new=ticket.tier, reason=reason
            )
        thread.append(ticket, author=actor, kind=MessageKind.INTERNAL, body=body, channel=Channel.AGENT)
        do_record(
            actor=actor,
            action="ticket.escalated",
            target_type="ticket",
            target_id=ticket.case_number,
            data={"from_tier": previous, "to_tier": ticket.tier, "reason": reason},
            ip_address=ip_address,
        )
    return ticket


def do_merge(*, source: Ticket, target: Ticket, actor: User, ip_address: str | None = None) -> Ticket:
    """Merge a duplicate into ``target``: its thread and files move over, it closes and points there."""
    if not actor.is_agent:
        raise PermissionDenied
    if source.pk == target.pk:
        raise ValidationError({"target": [_("A ticket cannot be merged into itself.")]})
    # Two cases of nobody-known-yet (signed-out visitors) are two strangers, not one customer.
    if source.customer_id is None or source.customer_id != target.customer_id:
        raise ValidationError({"target": [_("Only tickets of the same customer can be merged.")]})
    if target.merged_into_id is not None:
        raise ValidationError(
            {"target": [_("The target ticket was itself merged; pick the surviving ticket.")]}
        )
    with transaction.atomic():
        thread.renumber_into(target, list(Message.objects.filter(ticket=source).order_by("seq", "id")))
        Attachment.objects.filter(ticket=source).update(ticket=target)
        Ticket.objects.filter(merged_into=source).update(merged_into=target)
        with override(target.language):
            note = _("Ticket {source} was merged into this ticket.").format(source=source.case_number)
        thread.append(target, author=actor, kind=MessageKind.SYSTEM, body=note, channel=Channel.AGENT)
        source_status, target_status = source.status, target.status
        if source.status in ACTIVE_STATUSES and target.status not in ACTIVE_STATUSES:
            target.status = Status.OPEN
        source.merged_into = target
        source.status = Status.CLOSED
        source.save(update_fields=["merged_into", "status", "updated_at"])
        target.security_flag = target.security_flag or source.security_flag
        target.save(update_fields=["security_flag", "status", "updated_at"])
        for changed, previous in ((source, source_status), (target, target_status)):
            if changed.status != previous:
                _publish_status_changed(changed, previous, actor=actor, reason="merged")
        events.publish(TicketMerged(source=source, target=target, actor=actor))
        for case, role in ((source.case_number, "source"), (target.case_number, "target")):
            do_record(
                actor=actor,
                action="ticket.merged",
                target_type="ticket",
                target_id=case,
                data={"source": source.case_number, "target": target.case_number, "role": role},
                ip_address=ip_address,
            )
    return target
