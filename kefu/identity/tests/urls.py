"""The project's URLs plus identity's, for tests that run before identity is mounted in kefu/urls.py."""

from __future__ import annotations

from django.urls import include, path
from ninja import NinjaAPI

from kefu import urls as project_urls
from kefu.api import AUTH, api
from kefu.identity.api import router


def _api_patterns() -> list:
    if any(mounted is router for _prefix, mounted in api._routers):
        return []
    test_api = NinjaAPI(urls_namespace="identity-test-api", auth=AUTH, docs_url=None, openapi_url=None)
    test_api.add_router("", router)
    return [path("api/v1/", test_api.urls)]


def _page_patterns() -> list:
    if any(getattr(p, "namespace", None) == "identity" for p in project_urls.urlpatterns):
        return []
    return [path("identity/", include("kefu.identity.urls"))]


urlpatterns = [*_api_patterns(), *_page_patterns(), *project_urls.urlpatterns]
