"""Tags, and changes to many tickets at once from the workspace lists.

A bulk change is the single-ticket actions run once per ticket: the same permission checks,
the same events (SLA clocks, notifications) and one audit record per ticket. Tickets the agent
may not see are skipped exactly like tickets that do not exist (a list must not reveal what a
404 hides), and a ticket that refuses the change (another team's agent as assignee, a
transition that is not allowed) is skipped without undoing the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.audit.actions import do_record
from kefu.tickets import actions
from kefu.tickets.models import Tag, Ticket
from kefu.tickets.selectors import tickets_visible_to

# One form posts at most a page or two of rows; more is not a click in a list.
BULK_LIMIT = 100
OPERATIONS = ("assign", "status", "tag")


@dataclass
class BulkResult:
    changed: list[str] = field(default_factory=list)  # case numbers
    skipped: list[str] = field(default_factory=list)


def do_tag(*, ticket: Ticket, actor: User, tag: Tag, ip_address: str | None = None) -> bool:
    """Put ``tag`` on the ticket; False when it was there already."""
    if not actor.is_agent:
        raise PermissionDenied
    with transaction.atomic():
        through = Tag.tickets.through
        if through.objects.filter(tag=tag, ticket=ticket).exists():
            return False
        through.objects.create(tag=tag, ticket=ticket)
        do_record(
            actor=actor,
            action="ticket.tagged",
            target_type="ticket",
            target_id=ticket.case_number,
            data={"tag": tag.slug},
            ip_address=ip_address,
        )
    return True


def do_untag(*, ticket: Ticket, actor: User, tag: Tag, ip_address: str | None = None) -> bool:
    """Take ``tag`` off the ticket; False when it was not there."""
    if not actor.is_agent:
        raise PermissionDenied
    with transaction.atomic():
        removed, _detail = Tag.tickets.through.objects.filter(tag=tag, ticket=ticket).delete()
        if not removed:
            return False
        do_record(
            actor=actor,
            action="ticket.untagged",
            target_type="ticket",
            target_id=ticket.case_number,
            data={"tag": tag.slug},
            ip_address=ip_address,
        )
    return True


def do_bulk_change(
    *,
    actor: User,
    case_numbers: list[str],
    operation: str,
    assignee: User | None = None,
    status: str = "",
    tag: Tag | None = None,
    ip_address: str | None = None,
) -> BulkResult:
    """Assign (``assignee`` None: unassign), set a status or add a tag on each listed ticket."""
    if not actor.is_agent:
        raise PermissionDenied
    if operation not in OPERATIONS:
        raise ValidationError(_("Unknown bulk action."))
    if operation == "status" and not status:
        raise ValidationError(_("Choose a status."))
    if operation == "tag" and tag is None:
        raise ValidationError(_("Choose a tag."))
    wanted = list(dict.fromkeys(c.strip().upper() for c in case_numbers if c.strip()))[:BULK_LIMIT]
    visible = {
        t.case_number: t
        for t in tickets_visible_to(actor)
        .select_related("category", "team", "assignee", "customer")
        .filter(case_number__in=wanted)
    }
    result = BulkResult()
    for case_number in wanted:
        ticket = visible.get(case_number)
        if ticket is None:
            result.skipped.append(case_number)
            continue
        try:
            if operation == "assign":
                actions.do_assign(ticket=ticket, actor=actor, assignee=assignee, ip_address=ip_address)
            elif operation == "status":
                actions.do_change_status(ticket=ticket, actor=actor, status=status, ip_address=ip_address)
            elif tag is not None:
                do_tag(ticket=ticket, actor=actor, tag=tag, ip_address=ip_address)
        except (ValidationError, PermissionDenied):
            result.skipped.append(case_number)
        else:
            result.changed.append(case_number)
    return result
