from django.urls import path

from kefu.chat import views

app_name = "chat"
urlpatterns = [
    path("embed.js", views.embed_script, name="embed"),
    path("hours/", views.service_hours, name="hours"),
    path("workspace/", views.workspace, name="workspace"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/reassign/", views.supervisor_reassign, name="reassign"),
]
