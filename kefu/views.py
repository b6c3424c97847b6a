from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    """Staff land in the workspace, customers in the help centre / portal."""
    user = request.user
    if user.is_authenticated and getattr(user, "is_agent", False):
        return redirect("tickets:workspace")
    return render(request, "home.html")
