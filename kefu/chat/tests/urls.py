"""The project's URLs plus live chat's, unless the project includes them already."""

from django.urls import include, path

from kefu.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(getattr(p, "namespace", None) == "chat" for p in project_urlpatterns):
    urlpatterns.append(path("chat/", include("kefu.chat.urls")))
