"""URLs for the trust tests: the project's pages plus the trust page and API router.

The project mounts ``kefu.trust.urls`` and ``kefu.trust.api.router`` itself; the tests mount
their own copies so that they do not depend on that wiring.
"""

from django.urls import include, path
from ninja import NinjaAPI

from kefu.trust.api import build_router
from kefu.urls import urlpatterns as project_urlpatterns

test_api = NinjaAPI(urls_namespace="trust-test-api", docs_url=None, openapi_url=None)
test_api.add_router("", build_router())

urlpatterns = [
    path("trust-test/", include("kefu.trust.urls")),
    path("trust-test-api/", test_api.urls),
    *project_urlpatterns,
]
