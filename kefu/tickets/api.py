"""Ticket endpoints of the REST API. Thin: parse, call actions/selectors, shape the response."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja import Status as Reply

from kefu import inputs
from kefu.accounts import ratelimit
from kefu.clientip import client_ip
from kefu.httptypes import AuthedRequest
from kefu.inbox import pipeline
from kefu.inbox.models import InboxKind
from kefu.sla.selectors import sla_summary
from kefu.tickets import actions, search, selectors
from kefu.tickets.models import Channel, Message, MessageKind, Priority, Sender, Status, Ticket

router = Router(tags=["tickets"])


class CategoryOut(Schema):
    slug: str
    name: str
    parent: str | None


class TicketIn(Schema):
    category: str = Field(..., description="Category slug, see GET /categories")
    title: str
    description: str
    priority: int | None = Field(
        None,
        ge=min(Priority.values),
        le=max(Priority.values),
        description="Agents only (ignored for customers): 1 low, 2 normal, 3 high, 4 urgent",
    )
    coin: str = ""
    network: str = ""
    amount: str | None = Field(None, description='Decimal amount as a string, e.g. "12.5"')
    tx_hash: str = ""
    order_number: str = ""


class AttachmentOut(Schema):
    id: str
    name: str
    content_type: str
    size: int
    url: str


class MessageOut(Schema):
    id: str
    seq: int = Field(..., description="The message's number in its case: 1, 2, 3 ... without gaps")
    kind: str
    sender: str = Field(..., description="customer, agent, bot or system")
    channel: str = Field(..., description="What it came through: portal, email, chat, bot, api, phone, agent")
    author: str
    from_customer: bool
    body: str
    created_at: datetime
    attachments: list[AttachmentOut]


class TicketOut(Schema):
    case_number: str
    title: str
    status: str
    status_label: str
    channel: str = Field(
        ...,
        description="What the case came through: portal, email, chat, bot, api, telegram, whatsapp, phone",
    )
    priority: int
    category: str
    category_name: str
    team: str | None
    assignee: str | None
    tier: int
    coin: str
    network: str
    amount: str | None
    tx_hash: str
    order_number: str
    security_flag: bool
    created_at: datetime
    updated_at: datetime


class SlaOut(Schema):
    policy: str | None
    first_reply_due_at: datetime | None
    first_reply_at: datetime | None
    resolution_due_at: datetime | None
    breached: list[str] = Field(..., description="Timer kinds that missed their target")


class TicketDetailOut(TicketOut):
    description: str
    messages: list[MessageOut]
    merged_into: str | None
    secret_warning: str | None = None
    sla: SlaOut | None = None


class SearchHighlightOut(Schema):
    title: str = Field(..., description="The title as escaped HTML, matches in <mark>")
    snippet: str = Field(..., description="The best-matching message as escaped HTML, matches in <mark>")


class TicketListItemOut(TicketOut):
    match: str | None = Field(
        None, description="With q: case_number, email, phone, tx_hash, order_number or text"
    )
    highlight: SearchHighlightOut | None = None


class TicketPageOut(Schema):
    items: list[TicketListItemOut]
    next_cursor: str | None


class MessageIn(Schema):
    body: str
    internal: bool = False


class MessageCreatedOut(MessageOut):
    ticket_status: str
    secret_warning: str | None = None


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {key: [str(m) for e in value for m in e.messages] for key, value in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def _ticket_out(ticket: Ticket) -> dict:
    language = get_language() or "zh-hans"
    return {
        "case_number": ticket.case_number,
        "title": ticket.title,
        "status": ticket.status,
        "status_label": str(Status(ticket.status).label),
        "channel": ticket.channel,
        "priority": ticket.priority,
        "category": ticket.category.slug,
        "category_name": ticket.category.localized_name(language),
        "team": ticket.team.slug if ticket.team else None,
        "assignee": ticket.assignee.email if ticket.assignee else None,
        "tier": ticket.tier,
        "coin": ticket.coin,
        "network": ticket.network,
        "amount": ticket.amount_text or None,
        "tx_hash": ticket.tx_hash,
        "order_number": ticket.order_number,
        "security_flag": ticket.security_flag,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def _message_out(message: Message, ticket: Ticket, *, attachments: list | None = None) -> dict:
    from_customer = message.sender == Sender.CUSTOMER
    if from_customer:
        author = message.author.display_name or message.author.email if message.author else ""
    elif message.sender == Sender.BOT:
        author = _("Assistant")
    else:
        author = (message.author.display_name or _("Support")) if message.author else _("System")
    return {
        "id": str(message.public_id),
        "seq": message.seq,
        "kind": message.kind,
        "sender": message.sender,
        "channel": message.channel,
        "author": author,
        "from_customer": from_customer,
        "body": message.body,
        "created_at": message.created_at,
        "attachments": [
            {
                "id": str(a.public_id),
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "url": reverse("tickets:attachment", args=[a.public_id]),
            }
            for a in (message.attachments.all() if attachments is None else attachments)
        ],
    }


@router.get("/categories", response=list[CategoryOut], auth=None, summary="The category tree, localized")
def list_categories(request: HttpRequest):
    language = get_language()
    return [
        {"slug": c.slug, "name": c.localized_name(language), "parent": c.parent.slug if c.parent else None}
        for c in selectors.active_categories()
    ]


@router.post(
    "/tickets",
    response={201: TicketDetailOut, 400: ErrorOut, 403: ErrorOut, 429: ErrorOut},
    summary="Submit a ticket",
)
def create_ticket(request: AuthedRequest, payload: TicketIn):
    user = request.user
    category = selectors.active_category(payload.category)  # cached, with its team
    errors: dict[str, list[str]] = {}
    if category is None:
        errors["category"] = [_("Unknown category “{slug}”.").format(slug=payload.category[:60])]
    amount = None
    try:
        amount = inputs.decimal_for(payload.amount, Ticket._meta.get_field("amount"))
    except ValidationError as exc:
        errors.update(_errors(exc))
    if errors or category is None:  # an unknown category is among the errors
        return Reply(400, {"detail": _("Invalid input."), "errors": errors})
    if not selectors.may_file_in(user, category):
        # Before anything is written: a refused request must leave nothing behind.
        return Reply(403, {"detail": _("You can only file tickets in your teams' categories.")})
    try:
        ratelimit.check_creation("ticket", user=user, ip=client_ip(request))
    except ratelimit.RateLimited as exc:
        return _too_many(exc)
    # Wallet records and a chain lookup settle a bare 64-hex: before the transaction below.
    facts = actions.hex_facts_for(
        customer=user,
        network=payload.network,
        tx_hash=payload.tx_hash,
        texts=(payload.title, payload.description, payload.order_number, payload.coin),
    )
    try:
        # One transaction for the create and the answer: if shaping the answer fails, the
        # ticket is not kept (a client that sees an error must be able to retry safely).
        with transaction.atomic():
            # The inbound pipeline (kefu.inbox), run inline: the answer carries the case.
            # An Idempotency-Key header makes a retried request return the first case.
            submission = pipeline.submit(
                InboxKind.API,
                request,
                {
                    "title": payload.title,
                    "description": payload.description,
                    "coin": payload.coin,
                    "network": payload.network,
                    "tx_hash": payload.tx_hash,
                    "order_number": payload.order_number,
                    "language": get_language() or "zh-hans",
                },
                category=category,
                priority=payload.priority if user.is_agent else None,
                amount=amount,
                ip_address=client_ip(request),
                hex_facts=facts,
                client_id=request.headers.get("Idempotency-Key", ""),
            )
            out = _created_detail(submission, user)
    except ValidationError as exc:
        return Reply(400, {"detail": _("Invalid input."), "errors": _errors(exc)})
    return Reply(201, out)


def _too_many(exc: ratelimit.RateLimited) -> HttpResponse:
    """429 with the translated reason and when to retry (the JSON shape of every other error)."""
    response = JsonResponse({"detail": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _created_detail(submission: actions.Submission, user) -> dict:
    """The answer to a create, from the rows it has just written: the ticket (with the cached
    category and team it was routed with), its one message, the SLA timers it started. Reading
    them back cost four of a create's round trips. A redelivery (the first case of a retried
    client id) and a case the secret guard flagged (re-routed, a system note added) are read
    back as stored."""
    ticket, message = submission.ticket, submission.message
    if not submission.created or message is None or ticket.security_flag:
        return _detail(selectors.created_ticket(ticket), user, secret_warning=submission.secret_warning)
    out = _ticket_out(ticket)
    out.update(
        description=ticket.description,
        # Nothing else is in a new case's thread; an API create carries no files.
        messages=[_message_out(message, ticket, attachments=[])],
        merged_into=None,
        secret_warning=submission.secret_warning,
        sla=sla_summary(ticket, new=True).as_json(),
    )
    return out


def _detail(ticket: Ticket, user, *, secret_warning: str | None = None) -> dict:
    out = _ticket_out(ticket)
    out.update(
        description=ticket.description,
        messages=[_message_out(m, ticket) for m in selectors.thread_for(ticket, user=user)],
        merged_into=ticket.merged_into.case_number if ticket.merged_into else None,
        secret_warning=secret_warning,
        # The ticket's SLA timers (kefu.sla): one query.
        sla=sla_summary(ticket).as_json(),
    )
    return out


@router.get("/tickets", response=TicketPageOut, summary="Tickets you may see, newest activity first")
def list_tickets(
    request: AuthedRequest,
    status: str | None = None,
    queue: str | None = None,
    cursor: str | None = None,
    limit: int = 25,
    q: str | None = Query(
        None, description="Search: a case number, email, phone, hash, order number or words"
    ),
    team: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    priority: int | None = None,
    assignee: str | None = Query(None, description='With q: "me", "none" or a user id'),
    created_from: str | None = Query(None, description="With q: YYYY-MM-DD"),
    created_to: str | None = Query(None, description="With q: YYYY-MM-DD"),
):
    user = request.user
    limit = max(1, min(limit, 100))
    if q and q.strip():
        # Search: the same permissions (tickets_visible_to) and an opaque cursor, best match first.
        found = search.search_tickets(
            user, q, filters=search.Filters.from_params(request.GET), cursor=cursor, size=limit
        )
        return {
            "items": [
                {
                    **_ticket_out(hit.ticket),
                    "match": hit.match,
                    "highlight": {"title": str(hit.title), "snippet": str(hit.snippet)},
                }
                for hit in found.hits
            ],
            "next_cursor": found.next_cursor,
        }
    if user.is_agent:
        lanes = selectors.queue_lanes(user, queue=queue or "all", status=status or "any")
    else:
        lanes = [selectors.tickets_visible_to(user).filter(**({"status": status} if status else {}))]
    page = selectors.page_of(lanes, cursor=cursor, size=limit)
    return {"items": [_ticket_out(t) for t in page.items], "next_cursor": page.next_cursor}


@router.get("/tickets/{case_number}", response=TicketDetailOut, summary="One ticket with its thread")
def get_ticket(request: AuthedRequest, case_number: str):
    ticket = selectors.access_ticket(request.user, case_number)
    return _detail(ticket, request.user)


@router.post(
    "/tickets/{case_number}/messages",
    response={201: MessageCreatedOut, 400: ErrorOut, 403: ErrorOut, 429: ErrorOut},
    summary="Reply (customers) or reply / add an internal note (agents)",
)
def post_message(request: AuthedRequest, case_number: str, payload: MessageIn):
    user = request.user
    ticket = selectors.access_ticket(user, case_number)
    try:
        ratelimit.check_creation("reply", user=user, ip=client_ip(request))
    except ratelimit.RateLimited as exc:
        return _too_many(exc)
    kind = MessageKind.INTERNAL if payload.internal else MessageKind.PUBLIC
    try:
        if user.pk == ticket.customer_id and kind == MessageKind.PUBLIC:
            # The customer's message comes in through the inbound pipeline (kefu.inbox).
            submission = pipeline.submit(
                InboxKind.API,
                request,
                {"body": payload.body, "language": ticket.language},
                ticket=ticket,
                ip_address=client_ip(request),
                client_id=request.headers.get("Idempotency-Key", ""),
            )
        else:  # staff write from the workspace's side: replies and notes go out, not in
            submission = actions.check_add_message(
                ticket=ticket,
                author=user,
                body=payload.body,
                kind=kind,
                channel=Channel.API,
                ip_address=client_ip(request),
            )
    except ValidationError as exc:
        return Reply(400, {"detail": _("Invalid input."), "errors": _errors(exc)})
    except PermissionDenied:
        return Reply(403, {"detail": _("Only support staff can add internal notes.")})
    assert submission.message is not None  # a reply always writes its message
    out = _message_out(submission.message, submission.ticket)
    out.update(ticket_status=submission.ticket.status, secret_warning=submission.secret_warning)
    return Reply(201, out)
