"""Pages: the customer portal and the agent workspace. Thin: forms in, actions, render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.accounts import ratelimit
from kefu.accounts.decorators import login_or_token_required
from kefu.accounts.models import Team, User
from kefu.audit.selectors import events_for
from kefu.clientip import client_ip
from kefu.httptypes import AuthedRequest
from kefu.inbox import pipeline
from kefu.inbox.models import InboxKind
from kefu.sla.selectors import sla_summary
from kefu.storage import download_response
from kefu.tickets import actions, bulk, composer, presence, savedviews, search, selectors
from kefu.tickets.forms import (
    AgentReplyForm,
    EscalateForm,
    MergeForm,
    ReplyForm,
    TicketForm,
    TicketUpdateForm,
)
from kefu.tickets.models import (
    AGENT_STATUS_CHOICES,
    VISIBLE_Q,
    Channel,
    MessageKind,
    Priority,
    Status,
    Tag,
    Ticket,
)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                for message in error.messages:
                    form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@dataclass(frozen=True)
class Row:
    """One line of a ticket list, formatted once in Python: lists stay cheap to render."""

    url: str
    case_number: str
    title: str
    security: bool
    priority: int
    category: str
    status: str
    status_label: str
    priority_label: str
    team: str
    assignee: str
    customer: str
    updated_iso: str
    updated_text: str
    # Agents' lists: how old the ticket is, and how long since the customer last wrote.
    age: str = ""
    created_iso: str = ""
    waiting: str = ""
    # Search results: the title and the best message with the matches marked (escaped HTML).
    title_html: str = ""
    snippet: str = ""
    # Service levels (kefu.sla): the next deadline, and whether a target was missed.
    due_iso: str = ""
    due_text: str = ""
    overdue: bool = False
    breached: bool = False
    tags: tuple[str, ...] = ()


def _age(seconds: float) -> str:
    """A short duration: "5 min", "3 h", "2 d"."""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return _("{n} min").format(n=minutes)
    if minutes < 48 * 60:
        return _("{n} h").format(n=minutes // 60)
    return _("{n} d").format(n=minutes // (24 * 60))


def _rows(items: list[Ticket], *, staff: bool, hits: list[search.Hit] | None = None) -> list[Row]:
    language = get_language() or "zh-hans"
    english = language.startswith("en")
    url_name = "tickets:workspace_ticket" if staff else "tickets:portal_ticket"
    base = reverse(url_name, args=["CASE"])
    statuses = dict(Status.choices)
    priorities = dict(Priority.choices)
    now = timezone.now()
    last_from_customer = selectors.customer_last_message_at(items) if staff else {}
    marks = selectors.sla_marks(items) if staff else {}
    tags = selectors.tag_names(items, language=language) if staff else {}
    marked = {hit.ticket.pk: hit for hit in hits or ()}
    rows = []
    for t in items:
        updated = timezone.localtime(t.updated_at)
        wrote = last_from_customer.get(t.pk)
        hit = marked.get(t.pk)
        mark = marks.get(t.pk)
        due = mark.next_due_at if mark else None
        rows.append(
            Row(
                url=base.replace("CASE", t.case_number),
                case_number=t.case_number,
                title=t.title,
                security=t.security_flag,
                priority=t.priority,
                category=t.category.name_en if english else t.category.name_zh,
                status=t.status,
                status_label=str(statuses[t.status]),
                priority_label=str(priorities.get(t.priority, "")),
                team=(t.team.name_en if english else t.team.name_zh) if t.team else "",
                assignee=t.assignee.email if t.assignee else "—",
                customer=t.customer.email if t.customer else "—",
                updated_iso=updated.isoformat(),
                updated_text=f"{updated:%Y-%m-%d %H:%M}",
                age=_age((now - t.created_at).total_seconds()) if staff else "",
                created_iso=timezone.localtime(t.created_at).isoformat(),
                waiting=_age((now - wrote).total_seconds()) if wrote and t.is_active else "",
                title_html=str(hit.title) if hit else "",
                snippet=str(hit.snippet) if hit else "",
                due_iso=timezone.localtime(due).isoformat() if due else "",
                due_text=_due_text(due, now) if due else "",
                overdue=bool(mark and mark.overdue),
                breached=bool(mark and mark.breached),
                tags=tuple(tags.get(t.pk, ())),
            )
        )
    return rows


def _due_text(due: datetime, now: datetime) -> str:
    """How far a deadline is: "in 3 h", "5 min overdue"."""
    seconds = (due - now).total_seconds()
    if seconds < 0:
        return _("{age} overdue").format(age=_age(-seconds))
    return _("in {age}").format(age=_age(seconds))


def staff_required(view):
    @login_required
    def wrapped(request: AuthedRequest, *args, **kwargs):
        if not request.user.is_agent:
            raise Http404
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- customer portal ---------------------------------------------------------------------


@login_required
def portal(request: AuthedRequest) -> HttpResponse:
    """The customer's own tickets, newest activity first."""
    page = selectors.page_of(
        Ticket.objects.filter(VISIBLE_Q, customer=request.user),  # not a conversation still with the bot
        cursor=request.GET.get("cursor"),
        size=settings.KEFU_PAGE_SIZE,
    )
    return render(request, "tickets/portal_list.html", {"page": page, "rows": _rows(page.items, staff=False)})


