"""The project's URLs plus ``wallet/`` when the project does not include it yet."""

from django.urls import URLResolver, include, path

from kefu.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(isinstance(p, URLResolver) and p.namespace == "wallet" for p in urlpatterns):
    urlpatterns.append(path("wallet/", include("kefu.wallet.urls")))
