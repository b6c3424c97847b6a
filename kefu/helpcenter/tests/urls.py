"""The project's URLs plus the help centre's, for tests that run before it is mounted in kefu/urls.py."""

from __future__ import annotations

from django.urls import include, path
from ninja import NinjaAPI

from kefu import urls as project_urls
from kefu.api import api
from kefu.helpcenter.api import router


def _api_patterns() -> list:
    if any(mounted is router for _prefix, mounted in api._routers):
        return []
    test_api = NinjaAPI(urls_namespace="helpcenter-test-api", docs_url=None, openapi_url="/openapi.json")
    test_api.add_router("", router)
    return [path("api/v1/", test_api.urls)]


def _page_patterns() -> list:
    if any(getattr(p, "namespace", None) == "helpcenter" for p in project_urls.urlpatterns):
        return []
    return [path("help/", include("kefu.helpcenter.urls"))]


urlpatterns = [*_api_patterns(), *_page_patterns(), *project_urls.urlpatterns]
