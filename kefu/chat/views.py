"""Pages of live chat: the agent console, the supervisor view, CSAT, service hours, the embed script.

Thin: the live parts run over the WebSocket consumers; these render the shell and handle the
few plain form posts (CSAT, reassign without JavaScript).
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.accounts.models import Team, User
from kefu.chat import actions, selectors
from kefu.chat.hours import weekly_table
from kefu.chat.models import ServiceCalendar, ServiceChannel
from kefu.csat import selectors as csat_selectors
from kefu.httptypes import AuthedRequest


def _staff(request: HttpRequest) -> None:
    if not request.user.is_authenticated or not request.user.is_agent:
        raise Http404


@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    """The agent's live chat console; everything on it updates over ``/ws/chat/agent/``."""
    _staff(request)
    return render(request, "chat/workspace.html", {"ws_path": "/ws/chat/agent/"})


@login_required
def supervisor(request: AuthedRequest) -> HttpResponse:
    """Live queues, waiting times, agents' load, reassignment, and satisfaction results."""
    _staff(request)
    if not request.user.is_supervisor:
        raise Http404
    language = get_language() or "zh-hans"
    try:
        days = max(1, min(int(request.GET.get("days", 30)), 365))
    except ValueError:
        days = 30
    return render(
        request,
        "chat/supervisor.html",
        {
            "ws_path": "/ws/chat/agent/",
            "dashboard": selectors.dashboard(language=language),
            "csat": csat_selectors.csat_summary(days=days),
            "agents": User.objects.filter(
                role__in=["agent", "specialist", "supervisor", "admin"], is_active=True
            ).order_by("email")[:200],
        },
    )


@login_required
@require_POST
def supervisor_reassign(request: AuthedRequest) -> HttpResponse:
    """Reassign a chat (the form behind the live view's buttons, for use without JavaScript)."""
    _staff(request)
    if not request.user.is_supervisor:
        raise Http404
    conversation = selectors.access_staff_conversation(request.user, request.POST.get("conversation", ""))
    agent_id = selectors._uuid_or_none(request.POST.get("agent"))
    agent = User.objects.filter(public_id=agent_id).first() if agent_id else None
    team = Team.objects.filter(slug=request.POST.get("team", "")).first()
    if conversation is None or (agent is None and team is None):
        raise Http404
    try:
        actions.do_transfer(conversation=conversation, actor=request.user, to_agent=agent, to_team=team)
        messages.success(request, _("The chat was reassigned."))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [_("Not allowed.")])))
    return redirect("chat:supervisor")


def service_hours(request: HttpRequest) -> HttpResponse:
    """When online chat (per team) and the phone hotline (its voice inbox's calendar) are open,
    with upcoming holidays. The phone line's hours are the ones the hotline answers by."""
    from kefu.chat.hours import Calendar, status_at
    from kefu.inbox.models import Inbox, InboxKind

    language = get_language() or "zh-hans"
    now = timezone.now()

    def row(channel: str, team: str, calendar: Calendar) -> dict:
        return {
            "channel": channel,
            "team": team,
            "always_open": calendar.always_open,
            "status": status_at(calendar, now),
            "weekly": weekly_table(calendar),
            "holidays": calendar.specials(now.date(), now.date() + timedelta(days=60)),
        }

    rows = []
    for chat in ServiceCalendar.objects.filter(channel=ServiceChannel.CHAT).select_related("team").order_by(
        "team__slug"
    ):
        calendar = selectors.calendar_for(chat.team_id, chat.channel)
        if calendar is not None:
            rows.append(row("chat", chat.team.localized_name(language) if chat.team else "", calendar))
    for inbox in Inbox.objects.filter(kind=InboxKind.VOICE, is_active=True).order_by("id"):
        rows.append(row("phone", "", selectors.inbox_calendar(inbox.calendar_id, inbox.name)))
    return render(request, "chat/hours.html", {"rows": rows, "language": language})


def embed_script(request: HttpRequest) -> HttpResponse:
    """``<script src="https://support.example/chat/embed.js" async></script>`` puts the chat on any page.

    The script adds the same panel as Kefu's own pages, with absolute URLs back to this server.
    The page's origin must be in ``KEFU_ALLOWED_HOSTS`` for the WebSocket origin check.
    """
    base = request.build_absolute_uri("/").rstrip("/")
    panel = render_to_string("bot_panel.html", {"kefu_base": base, "embedded": True}, request=request)
    from django.templatetags.static import static

    script = static("kefu/bot-panel.js")
    if not script.startswith("http"):
        script = base + script
    body = (
        "(function(){'use strict';"
        "if(document.getElementById('kefu-bot'))return;"
        f"var holder=document.createElement('div');holder.innerHTML={json.dumps(panel)};"
        "document.body.appendChild(holder.firstElementChild);"
        f"var s=document.createElement('script');s.src={json.dumps(script)};s.defer=true;"
        "document.head.appendChild(s);})();"
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Vary"] = "Accept-Language, Cookie"
    return response
