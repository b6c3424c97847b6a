from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from kefu.helpcenter import views as helpcenter_views


def home(request: HttpRequest) -> HttpResponse:
    """Staff land in the workspace, everyone else in the help centre."""
    user = request.user
    if user.is_authenticated and getattr(user, "is_agent", False):
        return redirect("tickets:workspace")
    return helpcenter_views.home(request)
