from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

from kefu.helpcenter import views as helpcenter_views


def home(request: HttpRequest) -> HttpResponse:
    """Staff land in the workspace, everyone else in the help centre."""
    user = request.user
    if user.is_authenticated and getattr(user, "is_agent", False):
        return redirect("tickets:workspace")
    return helpcenter_views.home(request)


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and crawlers ask for /favicon.ico whatever the page links; send them to the icon."""
    return redirect(static("kefu/favicon.svg"), permanent=True)
