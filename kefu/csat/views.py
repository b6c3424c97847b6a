"""The survey page a mail or a closed chat links to."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from kefu.csat import actions, selectors


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """Rate a chat or a ticket (1–5, optional comment). The unguessable token is the key: no sign-in."""
    found = selectors.access_survey(token)
    if found is None:
        raise Http404
    error = ""
    if request.method == "POST":
        try:
            actions.check_answer_survey(
                survey=found, rating=request.POST.get("rating"), comment=request.POST.get("comment", "")
            )
            return render(request, "csat/survey.html", {"survey": found, "thanks": True})
        except ValidationError as exc:
            error = " ".join(exc.messages)
    return render(
        request,
        "csat/survey.html",
        {
            "survey": found,
            "error": error,
            "expired": found.expires_at <= timezone.now(),
            "ratings": range(1, 6),
        },
    )
