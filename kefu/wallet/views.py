"""The agent's on-chain check of a ticket: an HTML fragment for the sidebar, or JSON."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kefu.httptypes import AuthedRequest
from kefu.tickets.models import Ticket
from kefu.tickets.selectors import access_ticket
from kefu.wallet.diagnosis import diagnose_ticket


def _staff_ticket(request: AuthedRequest, case_number: str) -> Ticket:
    # Staff only, and only tickets the agent may see: 404 either way, never 403.
    if not request.user.is_agent:
        raise Http404
    return access_ticket(request.user, case_number)


@login_required
@require_GET
@never_cache
def diagnose(request: AuthedRequest, case_number: str) -> HttpResponse:
    """Diagnose the ticket's transaction; ``?refresh=1`` skips the cache, ``?format=json`` for JSON."""
    ticket = _staff_ticket(request, case_number)
    diagnosis = diagnose_ticket(ticket, language=get_language(), refresh=request.GET.get("refresh") == "1")
    if request.GET.get("format") == "json":
        return JsonResponse({"case_number": ticket.case_number, **diagnosis.as_dict()})
    return render(request, "wallet/_diagnosis.html", {"ticket": ticket, "diagnosis": diagnosis})


@login_required
@require_GET
def diagnose_page(request: AuthedRequest, case_number: str) -> HttpResponse:
    """The sidebar card on a page of its own (linked from the card; also what the browser test drives)."""
    ticket = _staff_ticket(request, case_number)
    return render(request, "wallet/diagnose_page.html", {"ticket": ticket})