@login_required
@require_http_methods(["GET", "POST"])
def portal_new(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        form = TicketForm(request.POST, request.FILES)
        if form.is_valid() and not selectors.may_file_in(request.user, form.cleaned_data["category"]):
            form.add_error("category", _("You can only file tickets in your teams' categories."))
        if form.is_valid():
            data = form.cleaned_data
            try:
                ratelimit.check_creation("ticket", user=request.user, ip=client_ip(request))
                facts = actions.hex_facts_for(
                    customer=request.user,
                    network=data["network"],
                    tx_hash=data["tx_hash"],
                    texts=(data["title"], data["description"], data["order_number"]),
                )
                # The inbound pipeline (kefu.inbox), run inline: the case number is shown at once.
                submission = pipeline.submit(
                    InboxKind.PORTAL,
                    request,
                    {**data, "language": get_language() or "zh-hans"},
                    category=data["category"],
                    files=data["attachments"],
                    amount=data["amount"],
                    ip_address=client_ip(request),
                    hex_facts=facts,
                    client_id=request.POST.get("client_id", ""),
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            except ratelimit.RateLimited as exc:
                form.add_error(None, exc.message)
            else:
                if submission.secret_warning:
                    messages.warning(request, submission.secret_warning)
                messages.success(
                    request,
                    _("Your ticket has been submitted. Your case number is {case}.").format(
                        case=submission.ticket.case_number
                    ),
                )
                return redirect("tickets:portal_ticket", case_number=submission.ticket.case_number)
    else:
        initial = {}
        if slug := request.GET.get("category"):
            from kefu.tickets.models import Category

            initial["category"] = Category.objects.filter(slug=slug).first()
        form = TicketForm(initial=initial)
    return render(request, "tickets/portal_new.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def portal_ticket(request: AuthedRequest, case_number: str) -> HttpResponse:
    ticket = selectors.access_ticket(request.user, case_number)
    if request.user.is_agent:
        return redirect("tickets:workspace_ticket", case_number=ticket.case_number)
    form = ReplyForm()
    if request.method == "POST":
        if "reopen" in request.POST:
            try:
                actions.do_reopen(ticket=ticket, actor=request.user, ip_address=client_ip(request))
                messages.success(request, _("Your ticket has been reopened."))
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            return redirect("tickets:portal_ticket", case_number=ticket.case_number)
        if "rate" in request.POST and apps.is_installed("kefu.csat"):
            from kefu.csat.actions import check_rate_ticket

            try:
                check_rate_ticket(
                    ticket=ticket,
                    customer=request.user,
                    rating=request.POST.get("rating"),
                    comment=request.POST.get("comment", ""),
                )
                messages.success(request, _("Thank you for your feedback!"))
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            return redirect("tickets:portal_ticket", case_number=ticket.case_number)
        form = ReplyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                ratelimit.check_creation("reply", user=request.user, ip=client_ip(request))
                submission = pipeline.submit(
                    InboxKind.PORTAL,
                    request,
                    {"body": form.cleaned_data["body"], "language": ticket.language},
                    ticket=ticket,
                    files=form.cleaned_data["attachments"],
                    ip_address=client_ip(request),
                    client_id=request.POST.get("client_id", ""),
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            except ratelimit.RateLimited as exc:
                form.add_error(None, exc.message)
            else:
                if submission.secret_warning:
                    messages.warning(request, submission.secret_warning)
                return redirect("tickets:portal_ticket", case_number=ticket.case_number)
    return render(
        request,
        "tickets/portal_ticket.html",
        {
            "ticket": ticket,
            "thread": selectors.thread_for(ticket, user=request.user),
            "form": form,
            "can_reopen": ticket.status in (Status.RESOLVED, Status.CLOSED) and not ticket.merged_into_id,
            "rating": _rating(ticket),
            "stars": range(1, 6),
        },
    )


def _rating(ticket: Ticket) -> object | None:
    """A solved ticket's rating form (the survey the resolution mail links to; one indexed query)."""
    if ticket.status != Status.RESOLVED or not apps.is_installed("kefu.csat"):
        return None
    from kefu.csat.selectors import ticket_rating

    return ticket_rating(ticket)


@login_or_token_required
def attachment(request: AuthedRequest, public_id: str) -> HttpResponseBase:
    """Serve evidence only to people who may see the ticket; never inline-render active content."""
    item = selectors.access_attachment(request.user, public_id)
    return download_response(
        item.file.storage,
        item.file.name,
        content_type=item.content_type,
        filename=item.original_name,
        as_attachment=item.content_type == "application/pdf",
    )


# --- agent workspace -------------------------------------------------------------------------


@staff_required
def workspace(request: AuthedRequest) -> HttpResponse:
    """Queues: mine, unassigned, escalated, each team's, all (supervisors); or search results (?q=)."""
    user: User = request.user
    counts = selectors.cached_queue_counts(user)
    # No view asked for: the one that needs doing first, not an empty "mine".
    queue = request.GET.get("queue") or selectors.first_queue(user, counts)
    if queue not in selectors.QUEUES:
        queue = "mine"
    team_slug = request.GET.get("team")
    status = request.GET.get("status") or "active"
    tag = (request.GET.get("tag") or "")[:50]
    teams = list(Team.objects.all() if user.is_supervisor else user.teams.all())
    context: dict[str, object] = {
        "queue": queue,
        "team_slug": team_slug,
        "status": status,
        "teams": [(team, counts.teams.get(team.pk, 0)) for team in teams],
        "counts": counts,
        "overdue_count": selectors.cached_overdue_count(user),
        "overdue_cap": selectors.OVERDUE_COUNT_CAP,
        "statuses": AGENT_STATUS_CHOICES,
        "tag": tag,
        "tags": selectors.all_tags(),
        "staff": selectors.assignable_staff(None),
        # Where the bulk form comes back to: this very list.
        "here": request.get_full_path(),
        "saved_views": savedviews.views_for(user),
        "current_query": savedviews.clean_query(request.GET.urlencode()),
    }
    query = (request.GET.get("q") or "").strip()
    if query:
        filters = search.Filters.from_params(request.GET)
        found = search.search_tickets(
            user, query, filters=filters, cursor=request.GET.get("cursor"), size=settings.KEFU_PAGE_SIZE
        )
        items = [hit.ticket for hit in found.hits]
        params = request.GET.copy()
        params.pop("cursor", None)
        context.update(
            q=query,
            filters=filters,
            match=found.match,
            page=selectors.Page(items=items, next_cursor=found.next_cursor),
            rows=_rows(items, staff=True, hits=found.hits),
            search_params=params.urlencode(),
            categories=selectors.active_categories(),
            channels=Channel.choices,
            priorities=Priority.choices,
        )
        return render(request, "tickets/workspace_list.html", context)
    if request.GET.get("report") == "1" and user.is_supervisor:
        # A report's drill-down: the tickets behind a figure, with the report's filters.
        filters = search.Filters.from_params(request.GET)
        page = selectors.page_of(
            filters.apply(selectors.tickets_visible_to(user), user),
            cursor=request.GET.get("cursor"),
            size=settings.KEFU_PAGE_SIZE,
        )
        params = request.GET.copy()
        params.pop("cursor", None)
        context.update(
            report=True,
            filters=filters,
            page=page,
            rows=_rows(page.items, staff=True),
            search_params=params.urlencode(),
        )
        return render(request, "tickets/workspace_list.html", context)
    # By deadline (?sort=due, and the overdue view) or by latest activity.
    sort = "due" if request.GET.get("sort") == "due" or queue == "overdue" else ""
    context["sort"] = sort
    if sort:
        page = selectors.due_page(
            user,
            queue="all" if queue == "overdue" else queue,
            team_slug=team_slug,
            status="active" if queue == "overdue" else status,
            tag=tag,
            cursor=request.GET.get("cursor"),
            size=settings.KEFU_PAGE_SIZE,
            overdue=queue == "overdue",
        )
    else:
        lanes = selectors.queue_lanes(user, queue=queue, team_slug=team_slug, status=status, tag=tag)
        page = selectors.page_of(lanes, cursor=request.GET.get("cursor"), size=settings.KEFU_PAGE_SIZE)
    context.update(page=page, rows=_rows(page.items, staff=True))
    return render(request, "tickets/workspace_list.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def workspace_ticket(request: AuthedRequest, case_number: str) -> HttpResponse:
    ticket = selectors.access_ticket(request.user, case_number)
    reply_form = AgentReplyForm()
    if request.method == "POST" and request.POST.get("action") == "reply":
        reply_form = AgentReplyForm(request.POST, request.FILES)
        if reply_form.is_valid():
            data = reply_form.cleaned_data
            try:
                actions.check_add_message(
                    ticket=ticket,
                    author=request.user,
                    body=data["body"],
                    kind=MessageKind.INTERNAL if data["internal"] else MessageKind.PUBLIC,
                    channel=Channel.AGENT,
                    files=data["attachments"],
                    new_status=data["status"] or None,
                    ip_address=client_ip(request),
                )
            except ValidationError as exc:
                _add_errors(reply_form, exc)
            else:
                return redirect("tickets:workspace_ticket", case_number=ticket.case_number)
    language = get_language() or "zh-hans"
    context = {
        "ticket": ticket,
        "story": selectors.case_story(ticket, user=request.user),
        "reply_form": reply_form,
        "update_form": TicketUpdateForm(
            initial={"status": ticket.status, "priority": ticket.priority, "category": ticket.category_id}
        ),
        "escalate_form": EscalateForm(),
        "merge_form": MergeForm(),
        # Merge targets are picked from a search of the customer's tickets, not typed.
        "merge_q": request.GET.get("merge_q", "").strip()[:200],
        "merge_candidates": []
        if ticket.merged_into_id
        else search.merge_candidates(request.user, ticket, request.GET.get("merge_q", ""), size=8),
        "canned": selectors.canned_replies_filled(
            request.user,
            language=ticket.language,
            name=(ticket.customer.display_name or ticket.customer.email) if ticket.customer else "",
            case_number=ticket.case_number,
            agent_language=get_language(),
        ),
        "members": selectors.assignable_staff(ticket.team_id),
        # A visitor's case (no customer yet) has no "other tickets": every other visitor's case
        # also has no customer, and they are strangers.
        "other_tickets": list(
            selectors.tickets_visible_to(request.user)
            .filter(customer=ticket.customer)
            .exclude(pk=ticket.pk)
            .select_related("category")
            .order_by("-updated_at")[:10]
        )
        if ticket.customer_id is not None
        else [],
        "audit": list(events_for(target_type="ticket", target_id=ticket.case_number)[:30]),
        "language": language,
        "sla": sla_summary(ticket),  # the due line in the header (kefu.sla)
        "ticket_tags": selectors.tags_of(ticket),
        "tags": selectors.all_tags(),
        # Who else has this ticket open, as of now (the page's heartbeat keeps it current).
        "viewers": presence.touch(ticket.pk, request.user),
        "presence_seconds": presence.HEARTBEAT_SECONDS,
        # What a channel says in the composer (WhatsApp: which mode its window allows).
        "composer_panels": composer.panels(ticket, request.user),
    }
    return render(request, "tickets/workspace_ticket.html", context)


@staff_required
@require_POST
def workspace_action(request: AuthedRequest, case_number: str, action: str) -> HttpResponse:
    """update / assign / escalate / merge: one POST each, then back to the ticket."""
    ticket = selectors.access_ticket(request.user, case_number)
    ip = client_ip(request)
    try:
        if action == "update":
            form = TicketUpdateForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors.as_data())
            data = form.cleaned_data
            actions.do_change_category(
                ticket=ticket, actor=request.user, category=data["category"], ip_address=ip
            )
            actions.do_set_priority(
                ticket=ticket, actor=request.user, priority=data["priority"], ip_address=ip
            )
            actions.do_change_status(ticket=ticket, actor=request.user, status=data["status"], ip_address=ip)
            messages.success(request, _("Ticket updated."))
        elif action == "assign":
            assignee_id = request.POST.get("assignee") or ""
            assignee = None
            if assignee_id == "me":
                assignee = request.user
            elif assignee_id:
                assignee = User.objects.filter(public_id=assignee_id).first()
                if assignee is None:
                    raise ValidationError(_("Unknown agent."))
            actions.do_assign(ticket=ticket, actor=request.user, assignee=assignee, ip_address=ip)
            messages.success(request, _("Assignment saved."))
        elif action == "escalate":
            escalate_form = EscalateForm(request.POST)
            if not escalate_form.is_valid():
                raise ValidationError(escalate_form.errors.as_data())
            actions.do_escalate(
                ticket=ticket, actor=request.user, reason=escalate_form.cleaned_data["reason"], ip_address=ip
            )
            messages.success(request, _("Ticket escalated to tier {tier}.").format(tier=ticket.tier))
        elif action == "merge":
            merge_form = MergeForm(request.POST)
            if not merge_form.is_valid():
                raise ValidationError(merge_form.errors.as_data())
            try:
                target = selectors.access_ticket(request.user, merge_form.cleaned_data["target"])
            except Http404 as exc:
                raise ValidationError(_("No ticket with that case number.")) from exc
            actions.do_merge(source=ticket, target=target, actor=request.user, ip_address=ip)
            messages.success(request, _("Merged into {case}.").format(case=target.case_number))
            return redirect("tickets:workspace_ticket", case_number=target.case_number)
        elif action in ("tag", "untag"):
            tag = Tag.objects.filter(slug=request.POST.get("tag") or "").first()
            if tag is None:
                raise ValidationError(_("Choose a tag."))
            change = bulk.do_tag if action == "tag" else bulk.do_untag
            change(ticket=ticket, actor=request.user, tag=tag, ip_address=ip)
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(_flatten(exc)))
    except PermissionDenied:
        messages.error(request, _("You are not allowed to do that."))
    return redirect("tickets:workspace_ticket", case_number=ticket.case_number)


def _flatten(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [str(m) for errors in exc.error_dict.values() for e in errors for m in e.messages]
    return [str(m) for m in exc.messages]


@staff_required
@require_POST
def workspace_bulk(request: AuthedRequest) -> HttpResponse:
    """The list's selected rows: assign, set a status or add a tag, each through its action."""
    operation = request.POST.get("op", "")
    assignee: User | None = None
    if operation in ("assign_me", "assign"):
        who = request.POST.get("assignee", "") if operation == "assign" else "me"
        operation = "assign"
        if who == "me":
            assignee = request.user
        elif who:
            assignee = User.objects.filter(public_id=who).first() if _is_uuid(who) else None
            if assignee is None:
                messages.error(request, _("Unknown agent."))
                return _back(request)
    tag = Tag.objects.filter(slug=request.POST.get("tag") or "").first() if operation == "tag" else None
    try:
        result = bulk.do_bulk_change(
            actor=request.user,
            case_numbers=request.POST.getlist("case"),
            operation=operation,
            assignee=assignee,
            status=request.POST.get("status", ""),
            tag=tag,
            ip_address=client_ip(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(_flatten(exc)))
        return _back(request)
    if result.changed:
        messages.success(request, _("{n} tickets changed.").format(n=len(result.changed)))
    if result.skipped:
        messages.warning(
            request,
            _("{n} tickets skipped (not yours to change, or the change does not apply): {cases}").format(
                n=len(result.skipped), cases=", ".join(result.skipped[:10])
            ),
        )
    if not result.changed and not result.skipped:
        messages.error(request, _("Select at least one ticket."))
    return _back(request)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _back(request: AuthedRequest) -> HttpResponse:
    """Back to the list the form was posted from (a path on this site only)."""
    target = request.POST.get("next") or ""
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        target = reverse("tickets:workspace")
    return redirect(target)


@staff_required
@require_POST
def workspace_presence(request: AuthedRequest, case_number: str) -> JsonResponse:
    """The ticket page's heartbeat: marks the agent there (typing or not), answers who else is."""
    ticket = selectors.access_ticket(request.user, case_number)
    if request.POST.get("leave"):
        presence.leave(ticket.pk, request.user)
        return JsonResponse({"viewers": []})
    viewers = presence.touch(ticket.pk, request.user, typing=request.POST.get("typing") == "1")
    return JsonResponse({"viewers": [{"name": v.name, "typing": v.typing} for v in viewers]})


@staff_required
@require_POST
def workspace_save_view(request: AuthedRequest) -> HttpResponse:
    """Save the list being looked at as a named view (personal, or shared with all agents)."""
    try:
        view = savedviews.do_save_view(
            owner=request.user,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
            shared=bool(request.POST.get("shared")),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(_flatten(exc)))
        return redirect(
            reverse("tickets:workspace") + "?" + savedviews.clean_query(request.POST.get("query", ""))
        )
    messages.success(request, _("View “{name}” saved.").format(name=view.name))
    return redirect(reverse("tickets:workspace") + "?" + view.query)


@staff_required
@require_POST
def workspace_delete_view(request: AuthedRequest, public_id: str) -> HttpResponse:
    try:
        savedviews.do_delete_view(actor=request.user, public_id=public_id)
    except PermissionDenied as exc:
        raise Http404 from exc
    return redirect("tickets:workspace")
